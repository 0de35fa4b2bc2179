// Workflow versions in the engine: new cases open on the live (highest) version, a stored
// case decodes onto the version it was opened on and keeps following its rules; records
// stored before versions decode onto the live version.
#include <gtest/gtest.h>

#include "connectors/json_events.hpp"
#include "engine/codec.hpp"
#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"
#include "storage/workflow_registry.hpp"

#include <unistd.h>
#include <filesystem>
#include "tests/fixtures/contract_example.hpp"

namespace gridcase {
namespace {

std::string workflow(const std::string& remind) {
  return R"(apiVersion: gridcase/v1
kind: Workflow
name: small
levels: [grid, village, township, county]
sla:
  grid: 24h
initial: handling
states:
  handling:
    sla: true
    timers:
      - { after: )" +
         remind + R"(, event: remind, repeat: true }
    on:
      opened: {}
      remind: {}
      resolve: { goto: closed }
      sla_expired: { level: up }
  closed:
    final: true
)";
}

std::shared_ptr<const Org> org() {
  Diagnostics d;
  auto o = load_org_text(fixtures::kContractOrgYaml, "org.yaml", d);
  return std::make_shared<const Org>(std::move(*o));
}

Workflow version(const Org& o, const std::string& remind, int64_t v) {
  Diagnostics d;
  auto wf = load_workflow_text(workflow(remind), "small.yaml", &o, d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  wf->version = v;
  wf->hash = v == 0 ? "" : v == 1 ? "h1" : "h2";
  return std::move(*wf);
}

InputEvent report(const Org& o, const char* id, const char* at) {
  auto ev = json::parse_input_event(std::string(R"({"type": "report", "at": ")") + at +
                                        R"(", "report": {"report_id": ")" + id +
                                        R"(", "grid": "jjbl-c1-g01", "category": "road"}})",
                                    o);
  EXPECT_TRUE(ev.ok());
  return std::move(ev).value();
}

TEST(Versions, CasesKeepTheirVersion) {
  auto o = org();
  std::vector<Workflow> only_v1;
  only_v1.push_back(version(*o, "12h", 1));
  Engine e1(o, std::move(only_v1));

  // r-1 opens on v1 (remind every 12 h).
  Case c1;
  uint64_t seq = 0;
  StepResult out;
  Timestamp t0 = *parse_timestamp("2026-06-01T00:00:00Z");
  e1.open(c1, 0, report(*o, "r-1", "2026-06-01T00:00:00Z"), t0, seq, {}, out);
  std::string stored = encode_case(c1, e1);

  // v2 (remind every 6 h) is deployed: the engine has both, v2 live.
  std::vector<Workflow> both;
  both.push_back(version(*o, "6h", 2));
  both.push_back(version(*o, "12h", 1));
  Engine e2(o, std::move(both));
  EXPECT_EQ(e2.workflow_index("small"), 0);
  EXPECT_EQ(e2.workflow_index("small", 1), 1);
  EXPECT_EQ(e2.select_workflow(report(*o, "r-2", "2026-06-01T01:00:00Z"), t0, nullptr), 0);

  auto back = decode_case(stored, e2);
  ASSERT_TRUE(back.ok()) << back.error().message;
  Case c = std::move(back).value();
  EXPECT_EQ(c.workflow, 1);  // still v1
  EXPECT_EQ(e2.workflows()[c.workflow].version, 1);

  // Its reminder fires at 12:00 and, under v1's rules, comes back 12 h later (v2: 6 h).
  const PendingTimer* remind = nullptr;
  for (const auto& t : c.timers) {
    if (t.kind == PendingTimer::Kind::State) remind = &t;
  }
  ASSERT_NE(remind, nullptr);
  EXPECT_EQ(format_timestamp(remind->due), "2026-06-01T12:00:00Z");
  out.clear();
  ASSERT_TRUE(e2.fire(c, remind->seq, remind->due, seq, out));
  bool found = false;
  for (const auto& t : c.timers) {
    if (t.kind == PendingTimer::Kind::State) {
      EXPECT_EQ(format_timestamp(t.due), "2026-06-02T00:00:00Z");
      found = true;
    }
  }
  EXPECT_TRUE(found);

  // A new case opens on v2: reminders every 6 h.
  Case c2;
  out.clear();
  e2.open(c2, 0, report(*o, "r-2", "2026-06-01T01:00:00Z"),
          *parse_timestamp("2026-06-01T01:00:00Z"), seq, {}, out);
  for (const auto& t : c2.timers) {
    if (t.kind == PendingTimer::Kind::State) {
      EXPECT_EQ(format_timestamp(t.due), "2026-06-01T07:00:00Z");
    }
  }
  EXPECT_EQ(out.events[0].workflow, "small");  // case events name the workflow as before

  // The stored form names the version; an engine without v1 refuses the record with a reason.
  std::vector<Workflow> only_v2;
  only_v2.push_back(version(*o, "6h", 2));
  Engine e3(o, std::move(only_v2));
  auto refused = decode_case(stored, e3);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("version 1, which is not loaded"), std::string::npos);
}

TEST(Versions, UnversionedRecordsDecodeOntoTheLiveVersion) {
  auto o = org();
  std::vector<Workflow> files;
  files.push_back(version(*o, "12h", 0));  // loaded from a file, as before versions
  Engine e0(o, std::move(files));
  Case c;
  uint64_t seq = 0;
  StepResult out;
  e0.open(c, 0, report(*o, "r-1", "2026-06-01T00:00:00Z"), *parse_timestamp("2026-06-01T00:00:00Z"),
          seq, {}, out);
  std::string stored = encode_case(c, e0);
  EXPECT_NE(stored.find("small"), std::string::npos);
  EXPECT_EQ(stored.find("small@"), std::string::npos);  // byte-identical to the old format

  std::vector<Workflow> both;
  both.push_back(version(*o, "12h", 1));
  both.push_back(version(*o, "6h", 2));
  Engine e2(o, std::move(both));
  auto back = decode_case(stored, e2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(e2.workflows()[back->workflow].version, 2);
}

// ------------------------------------------------------------------ migration

std::string sla_workflow(const std::string& grid_sla, const std::string& calendar = "") {
  return R"(apiVersion: gridcase/v1
kind: Workflow
name: small
levels: [grid, village, township, county]
)" + calendar +
         "sla:\n  grid: " + grid_sla + R"(
vars: { n: 0 }
initial: handling
states:
  handling:
    sla: true
    on:
      opened: {}
      resolve: { goto: closed }
      sla_expired: { level: up, set: { n: '= case.n + 1' } }
  closed:
    final: true
)";
}

Workflow load(const Org& o, const std::string& text, int64_t v) {
  Diagnostics d;
  auto wf = load_workflow_text(text, GRIDCASE_SOURCE_DIR "/workflows/small.yaml", &o, d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  wf->version = v;
  return std::move(*wf);
}

struct Collect : EventSink {
  std::vector<CaseEvent> events;
  void emit(const CaseEvent& e) override { events.push_back(e); }
};

const PendingTimer* sla_timer(const Case& c) {
  for (const auto& t : c.timers) {
    if (t.kind == PendingTimer::Kind::SlaExpiry) return &t;
  }
  return nullptr;
}

// Opens r-1 at `open_at` on v1, migrates it at `migrate_at` to v2; returns the migrated case.
Case migrated(const std::string& v1, const std::string& v2, const char* open_at,
              const char* migrate_at, Collect& sink, MemoryStore& store, Engine*& engine_out) {
  auto o = org();
  std::vector<Workflow> wfs;
  wfs.push_back(load(*o, v1, 1));
  wfs.push_back(load(*o, v2, 2));
  static std::unique_ptr<Engine> engine;
  engine = std::make_unique<Engine>(o, std::move(wfs));
  engine_out = engine.get();
  Processor proc(*engine, store, sink);
  EXPECT_TRUE(proc.init().ok());
  // Open on v1 directly (v2 is live): the case as v1 would have opened it.
  Case c;
  uint64_t seq = 100;
  StepResult out;
  Timestamp t0 = *parse_timestamp(open_at);
  engine->open(c, 0, report(*o, "r-1", open_at), t0, seq, {}, out);
  store.save(c);
  for (const auto& t : out.timers) store.add_timer(t.due, t.seq, c.id);
  EXPECT_TRUE(proc.advance_to(*parse_timestamp(migrate_at)).ok());
  std::string why;
  auto r = proc.migrate("r-1", 1, &why);
  EXPECT_TRUE(r.ok() && r.value()) << why;
  auto back = store.load("r-1");
  return back.ok() && back.value() ? *back.value() : Case{};
}

TEST(Migrate, WallClockSlaCountsTheTimeAlreadySpent) {
  Collect sink;
  MemoryStore store;
  Engine* e = nullptr;
  // 24 h at the grid in v1, 12 h in v2; migrated 10 h after opening: due 2 h later.
  Case c = migrated(sla_workflow("24h"), sla_workflow("12h"), "2026-06-01T00:00:00Z",
                    "2026-06-01T10:00:00Z", sink, store, e);
  EXPECT_EQ(e->workflows()[c.workflow].version, 2);
  ASSERT_NE(sla_timer(c), nullptr);
  EXPECT_EQ(format_timestamp(sla_timer(c)->due), "2026-06-01T12:00:00Z");
  ASSERT_FALSE(sink.events.empty());
  const CaseEvent& m = sink.events.back();
  EXPECT_EQ(m.type, "migrated");
  EXPECT_EQ(m.at, *parse_timestamp("2026-06-01T10:00:00Z"));
  EXPECT_EQ(m.extra[0].second, Value(int64_t{1}));
  EXPECT_EQ(m.extra[1].second, Value(int64_t{2}));
  EXPECT_EQ(m.seq, 3);  // after opened and the opened transition
  // The old v1 deadline (24:00) no longer fires: the store's next timer is the new one.
  auto next = store.next_timer();
  ASSERT_TRUE(next);
  EXPECT_EQ(format_timestamp(next->due), "2026-06-01T12:00:00Z");
}

TEST(Migrate, APassedDeadlineFiresAtOnce) {
  Collect sink;
  MemoryStore store;
  Engine* e = nullptr;
  Case c = migrated(sla_workflow("24h"), sla_workflow("6h"), "2026-06-01T00:00:00Z",
                    "2026-06-01T10:00:00Z", sink, store, e);
  ASSERT_NE(sla_timer(c), nullptr);
  EXPECT_EQ(format_timestamp(sla_timer(c)->due), "2026-06-01T06:00:00Z");  // already due
}

const std::string kCalendar = "calendar: " GRIDCASE_SOURCE_DIR "/config/calendar-2026.yaml\n";

// To a working-time SLA: the time spent since the case reached its level is counted in
// working time, across a holiday and a make-up working day.
TEST(Migrate, ToWorkingTimeAcrossAMakeUpDay) {
  Collect sink;
  MemoryStore store;
  Engine* e = nullptr;
  // Opened Friday 13 February 17:00 (Beijing); 1 working day = 7 h: 1 h on Friday, then
  // Saturday 14th is a make-up working day: due Saturday 17:00 (09:00Z). Migrated Saturday
  // 10:00 Beijing.
  Case c = migrated(sla_workflow("48h"), sla_workflow("1d working", kCalendar),
                    "2026-02-13T09:00:00Z", "2026-02-14T02:00:00Z", sink, store, e);
  ASSERT_NE(sla_timer(c), nullptr);
  EXPECT_EQ(format_timestamp(sla_timer(c)->due), "2026-02-14T09:00:00Z");
}

TEST(Migrate, ToWorkingTimeAcrossAWeekendAndAHoliday) {
  Collect sink;
  MemoryStore store;
  Engine* e = nullptr;
  // Opened Thursday 24 September 17:00 Beijing, before the Mid-Autumn Festival (25-27, Friday
  // to Sunday): 1 h on Thursday, 6 h on Monday 28th: due 17:00 Beijing (09:00Z).
  Case c = migrated(sla_workflow("48h"), sla_workflow("1d working", kCalendar),
                    "2026-09-24T09:00:00Z", "2026-09-25T02:00:00Z", sink, store, e);
  ASSERT_NE(sla_timer(c), nullptr);
  EXPECT_EQ(format_timestamp(sla_timer(c)->due), "2026-09-28T09:00:00Z");
}

TEST(Migrate, RefusedWhenTheStateIsMissing) {
  auto o = org();
  std::string v2 = sla_workflow("12h");
  size_t at = v2.find("  handling:");
  v2.replace(at, 11, "  working:");
  v2.replace(v2.find("initial: handling"), 17, "initial: working");
  std::vector<Workflow> wfs;
  wfs.push_back(load(*o, sla_workflow("24h"), 1));
  wfs.push_back(load(*o, v2, 2));
  Engine e(o, std::move(wfs));
  Case c;
  uint64_t seq = 0;
  StepResult out;
  Timestamp t0 = *parse_timestamp("2026-06-01T00:00:00Z");
  e.open(c, 0, report(*o, "r-1", "2026-06-01T00:00:00Z"), t0, seq, {}, out);
  Case before = c;
  out.clear();
  std::string why;
  EXPECT_FALSE(e.migrate(c, 1, t0, seq, out, &why));
  EXPECT_EQ(why, "state 'handling' does not exist in version 2");
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(c.workflow, before.workflow);
  EXPECT_EQ(c.timers.size(), before.timers.size());
}

// ------------------------------------------------------------------ hot reload

TEST(HotReload, NewVersionsJoinARunningEngine) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gridcase-reload-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto o = org();
  std::vector<Workflow> v1;
  v1.push_back(version(*o, "12h", 1));
  Engine engine(o, std::move(v1));
  MemoryStore store;
  Collect sink;
  Processor proc(engine, store, sink);
  ASSERT_TRUE(proc.init().ok());
  ASSERT_EQ(proc.process(report(*o, "r-1", "2026-06-01T00:00:00Z")).outcome,
            Processor::Outcome::Applied);
  {
    auto reg = WorkflowRegistry::open(dir.string());
    ASSERT_TRUE(reg.ok());
    WorkflowVersion a{"small", 1, "h1", "small.yaml", workflow("12h"), "", "t"};
    WorkflowVersion b{"small", 2, "h2", "small.yaml", workflow("6h"), "", "t"};
    ASSERT_TRUE(reg.value()->record({a, b}, {}).ok());
  }
  // Read-only, as serve looks between batches; only v2 is new.
  auto reg = WorkflowRegistry::open_read_only(dir.string());
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  Diagnostics d;
  auto more = new_versions(*reg.value(), engine, d);
  ASSERT_TRUE(more);
  ASSERT_EQ(more->size(), 1u);
  engine.add_versions(std::move(*more));
  ASSERT_EQ(proc.process(report(*o, "r-2", "2026-06-01T01:00:00Z")).outcome,
            Processor::Outcome::Applied);
  auto c1 = store.load("r-1");
  auto c2 = store.load("r-2");
  ASSERT_TRUE(c1.ok() && c1.value() && c2.ok() && c2.value());
  EXPECT_EQ(engine.workflows()[c1.value()->workflow].version, 1);  // keeps its version
  EXPECT_EQ(engine.workflows()[c2.value()->workflow].version, 2);  // the new live one
  // Nothing new the second time.
  Diagnostics d2;
  auto none = new_versions(*reg.value(), engine, d2);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  reg = err("closed");  // closes the database before the directory goes
  fs::remove_all(dir);
}

TEST(HotReload, AVersionThatDoesNotLoadHereIsNotTaken) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gridcase-reload-bad-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto o = org();
  std::vector<Workflow> v1;
  v1.push_back(version(*o, "12h", 1));
  Engine engine(o, std::move(v1));
  {
    auto reg = WorkflowRegistry::open(dir.string());
    ASSERT_TRUE(reg.ok());
    std::string text = workflow("6h");
    text.replace(text.find("levels: [grid, village, township, county]"), 41,
                 "levels: [grid, district]");
    WorkflowVersion b{"small", 2, "h2", "small.yaml", text, "", "t"};
    ASSERT_TRUE(reg.value()->record({b}, {}).ok());
  }
  auto reg = WorkflowRegistry::open_read_only(dir.string());
  ASSERT_TRUE(reg.ok());
  Diagnostics d;
  EXPECT_FALSE(new_versions(*reg.value(), engine, d));
  ASSERT_TRUE(d.has_errors());
  EXPECT_NE(d.all()[0].format().find("small.yaml:4:16: error: unknown level 'district'"),
            std::string::npos)
      << d.all()[0].format();
  EXPECT_EQ(engine.workflows().size(), 1u);
  reg = err("closed");  // closes the database before the directory goes
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gridcase
