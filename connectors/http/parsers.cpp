#include "connectors/http/parsers.hpp"

#include "connectors/json_events.hpp"
#include "connectors/json_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace gridcase::http {

using nlohmann::json;

namespace {

constexpr const char* kSmsFormat = "格式：SB 网格编号 类别代码 紧急程度(1-5) 描述";

// The DOM parser with the error kept as a value instead of thrown.
class Sax : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit Sax(json& j) : json_sax_dom_parser(j, false) {}
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& ex) {
    error = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the tail
    if (auto p = error.find("parse error"); p != std::string::npos) error = error.substr(p);
    return false;
  }
  std::string error;
};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

// Ids end up in URL paths (/v1/cases/{id}) and Kafka keys: a conservative alphabet.
bool valid_id(std::string_view s) {
  return !s.empty() && s.size() <= 128 && s[0] != '.' && std::all_of(s.begin(), s.end(), id_char);
}

// Decodes one code point at `i` (valid UTF-8 assumed where called; bad bytes -> U+FFFD).
char32_t next_cp(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b : b & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

void put_cp(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Phones type full-width forms (ＳＢ１２３) and the ideographic space: fold them to ASCII.
char32_t fold_width(char32_t cp) {
  if (cp == 0x3000) return ' ';
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFF01 + 0x21;
  return cp;
}

bool sms_separator(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == ',' || cp == 0x3001;
}

}  // namespace

json error_json(const ApiError& e) {
  json fields = json::array();
  for (const auto& f : e.fields) fields.push_back({{"field", f.field}, {"message", f.message}});
  json inner = {{"code", e.code}, {"message", e.message}};
  if (!e.fields.empty()) inner["fields"] = std::move(fields);
  return json{{"error", std::move(inner)}};
}

std::string error_body(const ApiError& e) {
  return error_json(e).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    int len;
    char32_t min;
    if ((b >> 5) == 6) {
      len = 2;
      min = 0x80;
    } else if ((b >> 4) == 14) {
      len = 3;
      min = 0x800;
    } else if ((b >> 3) == 30) {
      len = 4;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    char32_t cp = b & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c >> 6) != 2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

Result<json> parse_json_body(std::string_view text, ApiError* error) {
  if (!valid_utf8(text)) {
    *error = {400, "invalid_utf8", "请求体不是合法的 UTF-8 编码 / body is not valid UTF-8", {}};
    return err(error->message);
  }
  json j;
  Sax sax(j);
  if (!json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json,
                       true) ||
      !sax.error.empty()) {
    *error = {400,
              "invalid_json",
              "JSON 格式错误 / malformed JSON: " + (sax.error.empty() ? "parse error" : sax.error),
              {}};
    return err(error->message);
  }
  return j;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view part = text.substr(0, amp);
    text.remove_prefix(amp == std::string_view::npos ? text.size() : amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    out.emplace_back(percent_decode(k, true), percent_decode(v, true));
  }
  return out;
}

namespace {

namespace dom = simdjson::dom;

// The names of JSON types in error messages.
const char* type_name(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return "null";
    case dom::element_type::BOOL:
      return "布尔值 boolean";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return "整数 integer";
    case dom::element_type::DOUBLE:
      return "小数 number";
    case dom::element_type::STRING:
      return "字符串 string";
    case dom::element_type::ARRAY:
      return "数组 array";
    case dom::element_type::OBJECT:
      return "对象 object";
  }
  return "值 value";
}

bool is_integer(dom::element e) {
  return e.type() == dom::element_type::INT64 || e.type() == dom::element_type::UINT64;
}

double as_double(dom::element e) {
  switch (e.type()) {
    case dom::element_type::INT64:
      return static_cast<double>(int64_t(e));
    case dom::element_type::UINT64:
      return static_cast<double>(uint64_t(e));
    default:
      return double(e);
  }
}

// A report's member in the event: a value of the body, or one the intake sets.
struct Member {
  std::string_view key;
  dom::element value;
  const std::string* text = nullptr;  // set: this string instead of `value`
};

// The report's fields the checks look at, last occurrence winning (as in a JSON DOM).
enum Field {
  kReportId,
  kGrid,
  kCategory,
  kSeverity,
  kTitle,
  kDescription,
  kHousehold,
  kHukouTownship,
  kChannel,
  kReporter,
  kOccurredAt,
  kHouseholdsAffected,
  kLocation,
  kData,
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "report_id", "grid",        "category",    "severity",
    "title",     "description", "household",   "hukou_township",
    "channel",   "reporter",    "occurred_at", "households_affected",
    "location",  "data"};

}  // namespace

Result<ValidReport> check_report_text(std::string_view text, const ReportContext& ctx,
                                      ApiError* error) {
  *error = {};
  dom::element root;
  if (auto code = gridcase::json::parse_text(text, &root)) {
    if (code == simdjson::UTF8_ERROR) {
      *error = {400, "invalid_utf8", "请求体不是合法的 UTF-8 编码 / body is not valid UTF-8", {}};
      return err(error->message);
    }
    *error = {400,
              "invalid_json",
              "JSON 格式错误 / malformed JSON: " + gridcase::json::parse_error_text(text, code),
              {}};
    return err(error->message);
  }
  auto bad = [&](std::string field, std::string message) {
    error->fields.push_back({std::move(field), std::move(message)});
  };
  auto finish_invalid = [&]() -> Result<ValidReport> {
    error->status = 400;
    error->code = "validation_failed";
    error->message = "上报内容有误 / the report is invalid";
    return err("invalid report");
  };
  dom::object body;
  if (root.get(body)) {
    bad("report", std::string("上报内容必须是 JSON 对象 / a report must be an object, got ") +
                      type_name(root));
    return finish_invalid();
  }
  // The members in order (repeated keys are settled when the event is written), and the
  // checked fields by name, a repeated key's last value winning.
  std::vector<Member> members;
  std::array<std::optional<dom::element>, kFieldCount> f;
  for (dom::key_value_pair kv : body) {
    members.push_back({kv.key, kv.value});
    for (size_t i = 0; i < kFieldCount; ++i) {
      if (kFieldNames[i] == kv.key) f[i] = kv.value;
    }
  }
  auto given = [&](Field i) { return f[i] && !f[i]->is_null(); };
  const Org& org = *ctx.org;
  ValidReport out;
  // report_id: optional; the case is named after it.
  if (given(kReportId)) {
    std::string_view id;
    if (f[kReportId]->get(id)) {
      bad("report.report_id",
          std::string("必须是字符串 / must be a string, got ") + type_name(*f[kReportId]));
    } else if (!valid_id(id)) {
      bad("report.report_id",
          "只能包含字母、数字和 - _ . :，最长 128 个字符 / letters, digits, - _ . : only, at "
          "most 128");
    } else {
      out.report_id = id;
    }
  }
  // grid: required, a known unit at the lowest level, inside the caller's subtree.
  std::string_view g;
  if (!given(kGrid)) {
    bad("report.grid", "缺少网格编号 / missing");
  } else if (f[kGrid]->get(g)) {
    bad("report.grid", std::string("必须是字符串 / must be a string, got ") + type_name(*f[kGrid]));
  } else {
    UnitIdx u = org.find_unit(std::string(g));
    if (u == kNoUnit) {
      bad("report.grid", "未知网格 '" + std::string(g) + "' / unknown grid");
    } else if (org.units[u].level != 0) {
      bad("report.grid", "'" + std::string(g) + "' 是" + org.levels[org.units[u].level] + "，不是" +
                             org.levels[0] + " / not a unit at the lowest level");
    } else if (ctx.scope != kNoUnit && !org.in_subtree(u, ctx.scope)) {
      bad("report.grid", "网格 '" + std::string(g) + "' 不在您的辖区（" + org.units[ctx.scope].id +
                             "）内 / outside your area");
    } else {
      out.grid = g;
    }
  }
  std::string_view category;
  if (!given(kCategory)) {
    bad("report.category", "缺少类别 / missing");
  } else if (f[kCategory]->get(category)) {
    bad("report.category",
        std::string("必须是字符串 / must be a string, got ") + type_name(*f[kCategory]));
  } else if (category.empty() || category.size() > 64) {
    bad("report.category", "不能为空，最长 64 字节 / must be 1-64 bytes");
  }
  if (given(kSeverity)) {
    if (!gridcase::json::is_severity(*f[kSeverity])) {
      bad("report.severity", "紧急程度必须是 1 到 5 的整数 / must be an integer from 1 to 5, got " +
                                 simdjson::to_string(*f[kSeverity]));
    }
  }
  for (Field i : {kTitle, kDescription, kHousehold, kHukouTownship, kChannel}) {
    if (given(i) && !f[i]->is_string()) {
      bad(std::string("report.") + std::string(kFieldNames[i]),
          std::string("必须是字符串 / must be a string, got ") + type_name(*f[i]));
    }
  }
  if (given(kReporter)) {
    std::string_view r;
    if (f[kReporter]->get(r)) {
      bad("report.reporter",
          std::string("必须是字符串 / must be a string, got ") + type_name(*f[kReporter]));
    } else if (!ctx.may_name_reporter && r != ctx.reporter) {
      bad("report.reporter",
          "只能以本人身份上报（" + ctx.reporter + "）/ you may only report as yourself");
    }
  }
  if (given(kOccurredAt)) {
    std::string_view t;
    if (f[kOccurredAt]->get(t)) {
      bad("report.occurred_at",
          std::string("必须是 RFC 3339 时间字符串 / must be an RFC 3339 string, got ") +
              type_name(*f[kOccurredAt]));
    } else if (!parse_timestamp(std::string(t)).ok()) {
      bad("report.occurred_at",
          "时间格式错误，应如 2026-06-12T08:30:00+08:00 / not an RFC 3339 time");
    }
  }
  if (given(kHouseholdsAffected)) {
    dom::element h = *f[kHouseholdsAffected];
    if (!is_integer(h) || (h.type() == dom::element_type::INT64 && int64_t(h) < 0)) {
      bad("report.households_affected", "必须是非负整数 / must be a non-negative integer");
    }
  }
  if (given(kLocation)) {
    dom::object loc;
    if (f[kLocation]->get(loc)) {
      bad("report.location", "必须是对象 {\"lat\", \"lon\"} / must be an object");
    } else {
      for (auto [key, limit] : {std::pair{"lat", 90.0}, std::pair{"lon", 180.0}}) {
        auto c = gridcase::json::member(loc, key);
        if (!c || !c->is_number() || std::isnan(as_double(*c)) ||
            std::fabs(as_double(*c)) > limit) {
          bad(std::string("report.location.") + key,
              "必须是 ±" + std::to_string(static_cast<int>(limit)) +
                  " 以内的数 / must be a number within the range");
        }
      }
    }
  }
  if (given(kData) && !f[kData]->is_object()) {
    bad("report.data", std::string("必须是对象 / must be an object, got ") + type_name(*f[kData]));
  }
  if (!error->fields.empty()) return finish_invalid();

  // The event: the body's members with those the intake sets, keys in order (as a DOM
  // with sorted keys writes them). Of members with the same key the last one counts, so
  // what the intake sets (appended last) replaces what the body had.
  auto set = [&](std::string_view key, const std::string* value) {
    members.push_back({key, {}, value});
  };
  if (out.report_id.empty()) {
    out.report_id = ctx.new_report_id ? ctx.new_report_id() : std::string("r-unnamed");
    out.id_generated = true;
    set("report_id", &out.report_id);
  }
  if (!ctx.may_name_reporter || !given(kReporter)) set("reporter", &ctx.reporter);
  set("reporter_unit", &ctx.reporter_unit);
  if (!given(kChannel)) set("channel", &ctx.channel);
  std::stable_sort(members.begin(), members.end(),
                   [](const Member& a, const Member& b) { return a.key < b.key; });
  std::string& line = out.event_line;
  line.reserve(text.size() + 160);
  line += R"({"at":")";
  line += format_timestamp(ctx.now);
  line += R"(","report":{)";
  for (size_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    if (i + 1 < members.size() && members[i + 1].key == m.key) continue;  // a later one counts
    if (line.back() != '{') line += ',';
    gridcase::json::append_json_string(line, m.key);
    line += ':';
    if (m.text) {
      gridcase::json::append_json_string(line, *m.text);
    } else if (m.value.is_string()) {
      gridcase::json::append_json_string(line, std::string_view(m.value));
    } else {
      line += simdjson::to_string(m.value);
    }
  }
  line += R"(},"type":"report"})";
  return out;
}

Result<ValidReport> check_report(const json& body, const ReportContext& ctx,
                                 std::vector<FieldError>* errors) {
  ApiError e;
  auto r = check_report_text(body.dump(-1, ' ', false, json::error_handler_t::replace), ctx, &e);
  *errors = std::move(e.fields);
  return r;
}

std::vector<CsvRecord> parse_csv(std::string_view text) {
  std::vector<CsvRecord> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // Excel's BOM
  size_t i = 0, line = 1;
  const size_t n = text.size();
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    std::string cell;
    bool in_quotes = false, quoted = false, closed_quote = false;
    auto fail = [&](const std::string& e) {
      if (rec.error.empty()) rec.error = e;
    };
    bool ended = false;
    while (i < n && !ended) {
      char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
          } else {
            in_quotes = false;
            closed_quote = true;
            ++i;
          }
        } else {
          if (c == '\n') ++line;
          cell.push_back(c);
          ++i;
        }
        continue;
      }
      if (c == ',') {
        rec.cells.push_back(std::move(cell));
        cell.clear();
        quoted = closed_quote = false;
        ++i;
      } else if (c == '\n' || (c == '\r' && i + 1 < n && text[i + 1] == '\n')) {
        i += c == '\r' ? 2 : 1;
        ++line;
        ended = true;
      } else if (c == '"') {
        if (cell.empty() && !quoted) {
          in_quotes = quoted = true;
        } else {
          fail("第 " + std::to_string(line) + " 行：引号只能出现在字段开头 / stray quote");
          cell.push_back(c);
        }
        ++i;
      } else {
        if (closed_quote) {
          fail("第 " + std::to_string(line) + " 行：右引号后有多余字符 / text after closing quote");
        }
        cell.push_back(c);
        ++i;
      }
    }
    if (in_quotes) fail("引号未闭合 / unterminated quoted field");
    rec.cells.push_back(std::move(cell));
    bool blank = rec.cells.size() == 1 &&
                 rec.cells[0].find_first_not_of(" \t\r") == std::string::npos && !quoted;
    if (!blank) out.push_back(std::move(rec));
  }
  return out;
}

json csv_record_to_report(const std::vector<std::string>& header,
                          const std::vector<std::string>& cells, std::vector<FieldError>* errors) {
  json r = json::object();
  if (cells.size() != header.size()) {
    errors->push_back({"line", "有 " + std::to_string(cells.size()) + " 列，表头有 " +
                                   std::to_string(header.size()) +
                                   " 列 / column count differs from the header"});
    return r;
  }
  for (size_t c = 0; c < header.size(); ++c) {
    const std::string& name = header[c];
    const std::string& v = cells[c];
    if (v.empty() || name.empty()) continue;
    if (name == "severity" || name == "households_affected") {
      int64_t x = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec == std::errc() && p == v.data() + v.size()) {
        r[name] = x;
      } else {
        r[name] = v;  // check_report names the type error
      }
    } else if (name == "lat" || name == "lon") {
      char* end = nullptr;
      std::string copy = v;
      double d = std::strtod(copy.c_str(), &end);
      if (end != copy.c_str() + copy.size() || !std::isfinite(d)) {
        errors->push_back({"report.location." + name, "不是数字 / not a number: " + v});
      } else {
        r["location"][name] = d;
      }
    } else if (name == "report_id" || name == "grid" || name == "category" || name == "title" ||
               name == "description" || name == "occurred_at" || name == "household" ||
               name == "hukou_township" || name == "channel" || name == "reporter") {
      r[name] = v;
    } else {
      r["data"][name] = v;
    }
  }
  if (r.contains("location") &&
      (!r["location"].contains("lat") || !r["location"].contains("lon"))) {
    errors->push_back({"report.location", "lat 和 lon 须同时给出 / give both lat and lon"});
  }
  return r;
}

std::vector<std::pair<size_t, std::string_view>> split_lines(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> out;
  size_t line = 0;
  while (!text.empty()) {
    ++line;
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    out.emplace_back(line, l);
  }
  return out;
}

const std::vector<SmsCategory>& sms_categories() {
  static const std::vector<SmsCategory> table = {
      {"01", "sanitation", "环境卫生"},
      {"02", "road", "道路交通"},
      {"03", "facility", "设施管护"},
      {"04", "public_security", "治安管理"},
      {"05", "noise", "噪声扰民"},
      {"06", "household_hardship", "困难帮扶"},
      {"07", "elderly_care", "养老服务"},
      {"08", "medical", "就医服务"},
      {"09", "schooling", "就学"},
      {"10", "employment", "就业指导"},
      {"11", "proxy_service", "为民代办"},
      {"12", "complaint", "投诉"},
      {"13", "suggestion", "意见建议"},
      {"14", "flood_prevention", "防汛隐患"},
      {"15", "fire_prevention", "消防隐患"},
      {"16", "policy_subsidy", "政策补助"},
      {"17", "ecological_compensation", "草原生态补奖"},
      {"18", "hukou_paperwork", "户籍手续"},
      {"19", "flood", "汛情"},
      {"20", "fire", "火情"},
      {"21", "epidemic", "疫情"},
      {"22", "snow_disaster", "雪灾"},
  };
  return table;
}

std::optional<SmsReport> parse_sms(std::string_view text, std::string* error) {
  auto fail = [&](std::string what) -> std::optional<SmsReport> {
    *error = std::move(what) + "。" + kSmsFormat;
    return std::nullopt;
  };
  if (!valid_utf8(text)) return fail("短信含有无法识别的字符");
  size_t pos = 0;
  // The next token, width-folded, and the byte offset where it started.
  auto token = [&](std::string& tok) {
    tok.clear();
    while (pos < text.size()) {
      size_t at = pos;
      char32_t cp = fold_width(next_cp(text, pos));
      if (!sms_separator(cp)) {
        pos = at;
        break;
      }
    }
    while (pos < text.size()) {
      size_t at = pos;
      char32_t cp = fold_width(next_cp(text, pos));
      if (sms_separator(cp)) {
        pos = at;
        break;
      }
      put_cp(tok, cp);
    }
    return !tok.empty();
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string tok;
  if (!token(tok)) return fail("短信为空");
  std::string head = lower(tok);
  // "SB" may be glued to nothing else; "上报" is the spoken form.
  if (head != "sb" && tok != "上报") return fail("短信须以 SB 开头，而不是“" + tok + "”");
  SmsReport r;
  if (!token(tok)) return fail("缺少网格编号");
  r.grid = lower(tok);
  if (!token(tok)) return fail("缺少类别代码");
  {
    std::string code = lower(tok);
    if (code.size() == 1 && code[0] >= '1' && code[0] <= '9') code = "0" + code;
    for (const auto& c : sms_categories()) {
      if (code == c.code || code == c.category || tok == c.name) r.category = c.category;
    }
    if (r.category.empty()) return fail("类别代码“" + tok + "”无效（01-22，见类别表）");
  }
  if (!token(tok)) return fail("缺少紧急程度（1-5）");
  {
    static const char* const chinese[] = {"一", "二", "三", "四", "五"};
    int sev = 0;
    if (tok.size() == 1 && tok[0] >= '1' && tok[0] <= '5') sev = tok[0] - '0';
    for (int k = 0; k < 5; ++k) {
      if (tok == chinese[k]) sev = k + 1;
    }
    if (sev == 0) return fail("紧急程度“" + tok + "”无效，应为 1-5");
    r.severity = sev;
  }
  // The rest is free text, kept as sent (full-width punctuation and all), trimmed.
  while (pos < text.size()) {
    size_t at = pos;
    if (!sms_separator(fold_width(next_cp(text, pos)))) {
      pos = at;
      break;
    }
  }
  std::string_view rest = text.substr(pos);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\n' || rest.back() == '\r' ||
                           rest.back() == '\t')) {
    rest.remove_suffix(1);
  }
  r.text = std::string(rest);
  return r;
}

std::string normalize_phone(std::string_view phone) {
  std::string digits;
  size_t i = 0;
  while (i < phone.size()) {
    char32_t cp = fold_width(next_cp(phone, i));
    if (cp >= '0' && cp <= '9') digits.push_back(static_cast<char>(cp));
  }
  if (digits.size() == 15 && digits.starts_with("0086")) digits.erase(0, 4);
  if (digits.size() == 13 && digits.starts_with("86")) digits.erase(0, 2);
  return digits;
}

}  // namespace gridcase::http
