#include "connectors/json_events.hpp"

#include <openssl/evp.h>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "connectors/json_text.hpp"
#include "engine/diagnostics.hpp"
#include "engine/yaml_util.hpp"

namespace gridcase::json {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The DOM parser, with the error kept as a value instead of thrown.
class Sax : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit Sax(json& j) : json_sax_dom_parser(j, false) {}
  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& ex) {
    error = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the tail
    if (auto p = error.find("parse error"); p != std::string::npos) error = error.substr(p);
    (void)position;
    return false;
  }
  std::string error;
};

namespace dom = simdjson::dom;

Map to_map(dom::object o);

Value to_value(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return Value();
    case dom::element_type::BOOL:
      return Value(bool(e));
    case dom::element_type::INT64:
      return Value(int64_t(e));
    case dom::element_type::UINT64: {
      auto u = uint64_t(e);
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case dom::element_type::DOUBLE:
      return Value(double(e));
    case dom::element_type::STRING:
      return Value(std::string(std::string_view(e)));
    case dom::element_type::ARRAY: {
      List l;
      for (dom::element x : dom::array(e)) l.push_back(to_value(x));
      return Value(std::move(l));
    }
    case dom::element_type::OBJECT:
      return Value(to_map(dom::object(e)));
  }
  return Value();
}

Map to_map(dom::object o) {
  Map m;
  for (dom::key_value_pair kv : o) {
    m.insert_or_assign(std::string(kv.key), to_value(kv.value));  // a repeated key: the last
  }
  return m;
}

const char* json_type(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return "null";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::ARRAY:
      return "a list";
    case dom::element_type::OBJECT:
      return "an object";
  }
  return "a value";
}

// A required non-empty string field; `path` names it in errors ("report.grid").
Result<std::string_view> need_string(dom::object obj, const char* key, const std::string& path) {
  auto it = member(obj, key);
  if (!it || it->is_null()) return err("missing required field '" + path + "'");
  std::string_view s;
  if (it->get(s)) return err("field '" + path + "' must be a string, got " + json_type(*it));
  if (s.empty()) return err("field '" + path + "' must not be empty");
  return s;
}

// An optional string field: null when absent or null.
Result<Value> opt_string(dom::object obj, const char* key, const std::string& path) {
  auto it = member(obj, key);
  if (!it || it->is_null()) return Value();
  std::string_view s;
  if (it->get(s)) return err("field '" + path + "' must be a string, got " + json_type(*it));
  return Value(std::string(s));
}

bool reserved_action(std::string_view a) {
  return a == "opened" || a == "report" || a == "sla_warning" || a == "sla_expired";
}

}  // namespace

Result<InputEvent> parse_input_event(std::string_view text, const Org& org) {
  if (text.size() > kMaxInputEventBytes) {
    return err("input event too large: " + std::to_string(text.size()) + " bytes (limit " +
               std::to_string(kMaxInputEventBytes) + ")");
  }
  dom::element root;
  if (auto code = parse_text(text, &root))
    return err("invalid JSON: " + parse_error_text(text, code));
  dom::object j;
  if (root.get(j))
    return err(std::string("an input event must be a JSON object, got ") + json_type(root));
  InputEvent ev;
  auto type = need_string(j, "type", "type");
  if (!type.ok()) return type.error();
  auto at = need_string(j, "at", "at");
  if (!at.ok()) return at.error();
  auto ts = parse_timestamp(*at);
  if (!ts.ok()) return err("field 'at': " + ts.error().message);
  ev.at = *ts;
  if (*type == "report") {
    ev.type = InputEvent::Type::Report;
    auto it = member(j, "report");
    if (!it || it->is_null()) return err("missing required field 'report'");
    dom::object r;
    if (it->get(r))
      return err(std::string("field 'report' must be an object, got ") + json_type(*it));
    auto rid = need_string(r, "report_id", "report.report_id");
    if (!rid.ok()) return rid.error();
    auto grid = need_string(r, "grid", "report.grid");
    if (!grid.ok()) return grid.error();
    auto cat = need_string(r, "category", "report.category");
    if (!cat.ok()) return cat.error();
    UnitIdx g = org.find_unit(*grid);
    if (g == kNoUnit) return err("unknown grid '" + std::string(*grid) + "'");
    if (org.units[g].level != 0) {
      return err("'" + std::string(*grid) + "' is a " + org.levels[org.units[g].level] +
                 ", not a " + org.levels[0] + " (report.grid must be at the lowest level)");
    }
    auto sev = member(r, "severity");
    bool no_severity = !sev || sev->is_null();
    if (!no_severity && !is_severity(*sev)) {
      return err("field 'report.severity' must be an integer from 1 to 5, got " +
                 simdjson::to_string(*sev));
    }
    ev.report_id = *rid;
    ev.grid = *grid;
    ev.category = *cat;
    Map report = to_map(r);
    if (no_severity) report.insert_or_assign("severity", Value(int64_t{1}));
    ev.report = Value(std::move(report));
    return ev;
  }
  if (*type == "action") {
    ev.type = InputEvent::Type::Action;
    auto cid = need_string(j, "case_id", "case_id");
    if (!cid.ok()) return cid.error();
    auto action = need_string(j, "action", "action");
    if (!action.ok()) return action.error();
    if (reserved_action(*action)) {
      return err("action '" + std::string(*action) + "' is reserved for the engine");
    }
    ev.case_id = *cid;
    ev.action = *action;
    auto grid = opt_string(j, "grid", "grid");
    if (!grid.ok()) return grid.error();
    if (grid->is_string()) ev.grid = grid->as_string();
    for (auto [key, field] :
         {std::pair{"actor", &ev.actor}, std::pair{"actor_unit", &ev.actor_unit},
          std::pair{"action_id", &ev.action_id}}) {
      auto v = opt_string(j, key, key);
      if (!v.ok()) return v.error();
      *field = std::move(v).value();
    }
    if (auto it = member(j, "note")) ev.note = to_value(*it);
    if (auto it = member(j, "data")) ev.data = to_value(*it);
    return ev;
  }
  return err("unknown event type '" + std::string(*type) + "' (expected report or action)");
}

simdjson::error_code parse_text(std::string_view text, dom::element* root) {
  // simdjson reads a little past the end: the text goes into a buffer with room for that.
  thread_local dom::parser parser;
  thread_local std::string padded;
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  return parser.parse(padded.data(), padded.size(), false).get(*root);
}

std::string parse_error_text(std::string_view text, simdjson::error_code code) {
  json j;
  Sax sax(j);
  if (!json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json,
                       true) ||
      !sax.error.empty()) {
    return sax.error.empty() ? std::string("parse error") : sax.error;
  }
  return simdjson::error_message(code);
}

bool is_severity(dom::element e) {
  return e.type() == dom::element_type::INT64 && int64_t(e) >= 1 && int64_t(e) <= 5;
}

std::optional<dom::element> member(dom::object o, std::string_view key) {
  std::optional<dom::element> found;
  for (dom::key_value_pair kv : o) {
    if (kv.key == key) found = kv.value;
  }
  return found;
}

std::string grid_of_event(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return "";
  if (auto r = j.find("report"); r != j.end() && r->is_object()) {
    if (auto g = r->find("grid"); g != r->end() && g->is_string()) return g->get<std::string>();
  }
  if (auto g = j.find("grid"); g != j.end() && g->is_string()) return g->get<std::string>();
  return "";
}

namespace {

ordered_json to_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null:
      return nullptr;
    case Value::Kind::Bool:
      return v.as_bool();
    case Value::Kind::Int:
      return v.as_int();
    case Value::Kind::Double:
      return v.as_double();
    case Value::Kind::String:
      return v.as_string();
    case Value::Kind::Timestamp:
      return format_timestamp(v.as_timestamp());
    case Value::Kind::Duration:
      return format_duration(v.as_duration());
    case Value::Kind::List: {
      ordered_json a = ordered_json::array();
      for (const auto& x : v.as_list()) a.push_back(to_json(x));
      return a;
    }
    case Value::Kind::Map: {
      ordered_json o = ordered_json::object();
      for (const auto& [k, x] : v.as_map()) o[k] = to_json(x);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

std::string case_event_line(const CaseEvent& e) {
  std::string out;
  out.reserve(320);
  append_case_event_line(e, out);
  return out;
}

namespace {

// Below, with append_json_string. Input text is valid UTF-8 (checked where it enters), so
// only quotes, backslashes and control characters need escaping.
bool plain(std::string_view s);                             // needs no escape
void append_escaped(std::string& out, std::string_view s);  // `s` quoted, with escapes

// A case event line is put together in a buffer on the stack and appended to its string
// once: its parts are short, and an append to the string for each part cost more than the
// copying. What does not fit, or needs escaping, goes to the string the usual way.
class LineWriter {
 public:
  explicit LineWriter(std::string& out) : out_(out) {}
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  void raw(std::string_view s) {
    if (s.size() > kSize - n_) {
      flush();
      if (s.size() > kSize) {
        out_.append(s);
        return;
      }
    }
    std::memcpy(buf_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  void str(std::string_view s) {
    if (!plain(s)) {
      append_escaped(flushed(), s);
    } else if (s.size() + 2 <= kSize - n_) {
      buf_[n_++] = '"';
      if (!s.empty()) std::memcpy(buf_ + n_, s.data(), s.size());
      n_ += s.size();
      buf_[n_++] = '"';
    } else {
      raw("\"");
      raw(s);
      raw("\"");
    }
  }
  template <typename Int>
  void number(Int v) {
    if (kSize - n_ < 24) flush();
    n_ = static_cast<size_t>(std::to_chars(buf_ + n_, buf_ + kSize, v).ptr - buf_);
  }
  void timestamp(Timestamp t) {
    if (kSize - n_ < kTimestampMax) flush();
    n_ += write_timestamp(buf_ + n_, t);
  }
  void value(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::String:
        str(v.as_string());
        break;
      case Value::Kind::Int:
        number(v.as_int());
        break;
      case Value::Kind::Timestamp:  // digits, '-', ':', 'T', '.', 'Z': nothing to escape
        raw("\"");
        timestamp(v.as_timestamp());
        raw("\"");
        break;
      case Value::Kind::Null:
        raw("null");
        break;
      default:
        flushed() += to_json(v).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    }
  }
  // The string with everything written so far.
  std::string& flushed() {
    flush();
    return out_;
  }

 private:
  void flush() {
    out_.append(buf_, n_);
    n_ = 0;
  }
  static constexpr size_t kSize = 512;
  std::string& out_;
  size_t n_ = 0;
  char buf_[kSize];
};

}  // namespace

void append_case_event_line(const CaseEvent& e, std::string& out) {
  // The contract's field order, in the same spacing as the worked examples.
  // The keys are written as they are (they need no escaping), and so is the time.
  LineWriter w(out);
  w.raw("{\"case_id\": ");
  w.str(e.case_id);
  w.raw(", \"seq\": ");
  w.number(e.seq);
  w.raw(", \"type\": ");
  w.str(e.type);
  w.raw(", \"at\": \"");
  w.timestamp(e.at);
  w.raw("\"");
  for (const auto& [key, value] :
       {std::pair<std::string_view, std::string_view>{", \"workflow\": ", e.workflow},
        {", \"state\": ", e.state},
        {", \"level\": ", e.level},
        {", \"unit\": ", e.unit},
        {", \"trigger\": ", e.trigger}}) {
    w.raw(key);
    w.str(value);
  }
  for (const auto& [k, v] : e.extra) {
    w.raw(", ");
    w.str(k);
    w.raw(": ");
    w.value(v);
  }
  w.raw("}");
  w.flushed();
}

std::string dead_letter_json(std::string_view reason, std::string_view error,
                             std::string_view topic, int32_t partition, int64_t offset,
                             std::string_view payload) {
  ordered_json j;
  j["reason"] = std::string(reason);
  j["error"] = std::string(error);
  j["topic"] = std::string(topic);
  j["partition"] = partition;
  j["offset"] = offset;
  Diagnostics ignored;
  const bool utf8 = yaml::check_utf8(payload, "payload", ignored);
  std::string_view shown = payload.substr(0, kDeadLetterPayloadMax);
  if (utf8) {  // cut at a character boundary
    while (shown.size() < payload.size() && !shown.empty() &&
           (static_cast<unsigned char>(payload[shown.size()]) & 0xC0) == 0x80) {
      shown.remove_suffix(1);
    }
  }
  j["payload"] = std::string(shown);
  if (shown.size() < payload.size()) {
    // The whole record stays in the input topic at topic/partition/offset.
    j["payload_truncated"] = true;
    j["payload_bytes"] = payload.size();
  } else if (!utf8) {
    // "payload" has the bad bytes replaced (U+FFFD); these are the bytes as received.
    std::string b64(4 * ((payload.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                            reinterpret_cast<const unsigned char*>(payload.data()),
                            static_cast<int>(payload.size()));
    b64.resize(static_cast<size_t>(n));
    j["payload_base64"] = b64;
  }
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string case_snapshot(const std::vector<CaseSummary>& cases) {
  ordered_json a = ordered_json::array();
  for (const auto& c : cases) {
    ordered_json j;
    j["case_id"] = c.case_id;
    j["workflow"] = c.workflow;
    j["state"] = c.state;
    j["level"] = c.level;
    j["unit"] = c.unit;
    j["closed"] = c.closed;
    j["report_count"] = c.report_count;
    j["co_handlers"] = c.co_handlers;
    ordered_json vars = ordered_json::object();
    for (const auto& [k, v] : c.vars) vars[k] = to_json(v);
    j["vars"] = vars;
    a.push_back(std::move(j));
  }
  return a.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

namespace {

// Whether any of the 8 bytes in `w` needs an escape in a JSON string: below 0x20, '"' or
// '\\' (the "has less" and "has zero" byte tests; exact as a yes or no).
bool needs_escape8(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - ones) & ~v & high; };
  return ((w - ones * 0x20) & ~w & high) | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'));
}

// Whether `s` can be written as it is between the quotes (most strings: ids, names, text).
// Eight bytes at a time; the last eight overlap the ones before, a short string is padded.
bool plain(std::string_view s) {
  if (s.empty()) return true;
  uint64_t w;
  if (s.size() < 8) {
    w = 0x6161616161616161ULL;  // "aaaaaaaa": needs no escape
    std::memcpy(&w, s.data(), s.size());
    return !needs_escape8(w);
  }
  size_t i = 0;
  for (; i + 8 < s.size(); i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if (needs_escape8(w)) return false;
  }
  std::memcpy(&w, s.data() + s.size() - 8, 8);
  return !needs_escape8(w);
}

void append_escaped(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  if (!plain(s)) {
    append_escaped(out, s);
    return;
  }
  const size_t at = out.size();
  out.resize(at + s.size() + 2);
  char* d = out.data() + at;
  d[0] = '"';
  if (!s.empty()) std::memcpy(d + 1, s.data(), s.size());
  d[s.size() + 1] = '"';
}

}  // namespace gridcase::json
