#pragma once
// The HTTP API's parsers, with no networking inside: request bodies (report JSON, JSON
// Lines, CSV), SMS texts, query strings. Each returns values and never throws, so the
// fuzz targets in tests/fuzz/ can drive them with arbitrary bytes.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/org.hpp"
#include "engine/result.hpp"
#include "engine/time.hpp"

namespace gridcase::http {

// One bad field of a request: `field` is a JSON path ("report.grid"), `message` zh-CN.
struct FieldError {
  std::string field;
  std::string message;
};

// An error answer: {"error": {"code", "message", "fields": [...]}}.
struct ApiError {
  int status = 400;
  std::string code;     // stable, English: "validation_failed", "forbidden", ...
  std::string message;  // zh-CN, may end with a short English gloss
  std::vector<FieldError> fields;
};
std::string error_body(const ApiError& e);
nlohmann::json error_json(const ApiError& e);

bool valid_utf8(std::string_view s);

// Parses a JSON text; invalid UTF-8 and syntax errors become an ApiError (400) that says
// where. Never throws.
Result<nlohmann::json> parse_json_body(std::string_view text, ApiError* error);

// application/x-www-form-urlencoded and query strings: "a=1&b=%E4%B8%AD" -> pairs.
// Malformed escapes are kept literally (a query is never rejected for them).
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text);
std::string percent_decode(std::string_view s, bool plus_is_space);

// Who reports and where a report may be: the checks need the org, the reporter and the
// subtree their token allows.
struct ReportContext {
  const Org* org = nullptr;
  std::string reporter;            // the caller's person id, recorded as report.reporter
  std::string reporter_unit;       // the caller's unit, recorded as report.reporter_unit
  UnitIdx scope = kNoUnit;         // grids must lie in this subtree; kNoUnit = anywhere (admin)
  bool may_name_reporter = false;  // admin imports may keep another reporter
  std::string channel = "app";     // report.channel when the body has none
  Timestamp now;                   // the input event's `at`
  std::function<std::string()> new_report_id;  // for reports without one
};

// A report that passed every check, as the input event of interfaces.md.
struct ValidReport {
  std::string report_id;
  std::string grid;
  std::string event_line;  // {"type": "report", "at": ..., "report": {...}}
  bool id_generated = false;
};

// Parses and checks a report (the fields of interfaces.md's report, report_id optional) and
// returns its input event; else `error` says what is wrong: 400 invalid_utf8, invalid_json
// (where), or validation_failed listing every bad field at once (paths "report.grid", ...).
// simdjson: no DOM of the body is built; the event keeps the body's members, keys sorted.
Result<ValidReport> check_report_text(std::string_view text, const ReportContext& ctx,
                                      ApiError* error);
// The same for a report built in memory (CSV records, SMS); `errors`: the bad fields.
Result<ValidReport> check_report(const nlohmann::json& body, const ReportContext& ctx,
                                 std::vector<FieldError>* errors);

// CSV (RFC 4180: quotes, doubled quotes, CRLF, newlines inside quotes). A record that is
// malformed gets an error of its own; the others parse on.
struct CsvRecord {
  size_t line = 0;  // line of the file where the record starts, 1-based
  std::vector<std::string> cells;
  std::string error;  // zh-CN, "" when the record is well-formed
};
std::vector<CsvRecord> parse_csv(std::string_view text);

// One CSV data record under its header as a report object. Columns are report fields;
// `lat`/`lon` become location; numbers are converted where the contract wants numbers;
// empty cells are left out. Unknown columns go to report.data.
nlohmann::json csv_record_to_report(const std::vector<std::string>& header,
                                    const std::vector<std::string>& cells,
                                    std::vector<FieldError>* errors);

// JSON Lines: (line number, line) for every non-blank line.
std::vector<std::pair<size_t, std::string_view>> split_lines(std::string_view text);

// The SMS syntax (docs/sms.md): "SB <grid> <category> <severity> <free text>".
struct SmsReport {
  std::string grid;
  std::string category;
  int severity = 1;
  std::string text;  // free text, kept as sent (may be Chinese, may be empty)
};
// nullopt with `error` set (zh-CN, says what to fix) when the text does not parse.
std::optional<SmsReport> parse_sms(std::string_view text, std::string* error);
// The category codes and names the SMS channel accepts: (code, category, zh-CN name).
struct SmsCategory {
  const char* code;
  const char* category;
  const char* name;
};
const std::vector<SmsCategory>& sms_categories();
// "+86 138-0000-0001", "008613800000001", "13800000001" -> "13800000001".
std::string normalize_phone(std::string_view phone);

}  // namespace gridcase::http
