#include "app/serve_config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "engine/yaml_util.hpp"

namespace gridcase::app {

namespace {

enum class Type { Text, Integer, Boolean, Number, Section, List };

// The bounds of what the readers convert to: `int`, or `size_t` (where negatives always
// failed, and 0 is still checked by them).
constexpr int64_t kIntMin = std::numeric_limits<int>::min();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();
constexpr int64_t kSizeMax = std::numeric_limits<int64_t>::max();

// One key of the config: its type, and for a section (or each item of a list) its keys.
// (A pointer and a count, not a span: Field is not complete yet here.)
struct Field {
  std::string_view name;
  Type type = Type::Text;
  const Field* fields = nullptr;
  size_t field_count = 0;
  int64_t min = kIntMin;  // integers: what serve reads them as
  int64_t max = kIntMax;
  std::span<const std::string_view> choices = {};  // text, when only some values mean something
  bool required = false;                           // must be given (in a list item)
  // A text that may not be left empty (serve reads an empty one as "" or "null", not as
  // unset); the others are then unset.
  bool non_empty = false;
};

template <size_t N>
constexpr Field group(std::string_view name, const Field (&fields)[N], Type type = Type::Section) {
  return {.name = name, .type = type, .fields = fields, .field_count = N};
}
constexpr Field integer(std::string_view name, int64_t min = kIntMin, int64_t max = kIntMax) {
  return {.name = name, .type = Type::Integer, .min = min, .max = max};
}

// What spdlog::level::from_str knows (anything else would turn the log off).
constexpr std::string_view kLevels[] = {"trace", "debug", "info",     "warn", "warning",
                                        "error", "err",   "critical", "off"};
constexpr std::string_view kFormats[] = {"text", "json"};

constexpr Field kKafka[] = {
    {.name = "brokers"},
    {.name = "input_topic"},
    {.name = "case_events_topic"},
    {.name = "dead_letter_topic"},
    {.name = "workflows_topic"},
    integer("partitions", 1),
    {.name = "exactly_once", .type = Type::Boolean},
    {.name = "group_id", .non_empty = true},
    integer("delivery_timeout_ms", 1),
    integer("offset_commit_interval_ms"),
    {.name = "instance_id", .non_empty = true},
};
constexpr Field kEngine[] = {
    integer("max_batch", 1, kSizeMax),  // 0 would take no input at all
    integer("poll_timeout_ms"),
    {.name = "sync_commit", .type = Type::Boolean},
    {.name = "write_behind", .type = Type::Boolean},
    {.name = "watch_workflows", .type = Type::Boolean},
};
constexpr Field kRateLimit[] = {
    {.name = "per_second", .type = Type::Number},  // 0 or less: no limit
    {.name = "burst", .type = Type::Number},
};
constexpr Field kHttp[] = {
    {.name = "listen", .non_empty = true},  // "" (quoted) is no HTTP
    integer("threads"),
    {.name = "web_root", .non_empty = true},
    integer("body_limit", 0, kSizeMax),
    integer("batch_body_limit", 0, kSizeMax),
    integer("batch_max_lines", 0, kSizeMax),
    integer("read_timeout_ms", 1),
    integer("action_timeout_ms"),
    group("rate_limit", kRateLimit),
};
constexpr Field kWebhook[] = {
    {.name = "unit", .required = true, .non_empty = true},
    {.name = "url", .required = true, .non_empty = true},
    {.name = "secret", .non_empty = true},
    {.name = "secret_env", .non_empty = true},
    integer("max_attempts"),
    integer("retry_base_ms"),
    integer("retry_max_ms"),
    integer("timeout_ms", 1),
};
constexpr Field kLog[] = {
    {.name = "format", .choices = kFormats},
    {.name = "level", .choices = kLevels},
};
constexpr Field kTop[] = {
    {.name = "org"},
    {.name = "workflows", .non_empty = true},
    {.name = "state_dir"},
    group("kafka", kKafka),
    group("engine", kEngine),
    group("http", kHttp),
    group("webhooks", kWebhook, Type::List),
    group("log", kLog),
};

std::string joined(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

class Checker {
 public:
  Checker(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  // The keys of `map`, at `path` ("" for the top): each known one's value is checked; an
  // unknown one is a warning (it is ignored, as before this check).
  void section(const YAML::Node& map, std::span<const Field> fields, const std::string& path) {
    const std::string where = path.empty() ? "the serve config" : path;
    std::vector<std::string_view> names;
    for (const Field& f : fields) names.push_back(f.name);
    yaml::check_keys(map, names, file_, where, diags_, yaml::UnknownKey::IgnoredWarning);
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& name = it->first.Scalar();
      auto f = std::find_if(fields.begin(), fields.end(),
                            [&](const Field& x) { return x.name == name; });
      if (f != fields.end()) value(it->second, *f, path.empty() ? name : path + "." + name);
    }
    for (const Field& f : fields) {
      if (f.required && !map[std::string(f.name)]) {
        diags_.error(file_, yaml::pos_of(map),
                     where + ": '" + std::string(f.name) + "' is required");
      }
    }
  }

 private:
  void value(const YAML::Node& v, const Field& f, const std::string& what) {
    const std::span<const Field> fields(f.fields, f.field_count);
    if (v.IsNull()) {
      // Left empty: the default for a text or a section; serve could not read anything else.
      if ((f.type == Type::Text && !f.non_empty) || f.type == Type::Section) return;
      diags_.error(file_, yaml::pos_of(v), what + " is empty");
      return;
    }
    switch (f.type) {
      case Type::Text:
        if (auto s = yaml::get_string(v, file_, what, diags_);
            s && !f.choices.empty() &&
            std::find(f.choices.begin(), f.choices.end(), *s) == f.choices.end()) {
          diags_.error(file_, yaml::pos_of(v),
                       what + " must be one of: " + joined(f.choices) + " (not '" + *s + "')");
        }
        break;
      case Type::Integer: {
        long long n = 0;  // as serve reads it (yaml-cpp: also 0x.., 0o.., +..)
        if (!YAML::convert<long long>::decode(v, n)) {
          diags_.error(file_, yaml::pos_of(v), what + " must be an integer");
        } else if (n < f.min) {
          diags_.error(file_, yaml::pos_of(v), what + " must be at least " + std::to_string(f.min));
        } else if (n > f.max) {
          diags_.error(file_, yaml::pos_of(v), what + " must be at most " + std::to_string(f.max));
        }
        break;
      }
      case Type::Boolean: {
        bool b = false;  // as serve reads it (yaml-cpp: also yes/no, on/off)
        if (!YAML::convert<bool>::decode(v, b)) {
          diags_.error(file_, yaml::pos_of(v), what + " must be true or false");
        }
        break;
      }
      case Type::Number: {
        double d = 0;  // as serve reads it (yaml-cpp: also .inf)
        if (!YAML::convert<double>::decode(v, d) || std::isnan(d)) {
          diags_.error(file_, yaml::pos_of(v), what + " must be a number");
        }
        break;
      }
      case Type::Section:
        if (!v.IsMap()) {
          diags_.error(file_, yaml::pos_of(v), what + " must be a map of keys");
        } else {
          section(v, fields, what);
        }
        break;
      case Type::List:
        if (!v.IsSequence()) {
          diags_.error(file_, yaml::pos_of(v), what + " must be a list");
          break;
        }
        for (size_t i = 0; i < v.size(); ++i) {
          const std::string item = what + "[" + std::to_string(i) + "]";
          if (!v[i].IsMap()) {
            diags_.error(file_, yaml::pos_of(v[i]), item + " must be a map of keys");
          } else {
            section(v[i], fields, item);
          }
        }
        break;
    }
  }

  const std::string& file_;
  Diagnostics& diags_;
};

}  // namespace

std::optional<YAML::Node> check_serve_config_file(const std::string& path, Diagnostics& diags) {
  std::string text;
  if (!yaml::read_file(path, text)) {
    diags.error(path, {}, "cannot read file");
    return std::nullopt;
  }
  const int before = diags.error_count();
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a BOM is no column
  if (!yaml::check_utf8(body, path, diags)) return std::nullopt;
  yaml::TextScope scope(body);
  auto root = yaml::parse(body, path, diags);
  if (!root) return std::nullopt;
  if (root->IsNull()) return root;  // empty: every default
  if (!root->IsMap()) {
    diags.error(path, yaml::pos_of(*root), "the serve config must be a map of keys");
    return std::nullopt;
  }
  Checker(path, diags).section(*root, std::span<const Field>(kTop), "");
  if (diags.error_count() > before) return std::nullopt;
  return root;
}

bool looks_like_serve_config(const YAML::Node& root) {
  if (!root.IsMap() || root["kind"]) return false;
  // A section (or the state directory), not org: and workflows: alone (scenario suites).
  return std::any_of(std::begin(kTop), std::end(kTop), [&](const Field& f) {
    return (f.type != Type::Text || f.name == "state_dir") && root[std::string(f.name)];
  });
}

}  // namespace gridcase::app
