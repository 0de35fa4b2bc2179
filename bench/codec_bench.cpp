// The JSON edges of the engine on generated input (config/org.yaml, the generator's mix):
// parsing an input event into the engine's InputEvent, against nlohmann's own parse of the
// same lines (the baseline in the same run); formatting case events.
// Figures: items_per_second; the ratio parse_input_event / nlohmann parse is the cost of
// validation and conversion on top of the parser.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "connectors/json_events.hpp"
#include "engine/case.hpp"
#include "engine/org.hpp"
#include "engine/time.hpp"
#include "generator/generator.hpp"

namespace gridcase {
namespace {

struct Input {
  Org org;
  std::vector<std::string> lines;
};

const Input& input() {
  static const Input in = [] {
    Diagnostics d;
    auto org = load_org_file(GRIDCASE_SOURCE_DIR "/config/org.yaml", d);
    if (!org) std::abort();
    gen::Options opt;
    opt.events = 20000;
    opt.seed = 7;
    opt.action_share = 0.7;
    std::ostringstream out;
    gen::generate(*org, opt, out);
    Input r{std::move(*org), {}};
    std::istringstream lines(out.str());
    for (std::string l; std::getline(lines, l);) r.lines.push_back(l);
    return r;
  }();
  return in;
}

void BM_NlohmannParse(benchmark::State& state) {
  const auto& in = input();
  size_t i = 0;
  for (auto _ : state) {
    auto j = nlohmann::json::parse(in.lines[i++ % in.lines.size()], nullptr, false);
    benchmark::DoNotOptimize(j.is_discarded());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannParse);

void BM_ParseInputEvent(benchmark::State& state) {
  const auto& in = input();
  size_t i = 0;
  for (auto _ : state) {
    auto ev = json::parse_input_event(in.lines[i++ % in.lines.size()], in.org);
    if (!ev.ok()) state.SkipWithError(ev.error().message.c_str());
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseInputEvent);

// A level_changed event of the bench mix (the most common kind after opened).
CaseEvent sample_event() {
  CaseEvent e;
  e.case_id = "r-00000002";
  e.seq = 3;
  e.type = "level_changed";
  e.at = *parse_timestamp("2099-06-01T00:01:47Z");
  e.workflow = "grid-escalation";
  e.state = "handling";
  e.level = "village";
  e.unit = "zh-v1";
  e.trigger = "opened";
  e.extra = {{"from_level", Value("grid")},
             {"to_level", Value("village")},
             {"from_unit", Value("zh-v1-g03")},
             {"to_unit", Value("zh-v1")}};
  return e;
}

void BM_CaseEventLine(benchmark::State& state) {
  const CaseEvent e = sample_event();
  for (auto _ : state) {
    auto line = json::case_event_line(e);
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CaseEventLine);

// The baseline: nlohmann's dump of the same fields in the same order.
void BM_CaseEventNlohmannDump(benchmark::State& state) {
  const CaseEvent e = sample_event();
  for (auto _ : state) {
    nlohmann::ordered_json j;
    j["case_id"] = e.case_id;
    j["seq"] = e.seq;
    j["type"] = e.type;
    j["at"] = format_timestamp(e.at);
    j["workflow"] = e.workflow;
    j["state"] = e.state;
    j["level"] = e.level;
    j["unit"] = e.unit;
    j["trigger"] = e.trigger;
    for (const auto& [k, v] : e.extra) j[k] = v.as_string();
    auto line = j.dump();
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CaseEventNlohmannDump);

}  // namespace
}  // namespace gridcase

BENCHMARK_MAIN();
