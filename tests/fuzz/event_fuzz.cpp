// The input event parser and the runtime on arbitrary lines: a line is either rejected
// with a reason or applied; never a crash, never an exception.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "connectors/json_events.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"

namespace {

struct World {
  std::unique_ptr<gridcase::Engine> engine;
  gridcase::MemoryStore store;
  struct Sink : gridcase::EventSink {
    void emit(const gridcase::CaseEvent&) override {}
  } sink;
  std::unique_ptr<gridcase::Processor> proc;

  World() {
    gridcase::Diagnostics d;
    auto org = gridcase::load_org_text(R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: zhiduo
    name: 治多县
    level: county
    children:
      - id: jjbl
        name: 加吉博洛镇
        level: township
        children:
          - id: c1
            name: 第一社区
            level: village
            children:
              - { id: g1, name: 第一网格, level: grid }
people:
  - { id: w1, name: 才仁, unit: g1 }
)",
                                       "org.yaml", d);
    auto wf = gridcase::load_workflow_text(R"(apiVersion: gridcase/v1
kind: Workflow
name: w
levels: [grid, village, township, county]
sla: { grid: 1h }
sla_warning: 50%
correlate: { key: 'report.category + "@" + report.household', window: 2h }
vars: { n: 0 }
initial: a
states:
  a:
    sla: true
    timers: [{ after: 30m, event: tick, repeat: true }]
    on:
      opened: { goto: a }
      tick: { set: { n: '= case.n + 1' } }
      report: { when: 'case.report_count > 2', level: up }
      sla_expired: { level: up }
      go: { by: assignee, co_handle: 'event.note', notify: [co_handlers, county], goto: b }
  b:
    on:
      done: { goto: z }
  z:
    final: true
)",
                                           "w.yaml", &*org, d);
    std::vector<gridcase::Workflow> wfs;
    wfs.push_back(std::move(*wf));
    engine = std::make_unique<gridcase::Engine>(
        std::make_shared<const gridcase::Org>(std::move(*org)), std::move(wfs));
    proc = std::make_unique<gridcase::Processor>(*engine, store, sink);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;  // the engine is loaded once; each input is a fresh stream
  gridcase::MemoryStore store;
  world.proc = std::make_unique<gridcase::Processor>(*world.engine, store, world.sink);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Several lines per input, so sequences (report then actions) get explored.
  size_t start = 0;
  std::optional<gridcase::Timestamp> first;  // the time of the input's first applied event
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto ev =
        gridcase::json::parse_input_event(text.substr(start, end - start), world.engine->org());
    // A jump far ahead legitimately fires every repeat of every open timer on the way there
    // (millions from a year 1 to a year 9999, at one tick per 30 minutes); keep each input
    // to a week of virtual time after its first event, wherever that is.
    start = end + 1;
    constexpr int64_t kWeekMs = 7LL * 24 * 3600 * 1000;
    if (ev.ok() && first && ev->at.ms > first->ms && ev->at.ms - first->ms > kWeekMs) continue;
    if (ev.ok()) {
      if (!first) first = ev->at;
      auto v = world.proc->process(*ev);
      if (v.outcome == gridcase::Processor::Outcome::Bad && v.error.empty()) __builtin_trap();
    } else if (ev.error().message.empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
