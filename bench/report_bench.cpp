// The HTTP intake's report path without HTTP (connectors/http/parsers.hpp): checking a
// report body (POST /v1/reports, the body of ops/bench/http_report.lua) and writing its
// input event, against nlohmann's bare parse of the same body (the baseline in the same
// run). Figures: items_per_second.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <string>

#include "connectors/http/parsers.hpp"
#include "engine/org.hpp"

namespace gridcase::http {
namespace {

const std::string kBody =
    R"({"report_id":"bench-1-1-12345","grid":"jjbl-c1-g01","category":"sanitation",)"
    R"("severity":2,"title":"垃圾堆积"})";

const Org& org() {
  static const Org o = [] {
    Diagnostics d;
    auto org = load_org_file(GRIDCASE_SOURCE_DIR "/config/org.yaml", d);
    if (!org) std::abort();
    return std::move(*org);
  }();
  return o;
}

ReportContext context() {
  ReportContext ctx;
  ctx.org = &org();
  ctx.reporter = "w-0001";
  ctx.reporter_unit = "jjbl-c1-g01";
  ctx.scope = org().find_unit("jjbl-c1-g01");
  ctx.channel = "app";
  ctx.now = parse_timestamp("2026-11-30T08:00:00+08:00").value();
  return ctx;
}

void BM_NlohmannParse(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(kBody, nullptr, false);
    benchmark::DoNotOptimize(j.is_discarded());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannParse);

void BM_CheckReport(benchmark::State& state) {
  ReportContext ctx = context();
  for (auto _ : state) {
    ApiError e;
    auto v = check_report_text(kBody, ctx, &e);
    if (!v.ok()) std::abort();
    benchmark::DoNotOptimize(v.value().event_line.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckReport);

}  // namespace
}  // namespace gridcase::http

BENCHMARK_MAIN();
