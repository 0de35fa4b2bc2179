// The report body path of POST /v1/reports on arbitrary bytes (check_report_text, simdjson):
// either an error, or an input event that the engine's own parser accepts. It agrees with
// nlohmann's DOM: the same texts parse, and a report built from the DOM is checked alike.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/http/parsers.hpp"
#include "connectors/json_events.hpp"

namespace {

const gridcase::Org& org() {
  static const gridcase::Org o = [] {
    gridcase::Diagnostics d;
    auto loaded = gridcase::load_org_text(R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: zhiduo
    name: 治多县
    level: county
    children:
      - id: t1
        name: 一镇
        level: township
        children:
          - id: v1
            name: 一村
            level: village
            children:
              - { id: g1, name: 一网格, level: grid }
              - { id: g2, name: 二网格, level: grid }
people:
  - { id: w1, name: 才仁, unit: g1, role: grid_worker }
)",
                                          "fuzz-org.yaml", d);
    if (!loaded) std::abort();
    return std::move(*loaded);
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gridcase::http::ReportContext ctx;
  ctx.org = &org();
  ctx.reporter = "w1";
  ctx.reporter_unit = "g1";
  ctx.scope = org().find_unit("v1");
  ctx.now = gridcase::Timestamp{1781253000000};
  ctx.new_report_id = [] { return std::string("r-fuzz"); };
  gridcase::http::ApiError e;
  auto r = gridcase::http::check_report_text(text, ctx, &e);
  gridcase::http::ApiError parse_error;
  auto body = gridcase::http::parse_json_body(text, &parse_error);
  bool parse_failed = e.code == "invalid_json" || e.code == "invalid_utf8";
  if (r.ok() && !body.ok()) std::abort();  // accepted what the DOM parser rejects
  if (r.ok()) {
    auto ev = gridcase::json::parse_input_event(r->event_line, org());
    if (!ev.ok() || ev->report_id != r->report_id || ev->grid != r->grid) std::abort();
  }
  if (!body.ok() || parse_failed) return 0;
  // The DOM's own report (CSV and SMS go this way) is judged the same.
  std::vector<gridcase::http::FieldError> errors;
  auto again = gridcase::http::check_report(body.value(), ctx, &errors);
  if (again.ok() != r.ok() || again.ok() != errors.empty()) std::abort();
  if (r.ok() && again->event_line != r->event_line && !r->id_generated) {
    // Only the text's number spellings may differ (1.0 vs 1.0e0): the same JSON values.
    if (nlohmann::json::parse(again->event_line) != nlohmann::json::parse(r->event_line)) {
      std::abort();
    }
  }
  return 0;
}
