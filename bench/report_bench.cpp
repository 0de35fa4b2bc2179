// The HTTP intake's report path without HTTP (connectors/http/parsers.hpp): checking a
// report body (POST /v1/reports, the body of ops/bench/http_report.lua) and writing its
// input event, against nlohmann's bare parse of the same body (the baseline in the same
// run); and the whole of Api::handle for the request (token, checks, idempotency ledger,
// the intake's hand-over and the answer), with an intake that answers at once.
// Figures: items_per_second.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "connectors/http/api.hpp"
#include "connectors/http/intake.hpp"
#include "connectors/http/parsers.hpp"
#include "connectors/http/router.hpp"
#include "connectors/http/tokens.hpp"
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

// Keeps what is submitted; the bench answers it right after.
class HeldIntake final : public Intake {
 public:
  void submit(std::vector<IntakeRecord> records, Done done) override {
    benchmark::DoNotOptimize(records.data());
    held_.push_back(std::move(done));
  }
  bool ready(std::string*) override { return true; }
  void answer_all() {
    for (auto& d : held_) d(true);
    held_.clear();
  }

 private:
  std::vector<Done> held_;
};

void BM_PostReport(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / ("report_bench." + random_hex(6));
  std::filesystem::create_directories(dir);
  auto tokens = TokenStore::open((dir / "tokens.json").string());
  if (!tokens.ok()) std::abort();
  auto token = tokens.value()->add("w-0001", "bench", "person");
  if (!token.ok()) std::abort();
  HeldIntake intake;
  ApiDeps deps;
  deps.org = &org();
  deps.tokens = tokens.value().get();
  deps.intake = &intake;
  ApiOptions options;
  options.rate_per_second = 0;
  Api api(std::move(deps), options);
  Router router(api_routes());
  auto match = router.match("POST", "/v1/reports");
  if (match.kind != Router::Match::Kind::Found) std::abort();
  int accepted = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    ApiRequest req;
    req.method = "POST";
    req.path = "/v1/reports";
    req.authorization = "Bearer " + token.value();
    req.content_type = "application/json";
    req.body = R"({"report_id":"bench-)" + std::to_string(++n) +
               R"(","grid":"jjbl-c1-g01","category":"sanitation","severity":2,"title":"垃圾堆积"})";
    api.handle(*match.route, std::move(req), [&](ApiResponse r) { accepted += r.status == 202; });
    intake.answer_all();
  }
  if (accepted != static_cast<int>(state.iterations())) std::abort();
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PostReport);

}  // namespace
}  // namespace gridcase::http

BENCHMARK_MAIN();
