#include "app/serve_config.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "engine/yaml_util.hpp"

namespace gridcase::app {

namespace {

enum class Type { Text, Integer, Boolean, Number, Section, List };

// One key of the config: its type, and for a section (or each item of a list) its keys.
struct Field {
  std::string_view name;
  Type type = Type::Text;
  std::span<const Field> fields = {};
  int64_t min = 0;                                 // integers
  std::span<const std::string_view> choices = {};  // text, when only some values mean something
  bool required = false;                           // within a list item
};

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
    {.name = "partitions", .type = Type::Integer, .min = 1},
    {.name = "exactly_once", .type = Type::Boolean},
    {.name = "group_id"},
    {.name = "delivery_timeout_ms", .type = Type::Integer, .min = 1},
    {.name = "offset_commit_interval_ms", .type = Type::Integer},
    {.name = "instance_id"},
};
constexpr Field kEngine[] = {
    {.name = "max_batch", .type = Type::Integer, .min = 1},
    {.name = "poll_timeout_ms", .type = Type::Integer},
    {.name = "sync_commit", .type = Type::Boolean},
    {.name = "write_behind", .type = Type::Boolean},
    {.name = "watch_workflows", .type = Type::Boolean},
};
constexpr Field kRateLimit[] = {
    {.name = "per_second", .type = Type::Number},
    {.name = "burst", .type = Type::Number},
};
constexpr Field kHttp[] = {
    {.name = "listen"},
    {.name = "threads", .type = Type::Integer, .min = 1},
    {.name = "web_root"},
    {.name = "body_limit", .type = Type::Integer, .min = 1},
    {.name = "batch_body_limit", .type = Type::Integer, .min = 1},
    {.name = "batch_max_lines", .type = Type::Integer, .min = 1},
    {.name = "read_timeout_ms", .type = Type::Integer, .min = 1},
    {.name = "action_timeout_ms", .type = Type::Integer},
    {.name = "rate_limit", .type = Type::Section, .fields = kRateLimit},
};
constexpr Field kWebhook[] = {
    {.name = "unit", .required = true},
    {.name = "url", .required = true},
    {.name = "secret"},
    {.name = "secret_env"},
    {.name = "max_attempts", .type = Type::Integer, .min = 1},
    {.name = "retry_base_ms", .type = Type::Integer},
    {.name = "retry_max_ms", .type = Type::Integer},
    {.name = "timeout_ms", .type = Type::Integer, .min = 1},
};
constexpr Field kLog[] = {
    {.name = "format", .choices = kFormats},
    {.name = "level", .choices = kLevels},
};
constexpr Field kTop[] = {
    {.name = "org"},
    {.name = "workflows"},
    {.name = "state_dir"},
    {.name = "kafka", .type = Type::Section, .fields = kKafka},
    {.name = "engine", .type = Type::Section, .fields = kEngine},
    {.name = "http", .type = Type::Section, .fields = kHttp},
    {.name = "webhooks", .type = Type::List, .fields = kWebhook},
    {.name = "log", .type = Type::Section, .fields = kLog},
};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string joined(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

class Checker {
 public:
  Checker(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  void section(const YAML::Node& map, std::span<const Field> fields, const std::string& where) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        diags_.error(file_, yaml::pos_of(key), "keys of " + where + " must be plain names");
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        diags_.error(file_, yaml::pos_of(key), "duplicate key '" + name + "' in " + where);
        continue;
      }
      auto f = std::find_if(fields.begin(), fields.end(),
                            [&](const Field& x) { return x.name == name; });
      if (f == fields.end()) {
        unknown(key, fields, where);
      } else {
        value(it->second, *f, where == "the serve config" ? name : where + "." + name);
      }
    }
    for (const Field& f : fields) {
      if (f.required && !seen.contains(std::string(f.name))) {
        diags_.error(file_, yaml::pos_of(map),
                     where + ": '" + std::string(f.name) + "' is required");
      }
    }
  }

 private:
  // Ignored, as before this check; a warning says so and names the key meant.
  void unknown(const YAML::Node& key, std::span<const Field> fields, const std::string& where) {
    const std::string& name = key.Scalar();
    std::vector<std::string_view> names;
    std::string_view closest;
    size_t best = 3;  // at most two edits away
    for (const Field& f : fields) {
      names.push_back(f.name);
      if (size_t d = edit_distance(name, f.name); d < best) {
        best = d;
        closest = f.name;
      }
    }
    std::string msg = "unknown key '" + name + "' in " + where + ", ignored";
    if (!closest.empty()) msg += " (did you mean '" + std::string(closest) + "'?)";
    msg += " (allowed: " + joined(names) + ")";
    diags_.warning(file_, yaml::pos_of(key), msg);
  }

  void value(const YAML::Node& v, const Field& f, const std::string& what) {
    if (v.IsNull()) return;  // left unset: the default
    switch (f.type) {
      case Type::Text:
        if (auto s = yaml::get_string(v, file_, what, diags_);
            s && !f.choices.empty() &&
            std::find(f.choices.begin(), f.choices.end(), *s) == f.choices.end()) {
          diags_.error(file_, yaml::pos_of(v),
                       what + " must be one of: " + joined(f.choices) + " (not '" + *s + "')");
        }
        break;
      case Type::Integer:
        if (auto n = yaml::get_int(v, file_, what, diags_); n && *n < f.min) {
          diags_.error(file_, yaml::pos_of(v), what + " must be at least " + std::to_string(f.min));
        }
        break;
      case Type::Boolean: {
        bool b = false;  // what serve reads it with (yaml-cpp: also yes/no, on/off)
        if (!YAML::convert<bool>::decode(v, b)) {
          diags_.error(file_, yaml::pos_of(v), what + " must be true or false");
        }
        break;
      }
      case Type::Number: {
        double d = 0;
        const std::string s = v.IsScalar() ? v.Scalar() : std::string();
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || d < 0) {
          diags_.error(file_, yaml::pos_of(v), what + " must be a number, 0 or more");
        }
        break;
      }
      case Type::Section:
        if (!v.IsMap()) {
          diags_.error(file_, yaml::pos_of(v), what + " must be a map of keys");
        } else {
          section(v, f.fields, what);
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
            section(v[i], f.fields, item);
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
  Checker(path, diags).section(*root, kTop, "the serve config");
  if (diags.error_count() > before) return std::nullopt;
  return root;
}

bool looks_like_serve_config(const YAML::Node& root) {
  if (!root.IsMap() || root["kind"]) return false;
  return std::any_of(std::begin(kTop), std::end(kTop),
                     [&](const Field& f) { return root[std::string(f.name)].IsDefined(); });
}

}  // namespace gridcase::app
