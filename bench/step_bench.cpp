// The step function in memory, and the runtime over the in-memory store.
// Figures: events per second (items_per_second).
#include <benchmark/benchmark.h>

#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"
#include "tests/fixtures/contract_example.hpp"

namespace gridcase {
namespace {

const char* kOrg = fixtures::kContractOrgYaml;
const char* kWorkflow = fixtures::kContractWorkflowYaml;

Engine make_engine() {
  Diagnostics d;
  auto org = load_org_text(kOrg, "org.yaml", d);
  auto wf = load_workflow_text(kWorkflow, "wf.yaml", &*org, d);
  std::vector<Workflow> wfs;
  wfs.push_back(std::move(*wf));
  return Engine(std::make_shared<const Org>(std::move(*org)), std::move(wfs));
}

InputEvent report_event(int64_t i) {
  InputEvent ev;
  ev.type = InputEvent::Type::Report;
  ev.at = Timestamp{1780000000000 + i * 1000};
  ev.report_id = "r-" + std::to_string(i);
  ev.grid = "jjbl-c1-g01";
  ev.category = "sanitation";
  ev.report = Value(Map{{"report_id", Value(ev.report_id)},
                        {"grid", Value(ev.grid)},
                        {"category", Value(ev.category)},
                        {"severity", Value(2)},
                        {"household", Value("h-" + std::to_string(i))}});
  return ev;
}

InputEvent action_event(const std::string& case_id, const char* action, const char* actor,
                        Timestamp at) {
  InputEvent ev;
  ev.type = InputEvent::Type::Action;
  ev.at = at;
  ev.case_id = case_id;
  ev.grid = "jjbl-c1-g01";
  ev.action = action;
  ev.actor = Value(actor);
  return ev;
}

// The pure step function: open, resolve, verify (3 events per iteration).
void BM_StepFunction(benchmark::State& state) {
  Engine engine = make_engine();
  uint64_t timer_seq = 0;
  StepResult out;
  int64_t i = 0;
  for (auto _ : state) {
    InputEvent r = report_event(i++);
    Case c;
    engine.open(c, 0, r, r.at, timer_seq, {}, out);
    engine.act(c, action_event(c.id, "resolve", "w-0001", r.at), r.at, timer_seq, out);
    engine.act(c, action_event(c.id, "verify", "s-0101", r.at), r.at, timer_seq, out);
    benchmark::DoNotOptimize(c.seq);
    out.clear();
  }
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_StepFunction);

class NullSink final : public EventSink {
 public:
  void emit(const CaseEvent& e) override { benchmark::DoNotOptimize(e.seq); }
};

// The runtime over the in-memory store: routing, dedupe, correlation, timers, store writes.
void BM_ProcessorInMemory(benchmark::State& state) {
  Engine engine = make_engine();
  MemoryStore store;
  NullSink sink;
  Processor proc(engine, store, sink);
  (void)proc.init();
  int64_t i = 0;
  for (auto _ : state) {
    InputEvent r = report_event(i++);
    proc.process(r);
    proc.process(action_event(r.report_id, "resolve", "w-0001", r.at));
    proc.process(action_event(r.report_id, "verify", "s-0101", r.at));
  }
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(BM_ProcessorInMemory);

}  // namespace
}  // namespace gridcase

BENCHMARK_MAIN();
