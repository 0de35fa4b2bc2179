#pragma once
// Input events and case events as JSON (interfaces.md). Parsing never throws: a bad line
// gives an Error naming what is wrong.
#include <string>
#include <string_view>
#include <vector>

#include "engine/case.hpp"
#include "engine/org.hpp"
#include "engine/result.hpp"

namespace gridcase::json {

// Parses and checks one input event: valid JSON, `type`, `at`, the required fields, a
// report's grid at the org tree's lowest level, severity 1-5 (default 1), an action name
// that is not reserved.
// Larger events are rejected: a report is a few KiB; a megabyte is a mistake or an attack.
Result<InputEvent> parse_input_event(std::string_view text, const Org& org);
constexpr size_t kMaxInputEventBytes = size_t{1} << 20;

// The origin grid of an input event line (report.grid, or an action's grid); "" if none.
std::string grid_of_event(std::string_view text);

// One case event as a JSON object on one line (no newline), fields in the contract's order.
std::string case_event_line(const CaseEvent& e);
// The same, appended to `out` (no newline).
void append_case_event_line(const CaseEvent& e, std::string& out);
// `s` as a JSON string literal: UTF-8 kept, quotes, backslashes and control characters
// escaped (\n \r \t, else \u00XX), as nlohmann's dump() writes it but for \b and \f.
void append_json_string(std::string& out, std::string_view s);

// A dead letter: {"reason", "error", "topic", "partition", "offset", "payload"}. The payload
// is kept as text, since it may not be JSON at all: with invalid UTF-8 replaced (and then
// the exact bytes in "payload_base64"); cut at kDeadLetterPayloadMax bytes (and then
// "payload_truncated": true, "payload_bytes": N: the record is still in the input topic).
constexpr size_t kDeadLetterPayloadMax = size_t{64} << 10;
std::string dead_letter_json(std::string_view reason, std::string_view error,
                             std::string_view topic, int32_t partition, int64_t offset,
                             std::string_view payload);

// A case for the snapshot: {case_id, workflow, state, level, unit, closed, report_count,
// co_handlers, vars}.
struct CaseSummary {
  std::string case_id, workflow, state, level, unit;
  bool closed = false;
  int64_t report_count = 0;
  std::vector<std::string> co_handlers;
  std::vector<std::pair<std::string, Value>> vars;
};
// The snapshot as a JSON array, indented by 2.
std::string case_snapshot(const std::vector<CaseSummary>& cases);

}  // namespace gridcase::json
