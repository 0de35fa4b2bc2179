// The report body path of POST /v1/reports on arbitrary bytes: parse the JSON, check the
// report. Either field errors, or an input event that the engine's own parser accepts.
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
  gridcase::http::ApiError e;
  auto body = gridcase::http::parse_json_body(text, &e);
  if (!body.ok()) return 0;
  gridcase::http::ReportContext ctx;
  ctx.org = &org();
  ctx.reporter = "w1";
  ctx.reporter_unit = "g1";
  ctx.scope = org().find_unit("v1");
  ctx.now = gridcase::Timestamp{1781253000000};
  ctx.new_report_id = [] { return std::string("r-fuzz"); };
  std::vector<gridcase::http::FieldError> errors;
  auto r = gridcase::http::check_report(body.value(), ctx, &errors);
  if (r.ok() != errors.empty()) std::abort();
  if (r.ok()) {
    auto ev = gridcase::json::parse_input_event(r->event_line, org());
    if (!ev.ok() || ev->report_id != r->report_id || ev->grid != r->grid) std::abort();
  }
  return 0;
}
