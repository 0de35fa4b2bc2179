// The step function and the runtime (workflow-dsl.md, interfaces.md), driven through
// Processor over a MemoryStore with a collecting sink, input events parsed from JSON as
// every channel does. Workflows are written inline.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/json_events.hpp"
#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"

namespace gridcase {

// Readable values in failure messages (found by argument-dependent lookup).
void PrintTo(const Value& v, std::ostream* os) {
  *os << v.debug_string();
}
void PrintTo(const Timestamp& t, std::ostream* os) {
  *os << format_timestamp(t);
}

namespace {

// ---------------------------------------------------------------- fixtures

// A tree with a skipped level: g4 sits directly under township t2.
const char* kOrgText = R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: cty
    name: 县
    level: county
    children:
      - id: t1
        name: 镇一
        level: township
        children:
          - id: v1
            name: 村一
            level: village
            children:
              - { id: g1, name: 网格一, level: grid }
              - { id: g2, name: 网格二, level: grid }
          - id: v2
            name: 村二
            level: village
            children:
              - { id: g3, name: 网格三, level: grid }
      - id: t2
        name: 镇二
        level: township
        children:
          - { id: g4, name: 网格四, level: grid }
people:
  - { id: w1, name: A, unit: g1 }
  - { id: w2, name: B, unit: g2 }
  - { id: w3, name: C, unit: g3 }
  - { id: w4, name: D, unit: g4 }
  - { id: s1, name: E, unit: v1 }
  - { id: s2, name: F, unit: v2 }
  - { id: o1, name: G, unit: t1 }
  - { id: o2, name: H, unit: t2 }
  - { id: c1, name: I, unit: cty }
)";

const Timestamp kBase = [] {
  auto t = parse_timestamp("2026-06-01T00:00:00Z");
  return t.ok() ? *t : Timestamp{};
}();

constexpr int64_t H(int64_t hours) {
  return hours * 60;
}  // minutes
Timestamp T(int64_t minutes) {
  return kBase + Duration{minutes * 60000};
}
std::string ts(int64_t minutes) {
  return format_timestamp(T(minutes));
}

std::string wf(const std::string& name, const std::string& rest) {
  return "apiVersion: gridcase/v1\nkind: Workflow\nname: " + name + "\n" + rest;
}
const std::string kLadder = "levels: [grid, village, township, county]\n";

// "LINE:COL" of the first occurrence of `needle` in `text` (ASCII text).
std::string loc(std::string_view text, std::string_view needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  if (at == std::string_view::npos) return "?:?";
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

class Collect final : public EventSink {
 public:
  void emit(const CaseEvent& e) override { events.push_back(e); }
  std::vector<CaseEvent> events;
};

using Outcome = Processor::Outcome;

struct Rep {
  std::string id;
  int64_t at = 0;          // minutes after kBase
  std::string extra = "";  // more report fields, starting with ", "
  std::string grid = "g1";
  std::string category = "misc";
};

struct Act {
  std::string case_id;
  std::string action;
  int64_t at = 0;
  std::string actor = "";  // omitted when empty
  std::string extra = "";  // more fields, starting with ", "
};

class Sim {
 public:
  explicit Sim(const std::vector<std::string>& workflow_texts) {
    Diagnostics d;
    auto org = load_org_text(kOrgText, "org.yaml", d);
    if (!org) {
      ADD_FAILURE() << "org does not load";
      return;
    }
    org_ = std::make_shared<const Org>(std::move(*org));
    load(workflow_texts);
  }

  // Replaces the workflows (a redeploy), keeping the store and the clock.
  void load(const std::vector<std::string>& workflow_texts) {
    if (proc_) (void)proc_->commit();
    std::vector<Workflow> wfs;
    for (size_t i = 0; i < workflow_texts.size(); ++i) {
      Diagnostics d;
      auto w = load_workflow_text(workflow_texts[i], file(i), org_.get(), d);
      for (const auto& x : d.all()) {
        if (x.severity == Diagnostic::Severity::Error) ADD_FAILURE() << x.format();
      }
      if (w) wfs.push_back(std::move(*w));
    }
    proc_.reset();
    engine_ = std::make_unique<Engine>(org_, std::move(wfs));
    proc_ = std::make_unique<Processor>(*engine_, store, sink);
    auto r = proc_->init();
    EXPECT_TRUE(r.ok());
  }

  static std::string file(size_t i) { return "wf" + std::to_string(i) + ".yaml"; }

  // One input line, parsed as the channels do; a parse failure is Bad.
  Processor::Verdict line(const std::string& json) {
    auto ev = json::parse_input_event(json, *org_);
    if (!ev.ok()) {
      Processor::Verdict v;
      v.outcome = Outcome::Bad;
      v.error = "parse: " + ev.error().message;
      return v;
    }
    return proc_->process(*ev);
  }

  Processor::Verdict report(const Rep& r) {
    return line(R"({"type": "report", "at": ")" + ts(r.at) + R"(", "report": {"report_id": ")" +
                r.id + R"(", "grid": ")" + r.grid + R"(", "category": ")" + r.category + "\"" +
                r.extra + "}}");
  }

  Processor::Verdict act(const Act& a) {
    std::string s = R"({"type": "action", "at": ")" + ts(a.at) + R"(", "case_id": ")" + a.case_id +
                    R"(", "action": ")" + a.action + "\"";
    if (!a.actor.empty()) s += R"(, "actor": ")" + a.actor + "\"";
    return line(s + a.extra + "}");
  }

  // Applies the action and returns the type of the last case event it wrote ("" if none).
  std::string outcome_of(const Act& a) {
    take();
    auto v = act(a);
    EXPECT_EQ(v.outcome, Outcome::Applied) << v.error;
    auto evs = take();
    return evs.empty() ? "" : evs.back().type;
  }

  void until(int64_t minutes) { EXPECT_TRUE(proc_->advance_to(T(minutes)).ok()); }

  // The case events written since the last take().
  std::vector<CaseEvent> take() {
    std::vector<CaseEvent> out(sink.events.begin() + static_cast<long>(taken_), sink.events.end());
    taken_ = sink.events.size();
    return out;
  }

  Case get(const std::string& id) {
    auto r = store.load(id);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.ok() && r.value().has_value()) << "no case " << id;
    return r.ok() && r.value() ? *r.value() : Case{};
  }

  Value var(const std::string& id, const std::string& name) {
    Case c = get(id);
    if (c.workflow < 0) return Value("<no case>");
    int i = engine_->workflows()[c.workflow].var_index(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? c.vars[i] : Value("<no var>");
  }

  std::vector<std::string> co_handlers(const std::string& id) {
    std::vector<std::string> out;
    for (UnitIdx u : get(id).co_handlers) out.push_back(org_->units[u].id);
    return out;
  }

  Processor& proc() { return *proc_; }
  const Org& org() const { return *org_; }

  MemoryStore store;
  Collect sink;

 private:
  std::shared_ptr<const Org> org_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Processor> proc_;
  size_t taken_ = 0;
};

std::vector<std::string> types(const std::vector<CaseEvent>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(e.type);
  return out;
}

std::vector<CaseEvent> of_case(const std::vector<CaseEvent>& evs, const std::string& id) {
  std::vector<CaseEvent> out;
  for (const auto& e : evs) {
    if (e.case_id == id) out.push_back(e);
  }
  return out;
}

// A field of a case event as text: the common fields, or an extra one (strings bare,
// times formatted, null as "null", "<missing>" when absent).
std::string f(const CaseEvent& e, std::string_view key) {
  if (key == "case_id") return e.case_id;
  if (key == "seq") return std::to_string(e.seq);
  if (key == "type") return e.type;
  if (key == "at") return format_timestamp(e.at);
  if (key == "workflow") return e.workflow;
  if (key == "state") return e.state;
  if (key == "level") return e.level;
  if (key == "unit") return e.unit;
  if (key == "trigger") return e.trigger;
  for (const auto& [k, v] : e.extra) {
    if (k != key) continue;
    if (v.is_string()) return v.as_string();
    if (v.is_timestamp()) return format_timestamp(v.as_timestamp());
    if (v.is_null()) return "null";
    return v.debug_string();
  }
  return "<missing>";
}

std::vector<std::string> fs(const std::vector<CaseEvent>& evs, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(f(e, key));
  return out;
}

using Strings = std::vector<std::string>;

#define EXPECT_APPLIED(expr)                             \
  do {                                                   \
    auto v_ = (expr);                                    \
    EXPECT_EQ(v_.outcome, Outcome::Applied) << v_.error; \
  } while (0)
#define EXPECT_BAD(expr)                 \
  do {                                   \
    auto v_ = (expr);                    \
    EXPECT_EQ(v_.outcome, Outcome::Bad); \
    EXPECT_FALSE(v_.error.empty());      \
  } while (0)
#define EXPECT_DUPLICATE(expr)                             \
  do {                                                     \
    auto v_ = (expr);                                      \
    EXPECT_EQ(v_.outcome, Outcome::Duplicate) << v_.error; \
  } while (0)

// ================================================================ opening and event order

TEST(StepOpen, OpenedEventAndPlacement) {
  Sim sim({wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 90, .category = "noise"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"opened", "transition"}));
  const CaseEvent& o = evs[0];
  EXPECT_EQ(o.case_id, "r1");  // the case id is the opening report's id
  EXPECT_EQ(o.seq, 1);
  EXPECT_EQ(f(o, "at"), ts(90));
  EXPECT_EQ(o.workflow, "t");
  EXPECT_EQ(o.state, "a");
  EXPECT_EQ(o.level, "grid");  // a new case starts at the lowest level of the ladder
  EXPECT_EQ(o.unit, "g1");
  EXPECT_EQ(o.trigger, "opened");
  EXPECT_EQ(f(o, "report_id"), "r1");
  EXPECT_EQ(f(o, "category"), "noise");
  EXPECT_EQ(f(o, "grid"), "g1");
  EXPECT_EQ(f(evs[1], "from_state"), "a");
  EXPECT_EQ(f(evs[1], "to_state"), "a");  // a transition without goto
  EXPECT_EQ(evs[1].seq, 2);
  Case c = sim.get("r1");
  EXPECT_EQ(c.report_count, 1);
  EXPECT_FALSE(c.closed);
  EXPECT_EQ(c.opened_at, T(90));
}

TEST(StepOpen, LadderStartingAboveTheGrid) {
  Sim sim({wf(
      "t", "levels: [village, county]\ninitial: a\nstates:\n  a:\n    on:\n      opened: {}\n")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  auto evs = sim.take();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].level, "village");
  EXPECT_EQ(evs[0].unit, "v1");
}

TEST(StepOpen, NoTransitionForOpenedIsARejection) {
  Sim sim({wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      x: {}\n")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"opened", "event_rejected"}));
  EXPECT_NE(f(evs[1], "reason"), "<missing>");
  EXPECT_EQ(evs[1].trigger, "opened");
}

TEST(StepOrder, EveryKindInOneStepInContractOrder) {
  const std::string text = wf("t", kLadder + R"(vars: { n: 1, m: 0 }
initial: a
states:
  a:
    on:
      opened:
        set: { n: '= case.n / 0', m: 2 }
        co_handle: '"t2"'
        level: township
        notify: [county, assignee, 'unit:t2', co_handlers]
        goto: done
  done:
    final: true
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 30}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs),
            (Strings{"opened", "rule_error", "transition", "level_changed", "co_handler_added",
                     "notified", "notified", "notified", "closed"}));
  for (size_t i = 0; i < evs.size(); ++i) {
    SCOPED_TRACE(i);
    const CaseEvent& e = evs[i];
    EXPECT_EQ(e.case_id, "r1");
    EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(f(e, "at"), ts(30));
    EXPECT_EQ(e.workflow, "t");
    // The values after the step, on every event of the step.
    EXPECT_EQ(e.state, "done");
    EXPECT_EQ(e.level, "township");
    EXPECT_EQ(e.unit, "t1");
    EXPECT_EQ(e.trigger, "opened");
  }
  EXPECT_EQ(f(evs[1], "location").rfind("wf0.yaml:" + loc(text, "/ 0"), 0), 0u)
      << f(evs[1], "location");
  EXPECT_NE(f(evs[1], "message"), "<missing>");
  EXPECT_EQ(f(evs[2], "from_state"), "a");
  EXPECT_EQ(f(evs[2], "to_state"), "done");
  EXPECT_EQ(f(evs[3], "from_level"), "grid");
  EXPECT_EQ(f(evs[3], "to_level"), "township");
  EXPECT_EQ(f(evs[3], "from_unit"), "g1");
  EXPECT_EQ(f(evs[3], "to_unit"), "t1");
  EXPECT_EQ(f(evs[4], "co_unit"), "t2");
  std::vector<CaseEvent> notified(evs.begin() + 5, evs.begin() + 8);
  EXPECT_EQ(fs(notified, "target_unit"), (Strings{"cty", "t1", "t2"}));
  EXPECT_EQ(fs(notified, "target_level"), (Strings{"county", "township", "township"}));
  EXPECT_EQ(sim.var("r1", "n"), Value(1));  // the failing value is skipped
  EXPECT_EQ(sim.var("r1", "m"), Value(2));  // the others still apply
  EXPECT_TRUE(sim.get("r1").closed);
}

TEST(StepOrder, RuleErrorsInEvaluationOrder) {
  const std::string text = wf("t", kLadder + R"(vars: { n: 1, m: 0 }
initial: a
states:
  a:
    on:
      opened:
        - when: 'case.n / 0 == 1'
          goto: b
        - set: { m: '= case.n % 0' }
          co_handle: 'case.n / 0 + 1'
          goto: b
  b:
    on:
      x: {}
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs),
            (Strings{"opened", "rule_error", "rule_error", "rule_error", "transition"}));
  EXPECT_EQ(f(evs[1], "location"), "wf0.yaml:" + loc(text, "/ 0 == 1"));
  EXPECT_EQ(f(evs[2], "location"), "wf0.yaml:" + loc(text, "% 0"));
  EXPECT_EQ(f(evs[3], "location"), "wf0.yaml:" + loc(text, "/ 0 + 1"));
  EXPECT_EQ(evs[4].state, "b");
}

TEST(StepOrder, RejectionComesLastAfterRuleErrors) {
  const std::string text = wf("t", kLadder + R"(vars: { n: 1 }
initial: a
states:
  a:
    on:
      opened: {}
      poke:
        when: 'case.n / 0 == 1'
        goto: b
  b:
    on:
      x: {}
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "poke", .at = 5}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"rule_error", "event_rejected"}));
  EXPECT_EQ(evs[0].seq, 3);
  EXPECT_EQ(evs[1].seq, 4);
  EXPECT_EQ(evs[1].state, "a");
  EXPECT_EQ(evs[1].trigger, "poke");
  EXPECT_EQ(f(evs[1], "at"), ts(5));
}

TEST(StepOrder, SlaBreachThenRuleErrorThenTransition) {
  const std::string text = wf("t", kLadder + R"(sla: { grid: 10h, village: 20h }
vars: { n: 1 }
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_expired:
        - when: 'case.n / 0 == 1'
          goto: a
        - level: up
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(10));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_breached", "rule_error", "transition", "level_changed"}));
  for (const auto& e : evs) {
    EXPECT_EQ(e.trigger, "sla_expired");
    EXPECT_EQ(e.level, "village");
    EXPECT_EQ(e.unit, "v1");
    EXPECT_EQ(f(e, "at"), ts(H(10)));
  }
  EXPECT_EQ(f(evs[0], "due_at"), ts(H(10)));
  EXPECT_EQ(fs(evs, "seq"), (Strings{"3", "4", "5", "6"}));
}

TEST(StepOrder, MergeThenRuleErrorThenTransition) {
  const std::string text = wf("t", kLadder + R"(correlate: { key: 'report.household', window: 2h }
vars: { n: 1 }
initial: a
states:
  a:
    on:
      opened: {}
      report:
        - when: 'case.n / 0 == 1'
        - level: up
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = R"(, "household": "h1")"}));
  sim.take();
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = R"(, "household": "h1")"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"report_merged", "rule_error", "transition", "level_changed"}));
  EXPECT_EQ(f(evs[0], "report_id"), "r2");
  for (const auto& e : evs) {
    EXPECT_EQ(e.case_id, "r1");
    EXPECT_EQ(e.trigger, "report");
    EXPECT_EQ(e.level, "village");
  }
  EXPECT_EQ(fs(evs, "seq"), (Strings{"3", "4", "5", "6"}));
}

TEST(StepOrder, SeqCountsPerCaseWithoutGaps) {
  Sim sim(
      {wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n      x: {}\n")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 1, .grid = "g2"}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = 2}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "nothing", .at = 3}));
  EXPECT_APPLIED(sim.act({.case_id = "r2", .action = "x", .at = 4}));
  auto evs = sim.take();
  EXPECT_EQ(fs(of_case(evs, "r1"), "seq"), (Strings{"1", "2", "3", "4"}));
  EXPECT_EQ(fs(of_case(evs, "r2"), "seq"), (Strings{"1", "2", "3"}));
}

// ================================================================ by

const std::string kByWorkflow = wf("t", kLadder + R"(initial: a
states:
  a:
    on:
      opened: {}
      up: { level: up }
      co: { co_handle: 'event.data.unit' }
      asg: { by: assignee }
      sup: { by: supervisor }
      coh: { by: co_handler }
      anyone: { by: any }
      dflt: {}
      either: { by: [supervisor, co_handler] }
      pick:
        - { by: supervisor, goto: b }
        - { by: assignee, goto: c }
  b:
    on:
      x: {}
  c:
    on:
      x: {}
)");

class StepBy : public ::testing::Test {
 protected:
  StepBy() : sim({kByWorkflow}) {}
  void SetUp() override {
    EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
    sim.take();
  }
  std::string run(const std::string& action, const std::string& actor,
                  const std::string& extra = "") {
    return sim.outcome_of(
        {.case_id = "r1", .action = action, .at = ++t, .actor = actor, .extra = extra});
  }
  Sim sim;
  int64_t t = 0;
};

TEST_F(StepBy, AssigneeIsTheCurrentUnitAndItsSubtree) {
  EXPECT_EQ(run("asg", "w1"), "transition");
  EXPECT_EQ(run("asg", "w2"), "event_rejected");  // a sibling grid
  EXPECT_EQ(run("asg", "s1"), "event_rejected");  // above the current unit
  EXPECT_EQ(run("up", ""), "level_changed");      // now at village v1
  EXPECT_EQ(run("asg", "s1"), "transition");
  EXPECT_EQ(run("asg", "w1"), "transition");
  EXPECT_EQ(run("asg", "w2"), "transition");
  EXPECT_EQ(run("asg", "w3"), "event_rejected");  // another village's grid
  EXPECT_EQ(run("asg", "o1"), "event_rejected");
}

TEST_F(StepBy, SupervisorIsAStrictAncestor) {
  EXPECT_EQ(run("sup", "s1"), "transition");
  EXPECT_EQ(run("sup", "o1"), "transition");
  EXPECT_EQ(run("sup", "c1"), "transition");
  EXPECT_EQ(run("sup", "w1"), "event_rejected");  // the unit itself is not its supervisor
  EXPECT_EQ(run("sup", "s2"), "event_rejected");  // another village
  EXPECT_EQ(run("sup", "o2"), "event_rejected");  // another township
  EXPECT_EQ(run("up", ""), "level_changed");      // village v1
  EXPECT_EQ(run("sup", "s1"), "event_rejected");
  EXPECT_EQ(run("sup", "w1"), "event_rejected");
  EXPECT_EQ(run("sup", "o1"), "transition");
}

TEST_F(StepBy, CoHandlerIsACoHandlerUnitAndItsSubtree) {
  EXPECT_EQ(run("coh", "o2"), "event_rejected");
  EXPECT_EQ(run("co", "", R"(, "data": {"unit": "t2"})"), "co_handler_added");
  EXPECT_EQ(run("coh", "o2"), "transition");
  EXPECT_EQ(run("coh", "w4"), "transition");  // g4 lies under t2
  EXPECT_EQ(run("coh", "w1"), "event_rejected");
  EXPECT_EQ(run("coh", "c1"), "event_rejected");  // above the co-handler, not in it
}

TEST_F(StepBy, AnyAndTheDefault) {
  EXPECT_EQ(run("anyone", ""), "transition");
  EXPECT_EQ(run("anyone", "stranger"), "transition");
  EXPECT_EQ(run("dflt", ""), "transition");
  EXPECT_EQ(run("dflt", "w3"), "transition");
}

TEST_F(StepBy, Lists) {
  EXPECT_EQ(run("either", "s1"), "transition");
  EXPECT_EQ(run("either", "w1"), "event_rejected");
  EXPECT_EQ(run("co", "", R"(, "data": {"unit": "v2"})"), "co_handler_added");
  EXPECT_EQ(run("either", "w3"), "transition");
}

TEST_F(StepBy, ActorWithoutAUnitPassesOnlyAny) {
  EXPECT_EQ(run("asg", ""), "event_rejected");
  EXPECT_EQ(run("asg", "stranger"), "event_rejected");  // not in people
  EXPECT_EQ(run("sup", "stranger"), "event_rejected");
  EXPECT_EQ(run("coh", "stranger"), "event_rejected");
  EXPECT_EQ(run("anyone", "stranger"), "transition");
}

TEST_F(StepBy, ActorUnitComesBeforePeople) {
  // w1 belongs to g1, but the action says it acts for township t1.
  EXPECT_EQ(run("sup", "w1", R"(, "actor_unit": "t1")"), "transition");
  EXPECT_EQ(run("asg", "w1", R"(, "actor_unit": "t1")"), "event_rejected");
  // An actor_unit without an actor counts too.
  EXPECT_EQ(run("asg", "", R"(, "actor_unit": "g1")"), "transition");
  EXPECT_EQ(run("sup", "", R"(, "actor_unit": "v1")"), "transition");
}

TEST_F(StepBy, UnknownActorUnitCountsAsNoUnit) {
  EXPECT_EQ(run("asg", "", R"(, "actor_unit": "nowhere")"), "event_rejected");
  EXPECT_EQ(run("sup", "", R"(, "actor_unit": "nowhere")"), "event_rejected");
  EXPECT_EQ(run("anyone", "", R"(, "actor_unit": "nowhere")"), "transition");
  // With a known actor, the contract can be read as "no actor_unit given", so the
  // actor's unit in people applies; that is what the engine does, and it is sensible.
  EXPECT_EQ(run("asg", "w1", R"(, "actor_unit": "nowhere")"), "transition");
}

TEST_F(StepBy, RefusalSkipsToTheNextTransition) {
  EXPECT_EQ(run("pick", "w1"), "transition");
  EXPECT_EQ(sim.get("r1").state, 2);  // c: the assignee's transition
}

TEST_F(StepBy, SupervisorGetsTheFirstTransition) {
  EXPECT_EQ(run("pick", "s1"), "transition");
  EXPECT_EQ(sim.get("r1").state, 1);  // b
}

TEST_F(StepBy, RejectionReasonNamesBy) {
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "pick", .at = 50, .actor = "stranger"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"event_rejected"}));
  EXPECT_NE(f(evs[0], "reason").find("by"), std::string::npos) << f(evs[0], "reason");
  EXPECT_EQ(evs[0].state, "a");
  EXPECT_EQ(sim.get("r1").state, 0);  // unchanged
}

TEST(StepByIgnored, ByIsIgnoredForEventsWithoutActors) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
correlate: { key: 'report.household', window: 2h }
vars: { opened: false, merged: false, ticked: false, breached: false }
initial: a
states:
  a:
    sla: true
    timers:
      - { after: 1h, event: tick }
    on:
      opened: { by: supervisor, set: { opened: true } }
      report: { by: assignee, set: { merged: true } }
      tick: { by: co_handler, set: { ticked: true } }
      sla_expired: { by: supervisor, set: { breached: true } }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = R"(, "household": "h")"}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 30, .extra = R"(, "household": "h")"}));
  sim.until(H(10));
  EXPECT_EQ(sim.var("r1", "opened"), Value(true));
  EXPECT_EQ(sim.var("r1", "merged"), Value(true));
  EXPECT_EQ(sim.var("r1", "ticked"), Value(true));
  EXPECT_EQ(sim.var("r1", "breached"), Value(true));
  for (const auto& e : sim.take()) EXPECT_NE(e.type, "event_rejected");
}

// ================================================================ set

const std::string kSetWorkflow =
    wf("t", kLadder + R"(vars: { a: 1, b: 2, n: 1, s: x, lv: null, l: null }
initial: a
states:
  a:
    on:
      opened: {}
      swap: { set: { a: '= case.b', b: '= case.a' } }
      fail: { set: { n: '= case.n / 0', a: 5 }, goto: b }
      eq: { set: { s: '= "=x"' } }
      lit: { set: { s: plain, a: 7, l: [1, two] } }
      up: { set: { lv: '= case.level' }, level: up }
  b:
    on:
      x: {}
)");

TEST(StepSet, AllValuesComeFromTheOldCase) {
  Sim sim({kSetWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "swap", .at = 1}));
  EXPECT_EQ(sim.var("r1", "a"), Value(2));
  EXPECT_EQ(sim.var("r1", "b"), Value(1));
}

TEST(StepSet, ExpressionsSeeTheLevelBeforeTheTransition) {
  Sim sim({kSetWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up", .at = 1}));
  EXPECT_EQ(sim.var("r1", "lv"), Value("grid"));
  EXPECT_EQ(sim.get("r1").level, 1);
}

TEST(StepSet, AFailingValueIsSkippedAndTheRestApplies) {
  Sim sim({kSetWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "fail", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"rule_error", "transition"}));
  EXPECT_EQ(f(evs[0], "location"), "wf0.yaml:" + loc(kSetWorkflow, "/ 0"));
  EXPECT_EQ(evs[0].state, "b");
  EXPECT_EQ(sim.var("r1", "n"), Value(1));
  EXPECT_EQ(sim.var("r1", "a"), Value(5));
}

TEST(StepSet, LiteralStringStartingWithEquals) {
  Sim sim({kSetWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "eq", .at = 1}));
  EXPECT_EQ(sim.var("r1", "s"), Value("=x"));
}

TEST(StepSet, PlainScalarsAreLiterals) {
  Sim sim({kSetWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_EQ(sim.var("r1", "s"), Value("x"));  // the initial value
  EXPECT_EQ(sim.var("r1", "l"), Value());
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "lit", .at = 1}));
  EXPECT_EQ(sim.var("r1", "s"), Value("plain"));
  EXPECT_EQ(sim.var("r1", "a"), Value(7));
  EXPECT_EQ(sim.var("r1", "l"), Value(List{Value(1), Value("two")}));
}

// ================================================================ level

const std::string kLevelWorkflow = wf("t", kLadder + R"(vars: { n: 0 }
initial: a
states:
  a:
    on:
      opened: {}
      up: { level: up }
      down: { level: down }
      top: { level: top }
      grid: { level: grid }
      village: { level: village }
      down_more: { level: down, set: { n: 5 }, goto: b }
      up_more: { level: up, set: { n: 6 }, goto: b }
      whoami: { notify: [assignee] }
  b:
    on:
      up_more: { level: up, set: { n: 7 } }
)");

TEST(StepLevel, UpDownTopNamed) {
  Sim sim({kLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  struct Step {
    const char* action;
    const char* from_level;
    const char* to_level;
    const char* from_unit;
    const char* to_unit;
  };
  const Step steps[] = {{"up", "grid", "village", "g1", "v1"},
                        {"top", "village", "county", "v1", "cty"},
                        {"down", "county", "township", "cty", "t1"},
                        {"grid", "township", "grid", "t1", "g1"},
                        {"village", "grid", "village", "g1", "v1"}};
  int64_t t = 0;
  for (const Step& s : steps) {
    SCOPED_TRACE(s.action);
    t += 10;
    EXPECT_APPLIED(sim.act({.case_id = "r1", .action = s.action, .at = t}));
    auto evs = sim.take();
    ASSERT_EQ(types(evs), (Strings{"transition", "level_changed"}));
    EXPECT_EQ(f(evs[1], "from_level"), s.from_level);
    EXPECT_EQ(f(evs[1], "to_level"), s.to_level);
    EXPECT_EQ(f(evs[1], "from_unit"), s.from_unit);
    EXPECT_EQ(f(evs[1], "to_unit"), s.to_unit);
    EXPECT_EQ(evs[1].level, s.to_level);
    EXPECT_EQ(evs[1].unit, s.to_unit);
    EXPECT_EQ(evs[0].level, s.to_level);  // values after the step on the transition too
    EXPECT_EQ(sim.get("r1").level_since, T(t));
  }
}

TEST(StepLevel, DownAtTheBottomKeepsTheLevelAndTheRestApplies) {
  Sim sim({kLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "down_more", .at = 10}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition"}));
  EXPECT_EQ(evs[0].state, "b");
  EXPECT_EQ(evs[0].level, "grid");
  EXPECT_EQ(sim.var("r1", "n"), Value(5));
  EXPECT_EQ(sim.get("r1").level_since, T(0));
}

TEST(StepLevel, UpAtTheTopKeepsTheLevel) {
  Sim sim({kLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "top", .at = 5}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up", .at = 10}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition"}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up_more", .at = 11}));
  auto evs = sim.take();
  EXPECT_EQ(types(evs), (Strings{"transition"}));
  EXPECT_EQ(sim.var("r1", "n"), Value(6));
  EXPECT_EQ(sim.get("r1").level_since, T(5));
}

TEST(StepLevel, NamedLevelEqualToTheCurrentIsNoChange) {
  Sim sim({kLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "grid", .at = 10}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition"}));
}

TEST(StepLevel, SkippedOrgLevelsUseTheNearestUnitAbove) {
  Sim sim({kLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .grid = "g4"}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up", .at = 10}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "level_changed"}));
  EXPECT_EQ(f(evs[1], "from_unit"), "g4");
  EXPECT_EQ(f(evs[1], "to_unit"), "t2");  // g4 has no village: its township stands in
  EXPECT_EQ(f(evs[1], "to_level"), "village");
  EXPECT_EQ(evs[1].level, "village");
  EXPECT_EQ(evs[1].unit, "t2");
  // notify assignee: target_level is the unit's own level, not the case's.
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "whoami", .at = 20}));
  evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "notified"}));
  EXPECT_EQ(f(evs[1], "target_unit"), "t2");
  EXPECT_EQ(f(evs[1], "target_level"), "township");
  // village -> township is a level change even though the unit stays t2.
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up", .at = 30}));
  evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "level_changed"}));
  EXPECT_EQ(f(evs[1], "from_unit"), "t2");
  EXPECT_EQ(f(evs[1], "to_unit"), "t2");
  EXPECT_EQ(f(evs[1], "to_level"), "township");
}

// ================================================================ co_handle

const std::string kCoWorkflow = wf("t", kLadder + R"(vars: { before: null }
initial: a
states:
  a:
    on:
      opened: {}
      co: { co_handle: 'event.data.unit' }
      co_goto: { co_handle: 'event.data.unit', goto: b }
      co_seen: { co_handle: 'event.data.unit', set: { before: '= case.co_handlers' } }
      hukou: { co_handle: 'report.hukou_township' }
  b:
    on:
      x: {}
)");

TEST(StepCoHandle, AddsOnceInOrder) {
  Sim sim({kCoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "co", .at = 1, .extra = R"(, "data": {"unit": "t2"})"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "co_handler_added"}));
  EXPECT_EQ(f(evs[1], "co_unit"), "t2");
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "co", .at = 2, .extra = R"(, "data": {"unit": "t2"})"}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition"}));  // already there: adds nothing
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "co", .at = 3, .extra = R"(, "data": {"unit": "v2"})"}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition", "co_handler_added"}));
  EXPECT_EQ(sim.co_handlers("r1"), (Strings{"t2", "v2"}));
}

TEST(StepCoHandle, ExpressionsSeeTheCoHandlersBefore) {
  Sim sim({kCoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act(
      {.case_id = "r1", .action = "co_seen", .at = 1, .extra = R"(, "data": {"unit": "t2"})"}));
  EXPECT_EQ(sim.var("r1", "before"), Value(List{}));
}

TEST(StepCoHandle, UnknownUnitIsARuleErrorAndTheRestApplies) {
  Sim sim({kCoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1",
                          .action = "co_goto",
                          .at = 1,
                          .extra = R"(, "data": {"unit": "nowhere"})"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"rule_error", "transition"}));
  EXPECT_EQ(evs[1].state, "b");
  EXPECT_EQ(f(evs[0], "location").rfind("wf0.yaml:", 0), 0u);
  EXPECT_TRUE(sim.co_handlers("r1").empty());
}

TEST(StepCoHandle, NonStringIsARuleError) {
  Sim sim({kCoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act(
      {.case_id = "r1", .action = "co_goto", .at = 1, .extra = R"(, "data": {"unit": 42})"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"rule_error", "transition"}));
  EXPECT_EQ(f(evs[0], "location").rfind("wf0.yaml:", 0), 0u);
  EXPECT_NE(f(evs[0], "message"), "<missing>");
  // null is not a string either.
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 2}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r2", .action = "hukou", .at = 3}));
  EXPECT_EQ(types(sim.take()), (Strings{"rule_error", "transition"}));
}

TEST(StepCoHandle, FromTheReport) {
  Sim sim({kCoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = R"(, "hukou_township": "t2")"}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "hukou", .at = 1}));
  EXPECT_EQ(sim.co_handlers("r1"), (Strings{"t2"}));
}

// ================================================================ notify

const std::string kNotifyWorkflow = wf("t", kLadder + R"(initial: a
states:
  a:
    on:
      opened: {}
      many: { notify: [township, assignee, county, 'unit:t1', village] }
      after_level: { level: village, notify: [assignee, grid] }
      co: { co_handle: 'event.data.unit', notify: [co_handlers, assignee] }
      units: { notify: ['unit:g3', 'unit:cty', 'unit:g3'] }
)");

TEST(StepNotify, DistinctUnitsInListOrder) {
  Sim sim({kNotifyWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "many", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "notified", "notified", "notified", "notified"}));
  std::vector<CaseEvent> n(evs.begin() + 1, evs.end());
  EXPECT_EQ(fs(n, "target_unit"), (Strings{"t1", "g1", "cty", "v1"}));
  EXPECT_EQ(fs(n, "target_level"), (Strings{"township", "grid", "county", "village"}));
  for (const auto& e : n) EXPECT_EQ(e.trigger, "many");
}

TEST(StepNotify, ResolvedAfterTheLevelChange) {
  Sim sim({kNotifyWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "after_level", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "level_changed", "notified", "notified"}));
  EXPECT_EQ(f(evs[2], "target_unit"), "v1");  // assignee: the unit at the new level
  EXPECT_EQ(f(evs[2], "target_level"), "village");
  EXPECT_EQ(f(evs[3], "target_unit"), "g1");  // grid: the case's unit at that level
}

TEST(StepNotify, CoHandlersIncludingOneAddedInTheSameTransition) {
  Sim sim({kNotifyWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "co", .at = 1, .extra = R"(, "data": {"unit": "v2"})"}));
  sim.take();
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "co", .at = 2, .extra = R"(, "data": {"unit": "t2"})"}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs),
            (Strings{"transition", "co_handler_added", "notified", "notified", "notified"}));
  std::vector<CaseEvent> n(evs.begin() + 2, evs.end());
  EXPECT_EQ(fs(n, "target_unit"), (Strings{"v2", "t2", "g1"}));
  EXPECT_EQ(fs(n, "target_level"), (Strings{"village", "township", "grid"}));
}

TEST(StepNotify, UnitTargets) {
  Sim sim({kNotifyWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "units", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "notified", "notified"}));
  EXPECT_EQ(f(evs[1], "target_unit"), "g3");
  EXPECT_EQ(f(evs[1], "target_level"), "grid");
  EXPECT_EQ(f(evs[2], "target_unit"), "cty");
}

TEST(StepNotify, LevelNameOnASkippedLevel) {
  Sim sim({kNotifyWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .grid = "g4"}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "many", .at = 1}));
  auto evs = sim.take();
  std::vector<CaseEvent> n(evs.begin() + 1, evs.end());
  // township t2, assignee g4, county cty, unit:t1; village resolves to t2 again.
  EXPECT_EQ(fs(n, "target_unit"), (Strings{"t2", "g4", "cty", "t1"}));
  EXPECT_EQ(fs(n, "target_level"), (Strings{"township", "grid", "county", "township"}));
}

// ================================================================ goto, final, timers kept

const std::string kGotoWorkflow = wf("t", kLadder + R"(sla: { grid: 4h }
vars: { ticks: 0 }
initial: h
states:
  h:
    sla: true
    timers:
      - { after: 2h, event: tick }
    on:
      opened: {}
      tick: { set: { ticks: '= case.ticks + 1' } }
      poke: { goto: h }
      note: {}
      finish: { goto: done }
  done:
    final: true
)");

TEST(StepGoto, GotoTheSameStateRestartsTimersAndSla) {
  Sim sim({kGotoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "poke", .at = H(1)}));
  sim.take();
  sim.until(H(6));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "sla_breached"}));
  EXPECT_EQ(evs[0].trigger, "tick");
  EXPECT_EQ(f(evs[0], "at"), ts(H(3)));
  EXPECT_EQ(f(evs[1], "at"), ts(H(5)));
  EXPECT_EQ(f(evs[1], "due_at"), ts(H(5)));
}

TEST(StepGoto, ATransitionWithoutGotoKeepsTimers) {
  Sim sim({kGotoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "note", .at = H(1)}));
  sim.take();
  sim.until(H(4));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "sla_breached"}));
  EXPECT_EQ(f(evs[0], "at"), ts(H(2)));
  EXPECT_EQ(f(evs[1], "at"), ts(H(4)));
  EXPECT_EQ(sim.var("r1", "ticks"), Value(1));
}

TEST(StepGoto, FinalStateClosesAndCancelsTimers) {
  Sim sim({kGotoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "finish", .at = H(1)}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "closed"}));
  EXPECT_EQ(evs[1].state, "done");
  EXPECT_EQ(evs[1].trigger, "finish");
  EXPECT_TRUE(sim.get("r1").closed);
  EXPECT_TRUE(sim.get("r1").timers.empty());
  EXPECT_EQ(sim.store.pending_timers(), 0u);
  sim.until(H(100));
  EXPECT_TRUE(sim.take().empty());
}

TEST(StepGoto, ActionsOnAClosedCaseAreRejectedNotBad) {
  Sim sim({kGotoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "finish", .at = H(1)}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "poke", .at = H(2)}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"event_rejected"}));
  EXPECT_EQ(evs[0].seq, 5);
  EXPECT_EQ(evs[0].state, "done");
  EXPECT_EQ(evs[0].trigger, "poke");
  EXPECT_NE(f(evs[0], "reason"), "<missing>");
  EXPECT_TRUE(sim.get("r1").closed);
}

TEST(StepGoto, InitialStateTimersStartAtCreationAndOpenedGotoCancelsThem) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
initial: a
states:
  a:
    sla: true
    timers:
      - { after: 1h, event: tick }
    on:
      opened: { goto: b }
      tick: {}
  b:
    sla: true
    on:
      tick: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(15));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_breached"}));  // once: a's clock and timer are gone
  EXPECT_EQ(f(evs[0], "at"), ts(H(10)));
}

TEST(StepGoto, OpenedWithoutGotoKeepsTheInitialStateClock) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
initial: a
states:
  a:
    sla: true
    timers:
      - { after: 1h, event: tick }
    on:
      opened: {}
      tick: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 30}));
  sim.take();
  sim.until(H(11));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "sla_breached"}));
  EXPECT_EQ(f(evs[0], "at"), ts(90));
  EXPECT_EQ(f(evs[1], "at"), ts(H(10) + 30));
}

// ================================================================ SLA

TEST(StepSla, WarningBreachAndRestartOnTheNextLevel) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h, village: 20h }
sla_warning: 80%
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_expired: { level: up }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(200));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "sla_breached", "transition", "level_changed",
                                 "sla_warning", "sla_breached", "transition", "level_changed"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(8)), ts(H(10)), ts(H(10)), ts(H(10)), ts(H(26)), ts(H(30)),
                                    ts(H(30)), ts(H(30))}));
  EXPECT_EQ(f(evs[0], "due_at"), ts(H(10)));
  EXPECT_EQ(evs[0].trigger, "sla_warning");
  EXPECT_EQ(evs[0].level, "grid");
  EXPECT_EQ(f(evs[1], "due_at"), ts(H(10)));
  EXPECT_EQ(evs[1].trigger, "sla_expired");
  EXPECT_EQ(evs[1].level, "village");  // the values after the step
  EXPECT_EQ(f(evs[4], "due_at"), ts(H(30)));
  EXPECT_EQ(f(evs[5], "due_at"), ts(H(30)));
  EXPECT_EQ(evs[7].level, "township");  // township has no sla entry: no clock
}

// "sla_warning is delivered when P % of the period has passed": exactly then, not a
// millisecond early because P/100 is not exact in binary floating point.
TEST(StepSla, WarningAtExactlyThePercentage) {
  struct Row {
    const char* warning;
    const char* period;
    int64_t warn_ms;
  };
  for (const Row& r :
       {Row{"80%", "24h", 69120000}, Row{"35%", "24h", 30240000}, Row{"29%", "1h", 1044000},
        Row{"57%", "2h", 4104000}, Row{"58%", "1h", 2088000}, Row{"12.5%", "8h", 3600000}}) {
    SCOPED_TRACE(std::string(r.warning) + " of " + r.period);
    Sim sim({wf("t", kLadder + "sla: { grid: " + r.period + " }\nsla_warning: " + r.warning + "\n" +
                         "initial: a\nstates:\n  a:\n    sla: true\n    on:\n      opened: {}\n")});
    EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
    sim.take();
    EXPECT_TRUE(sim.proc().advance_to(kBase + Duration{r.warn_ms}).ok());
    auto evs = sim.take();
    ASSERT_EQ(types(evs), (Strings{"sla_warning"}));
    EXPECT_EQ(f(evs[0], "at"), format_timestamp(kBase + Duration{r.warn_ms}));
  }
}

TEST(StepSla, AnUnhandledBreachRepeatsAndIsNoRejection) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
sla_warning: 80%
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(30));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "sla_breached", "sla_warning", "sla_breached",
                                 "sla_warning", "sla_breached"}));
  EXPECT_EQ(fs(evs, "at"),
            (Strings{ts(H(8)), ts(H(10)), ts(H(18)), ts(H(20)), ts(H(28)), ts(H(30))}));
  EXPECT_EQ(fs(evs, "due_at"),
            (Strings{ts(H(10)), ts(H(10)), ts(H(20)), ts(H(20)), ts(H(30)), ts(H(30))}));
}

TEST(StepSla, NoApplicableTransitionIsNoRejection) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
sla_warning: 50%
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_warning: { when: 'false', goto: b }
      sla_expired: { when: 'case.level == "county"', goto: b }
  b:
    on:
      x: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(10));
  EXPECT_EQ(types(sim.take()), (Strings{"sla_warning", "sla_breached"}));
}

TEST(StepSla, HandledWithoutLevelChangeStartsAgain) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_expired: { notify: [county] }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(20));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_breached", "transition", "notified", "sla_breached",
                                 "transition", "notified"}));
  EXPECT_EQ(f(evs[3], "at"), ts(H(20)));
  EXPECT_EQ(f(evs[3], "due_at"), ts(H(20)));
}

TEST(StepSla, GotoAnotherStateStopsTheClock) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_expired: { goto: b }
  b:
    on:
      x: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(100));
  EXPECT_EQ(types(sim.take()), (Strings{"sla_breached", "transition"}));
}

const std::string kSlaLevelWorkflow = wf("t", kLadder + R"(sla: { grid: 10h, village: 10h }
sla_warning: 50%
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      escalate: { level: up }
      same: { level: grid }
      note: {}
      rest: { goto: b }
  b:
    on:
      back: { goto: a }
)");

TEST(StepSla, RestartsWhenTheLevelChanges) {
  Sim sim({kSlaLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "escalate", .at = H(3)}));
  sim.take();
  sim.until(H(14));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "sla_breached"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(8)), ts(H(13))}));
  EXPECT_EQ(fs(evs, "due_at"), (Strings{ts(H(13)), ts(H(13))}));
}

TEST(StepSla, AChangeToTheSameLevelIsNoChange) {
  Sim sim({kSlaLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "same", .at = H(3)}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "note", .at = H(4)}));
  sim.take();
  sim.until(H(10));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "sla_breached"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(5)), ts(H(10))}));
}

TEST(StepSla, OnlyWhileInAnSlaState) {
  Sim sim({kSlaLevelWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "rest", .at = H(1)}));
  sim.take();
  sim.until(H(30));
  EXPECT_TRUE(sim.take().empty());
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "back", .at = H(30)}));
  sim.take();
  sim.until(H(41));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "sla_breached"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(35)), ts(H(40))}));  // from entering the state
}

TEST(StepSla, ALevelWithoutAnSlaEntryHasNoClock) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      escalate: { level: up }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "escalate", .at = H(1)}));
  sim.take();
  sim.until(H(100));
  EXPECT_TRUE(sim.take().empty());
  EXPECT_EQ(sim.store.pending_timers(), 0u);
}

TEST(StepSla, WarningHandledWithATransition) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h, village: 10h }
sla_warning: 50%
initial: a
states:
  a:
    sla: true
    on:
      opened: {}
      sla_warning: { level: up, notify: [assignee] }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(10));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_warning", "transition", "level_changed", "notified",
                                 "sla_warning", "transition", "level_changed", "notified"}));
  EXPECT_EQ(f(evs[0], "due_at"), ts(H(10)));
  EXPECT_EQ(f(evs[4], "at"), ts(H(10)));  // the village clock started at 5h
  EXPECT_EQ(f(evs[4], "due_at"), ts(H(15)));
}

// ================================================================ state timers

const std::string kTimerWorkflow = wf("t", kLadder + R"(vars: { count: 0, eat: null, nw: null }
initial: a
states:
  a:
    timers:
      - { after: 12h, event: remind, repeat: true }
      - { after: 1h, event: once }
    on:
      opened: {}
      remind: { set: { count: '= case.count + 1', eat: '= event.at', nw: '= now' } }
      once: {}
      leave: { goto: b }
  b:
    timers:
      - { after: 1h, event: orphan }
    on:
      back: { goto: a }
)");

TEST(StepTimers, RepeatingAndOneShot) {
  Sim sim({kTimerWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(37));
  auto evs = sim.take();
  EXPECT_EQ(fs(evs, "trigger"), (Strings{"once", "remind", "remind", "remind"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(1)), ts(H(12)), ts(H(24)), ts(H(36))}));
  EXPECT_EQ(sim.var("r1", "count"), Value(3));
  // A timer's event is handled with now and event.at equal to its due time.
  EXPECT_EQ(sim.var("r1", "eat"), Value(T(H(36))));
  EXPECT_EQ(sim.var("r1", "nw"), Value(T(H(36))));
}

TEST(StepTimers, LeavingTheStateCancelsThem) {
  Sim sim({kTimerWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "leave", .at = 30}));
  sim.take();
  sim.until(H(100));
  auto evs = sim.take();
  // Only b's own timer, which has no transition: a timer event is not an exception.
  ASSERT_EQ(types(evs), (Strings{"event_rejected"}));
  EXPECT_EQ(evs[0].trigger, "orphan");
  EXPECT_EQ(f(evs[0], "at"), ts(90));
}

TEST(StepTimers, ReenteringStartsThemAgain) {
  Sim sim({kTimerWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "leave", .at = 30}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "back", .at = 60}));
  sim.take();
  sim.until(H(13));
  auto evs = sim.take();
  EXPECT_EQ(fs(evs, "trigger"), (Strings{"once", "remind"}));
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(2)), ts(H(13))}));
}

TEST(StepTimers, SameDueOrder) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h }
sla_warning: 50%
initial: a
states:
  a:
    sla: true
    timers:
      - { after: 5h, event: ta }
      - { after: 10h, event: tb }
      - { after: 5h, event: tc }
    on:
      opened: {}
      sla_warning: {}
      sla_expired: {}
      ta: {}
      tb: {}
      tc: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(10));
  auto evs = sim.take();
  EXPECT_EQ(types(evs), (Strings{"sla_warning", "transition", "transition", "transition",
                                 "sla_breached", "transition", "transition"}));
  EXPECT_EQ(fs(evs, "trigger"), (Strings{"sla_warning", "sla_warning", "ta", "tc", "sla_expired",
                                         "sla_expired", "tb"}));
}

TEST(StepTimers, SameDueAcrossCasesInSchedulingOrder) {
  Sim sim({wf("t", kLadder + R"(initial: a
states:
  a:
    timers:
      - { after: 2h, event: tick }
    on:
      opened: {}
      tick: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0}));
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .grid = "g2"}));
  sim.take();
  sim.until(H(2));
  EXPECT_EQ(fs(sim.take(), "case_id"), (Strings{"r2", "r1"}));
}

TEST(StepTimers, ATimerDueAtAnInputsTimeFiresFirst) {
  Sim sim({wf("t", kLadder + R"(initial: a
states:
  a:
    timers:
      - { after: 2h, event: tick }
    on:
      opened: {}
      tick: { goto: b }
  b:
    on:
      x: { goto: done }
  done:
    final: true
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = H(2)}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition", "transition", "closed"}));
  EXPECT_EQ(evs[0].trigger, "tick");
  EXPECT_EQ(evs[1].trigger, "x");
}

TEST(StepTimers, TimersBeforeAnInputCarryTheirDueTime) {
  Sim sim({kTimerWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "nothing", .at = H(30)}));
  auto evs = sim.take();
  EXPECT_EQ(fs(evs, "at"), (Strings{ts(H(1)), ts(H(12)), ts(H(24)), ts(H(30))}));
  EXPECT_EQ(evs.back().type, "event_rejected");
}

// ================================================================ the clock

const std::string kClockWorkflow =
    wf("t", kLadder + R"(vars: { eat: null, nw: null, opened_eat: null }
initial: a
states:
  a:
    timers:
      - { after: 10h, event: tick }
    on:
      opened: { set: { opened_eat: '= event.at' } }
      x: { set: { eat: '= event.at', nw: '= now' } }
      tick: {}
)");

TEST(StepClock, AnEarlierEventIsHandledAtTheClock) {
  Sim sim({kClockWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = H(10)}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = H(5)}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition"}));
  EXPECT_EQ(f(evs[0], "at"), ts(H(10)));
  EXPECT_EQ(sim.var("r1", "eat"), Value(T(H(5))));  // event.at keeps its value
  EXPECT_EQ(sim.var("r1", "nw"), Value(T(H(10))));
  EXPECT_EQ(sim.proc().clock(), T(H(10)));
}

TEST(StepClock, AnEarlierReportOpensAtTheClock) {
  Sim sim({kClockWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = H(10)}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = H(2), .grid = "g2"}));
  auto evs = of_case(sim.take(), "r2");
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(f(evs[0], "at"), ts(H(10)));
  EXPECT_EQ(sim.get("r2").opened_at, T(H(10)));
  EXPECT_EQ(sim.var("r2", "opened_eat"), Value(T(H(2))));
  // Its timers count from the clock, not from its `at`.
  sim.until(H(19));
  EXPECT_TRUE(of_case(sim.take(), "r2").empty());
  sim.until(H(20));
  EXPECT_EQ(types(of_case(sim.take(), "r2")), (Strings{"transition"}));
}

TEST(StepClock, NeverGoesBackwards) {
  Sim sim({kClockWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = H(10)}));
  sim.until(H(5));
  EXPECT_EQ(sim.proc().clock(), T(H(10)));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = H(1)}));
  EXPECT_EQ(sim.proc().clock(), T(H(10)));
}

TEST(StepClock, BadInputDoesNotMoveTheClock) {
  Sim sim({wf("t", kLadder + "match: 'report.category != \"ignored\"'\n" + R"(initial: a
states:
  a:
    timers:
      - { after: 10h, event: tick }
    on:
      opened: {}
      tick: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = H(1)}));
  sim.take();
  EXPECT_BAD(sim.act({.case_id = "nope", .action = "x", .at = H(20)}));
  EXPECT_BAD(sim.act({.case_id = "r1", .action = "x", .at = H(20), .extra = R"(, "grid": "g2")"}));
  EXPECT_BAD(sim.report({.id = "r9", .at = H(20), .category = "ignored"}));
  EXPECT_BAD(sim.report({.id = "r1", .at = H(20), .grid = "g2"}));
  EXPECT_EQ(sim.proc().clock(), T(H(1)));
  EXPECT_TRUE(sim.take().empty());  // and no timer fired
}

// ================================================================ what expressions see

TEST(StepEnv, OpenedCarriesTheReportAndTheCaseFields) {
  Sim sim({wf(
      "t",
      kLadder +
          R"(vars: { rid: null, cnt: null, cid: null, st: null, lv: null, un: null, oa: null, ls: null, town: null, vil: null, typ: null }
initial: a
states:
  a:
    on:
      opened:
        set:
          rid: '= event.report.report_id'
          cnt: '= case.report_count'
          cid: '= case.id'
          st: '= case.state'
          lv: '= case.level'
          un: '= case.unit'
          oa: '= case.opened_at'
          ls: '= case.level_since'
          town: '= unit("township")'
          vil: '= unit("village")'
          typ: '= event.type'
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 15, .grid = "g4"}));
  EXPECT_EQ(sim.var("r1", "rid"), Value("r1"));
  EXPECT_EQ(sim.var("r1", "cnt"), Value(1));
  EXPECT_EQ(sim.var("r1", "cid"), Value("r1"));
  EXPECT_EQ(sim.var("r1", "st"), Value("a"));
  EXPECT_EQ(sim.var("r1", "lv"), Value("grid"));
  EXPECT_EQ(sim.var("r1", "un"), Value("g4"));
  EXPECT_EQ(sim.var("r1", "oa"), Value(T(15)));
  EXPECT_EQ(sim.var("r1", "ls"), Value(T(15)));
  EXPECT_EQ(sim.var("r1", "town"), Value("t2"));
  EXPECT_EQ(sim.var("r1", "vil"), Value("t2"));  // skipped level: the nearest above
  EXPECT_EQ(sim.var("r1", "typ"), Value("opened"));
}

TEST(StepEnv, ActionFields) {
  Sim sim({wf("t", kLadder + R"(vars: { who: null, note: null, d: null, rep: null }
initial: a
states:
  a:
    on:
      opened: {}
      x: { set: { who: '= event.actor', note: '= event.note', d: '= event.data.k', rep: '= has(event.report)' } }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.act({.case_id = "r1",
                          .action = "x",
                          .at = 1,
                          .actor = "w1",
                          .extra = R"(, "note": "已清理", "data": {"k": [1, 2]})"}));
  EXPECT_EQ(sim.var("r1", "who"), Value("w1"));
  EXPECT_EQ(sim.var("r1", "note"), Value("已清理"));
  EXPECT_EQ(sim.var("r1", "d"), Value(List{Value(1), Value(2)}));
  EXPECT_EQ(sim.var("r1", "rep"), Value(false));
}

TEST(StepEnv, ANonBooleanWhenIsARuleErrorAndCountsAsFalse) {
  const std::string text = wf("t", kLadder + R"(initial: a
states:
  a:
    on:
      opened:
        - when: 'report.category'
          goto: b
        - when: 'report.nothing'
          goto: b
        - {}
  b:
    on:
      x: {}
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  auto evs = sim.take();
  // A string where a boolean is needed fails; null counts as false without an error.
  ASSERT_EQ(types(evs), (Strings{"opened", "rule_error", "transition"}));
  EXPECT_EQ(evs[2].state, "a");
}

TEST(StepEnv, InputTimesWithAnOffsetAreUtc) {
  Sim sim({wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n")});
  EXPECT_APPLIED(sim.line(
      R"({"type": "report", "at": "2026-06-01T08:30:00+08:00", "report": {"report_id": "r1", "grid": "g1", "category": "c"}})"));
  auto evs = sim.take();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(f(evs[0], "at"), "2026-06-01T00:30:00Z");
}

TEST(StepEnv, CoHandleSeesTheUnitBeforeTheLevelChange) {
  Sim sim({wf("t", kLadder + R"(initial: a
states:
  a:
    on:
      opened: {}
      up: { level: up, co_handle: 'case.unit', notify: [co_handlers, assignee] }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "up", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs),
            (Strings{"transition", "level_changed", "co_handler_added", "notified", "notified"}));
  EXPECT_EQ(f(evs[2], "co_unit"), "g1");
  EXPECT_EQ(fs(std::vector<CaseEvent>(evs.begin() + 3, evs.end()), "target_unit"),
            (Strings{"g1", "v1"}));
}

TEST(StepEnv, OutputTimesAreUtcWithAFractionOnlyWhenNotZero) {
  Sim sim(
      {wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n      x: {}\n")});
  EXPECT_APPLIED(sim.line(
      R"({"type": "report", "at": "2026-06-01T08:00:00.500+08:00", "report": {"report_id": "r1", "grid": "g1", "category": "c"}})"));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = 1}));
  auto evs = sim.take();
  ASSERT_EQ(evs.size(), 3u);
  std::string line = json::case_event_line(evs[0]);
  EXPECT_NE(line.find(R"("at": "2026-06-01T00:00:00.5Z")"), std::string::npos) << line;
  line = json::case_event_line(evs[2]);
  EXPECT_NE(line.find(R"("at": "2026-06-01T00:01:00Z")"), std::string::npos) << line;
}

// Timers are durable: after a restart over the same store they fire, exactly once, and
// the timer counter goes on, so same-due timers keep their scheduling order.
TEST(StepTimers, SurviveARestartAndFireOnce) {
  const std::string text = wf("t", kLadder + R"(initial: a
states:
  a:
    timers:
      - { after: 2h, event: tick }
    on:
      opened: {}
      tick: {}
)");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.load({text});  // commit, then a new engine and processor over the same store
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0, .grid = "g2"}));
  sim.take();
  sim.until(H(10));
  auto evs = sim.take();
  EXPECT_EQ(fs(evs, "case_id"), (Strings{"r1", "r2"}));
  EXPECT_EQ(fs(evs, "trigger"), (Strings{"tick", "tick"}));
  sim.load({text});
  sim.until(H(20));
  EXPECT_TRUE(sim.take().empty());
}

// ================================================================ more on SLA and timers

TEST(StepSla, ALevelChangeWhileOpeningRestartsTheClockAtTheNewLevel) {
  Sim sim({wf("t", kLadder + R"(sla: { grid: 10h, village: 20h }
initial: a
states:
  a:
    sla: true
    on:
      opened: { level: village }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  sim.until(H(25));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"sla_breached"}));
  EXPECT_EQ(f(evs[0], "at"), ts(H(20)));
  EXPECT_EQ(evs[0].level, "village");
}

TEST(StepTimers, OtherCasesTimersFireBeforeAReport) {
  Sim sim({kTimerWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.report({.id = "r2", .at = H(2), .grid = "g2"}));
  auto evs = sim.take();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].case_id, "r1");
  EXPECT_EQ(evs[0].trigger, "once");
  EXPECT_EQ(f(evs[0], "at"), ts(H(1)));
  EXPECT_EQ(evs[1].case_id, "r2");
  EXPECT_EQ(evs[1].type, "opened");
}

TEST(StepTimers, TimerClosingTheCaseBeforeAnActionMakesItARejection) {
  Sim sim({wf("t", kLadder + R"(initial: a
states:
  a:
    timers:
      - { after: 1h, event: expire }
    on:
      opened: {}
      expire: { goto: done }
      x: {}
  done:
    final: true
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = H(1)}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition", "closed", "event_rejected"}));
}

// ================================================================ correlation

std::string corr_workflow(const std::string& name, const std::string& match,
                          const std::string& window, const std::string& key = "report.household") {
  return wf(name, kLadder + match + "correlate: { key: '" + key + "', window: " + window + " }\n" +
                      R"(vars: { first: null, latest: null, count: 0 }
initial: a
states:
  a:
    on:
      opened: {}
      report: { set: { first: '= report.report_id', latest: '= event.report.report_id', count: '= case.report_count' } }
      finish: { goto: done }
  done:
    final: true
)");
}

const std::string kH1 = R"(, "household": "h1")";

TEST(StepCorrelation, MergesIntoTheOpenCase) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  sim.take();
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 60, .extra = kH1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"report_merged", "transition"}));
  EXPECT_EQ(evs[0].case_id, "r1");
  EXPECT_EQ(f(evs[0], "report_id"), "r2");
  EXPECT_EQ(evs[0].trigger, "report");
  EXPECT_EQ(sim.get("r1").report_count, 2);
  EXPECT_FALSE(sim.store.exists("r2"));
  EXPECT_EQ(sim.var("r1", "first"), Value("r1"));   // `report` is the opening report
  EXPECT_EQ(sim.var("r1", "latest"), Value("r2"));  // event.report is the merged one
  EXPECT_EQ(sim.var("r1", "count"), Value(2));
}

TEST(StepCorrelation, OnlyTheSameOriginGrid) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1, .grid = "g2"}));
  EXPECT_TRUE(sim.store.exists("r2"));
  EXPECT_EQ(sim.get("r1").report_count, 1);
}

TEST(StepCorrelation, OnlyTheSameWorkflow) {
  Sim sim({corr_workflow("ca", "match: 'report.category == \"a\"'\n", "2h"),
           corr_workflow("cb", "match: 'report.category == \"b\"'\n", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1, .category = "a"}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1, .category = "b"}));
  EXPECT_TRUE(sim.store.exists("r2"));
  EXPECT_APPLIED(sim.report({.id = "r3", .at = 20, .extra = kH1, .category = "a"}));
  EXPECT_FALSE(sim.store.exists("r3"));
  EXPECT_EQ(sim.get("r1").report_count, 2);
  EXPECT_EQ(sim.get("r2").report_count, 1);
}

TEST(StepCorrelation, WindowIsInclusiveFromTheLatestReport) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = H(2), .extra = kH1}));  // exactly the window
  EXPECT_FALSE(sim.store.exists("r2"));
  EXPECT_APPLIED(sim.report({.id = "r3", .at = H(4), .extra = kH1}));  // 2h after r2
  EXPECT_FALSE(sim.store.exists("r3"));
  EXPECT_EQ(sim.get("r1").report_count, 3);
  EXPECT_EQ(sim.get("r1").last_report_at, T(H(4)));
  EXPECT_APPLIED(sim.report({.id = "r4", .at = H(6) + 1, .extra = kH1}));  // one minute late
  EXPECT_TRUE(sim.store.exists("r4"));
  EXPECT_EQ(sim.get("r1").report_count, 3);
}

TEST(StepCorrelation, WindowIsOnTheEnginesClock) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = H(10), .extra = kH1}));
  // An event that says it arrived long ago is handled at the clock: within the window.
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0, .extra = kH1}));
  EXPECT_FALSE(sim.store.exists("r2"));
}

TEST(StepCorrelation, NullKeyNeverMerges) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10}));
  EXPECT_APPLIED(sim.report({.id = "r3", .at = 20, .extra = R"(, "household": null)"}));
  EXPECT_TRUE(sim.store.exists("r2"));
  EXPECT_TRUE(sim.store.exists("r3"));
}

TEST(StepCorrelation, KeysOfDifferentTypesNeverMeet) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = R"(, "household": "1")"}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = R"(, "household": 1)"}));
  EXPECT_TRUE(sim.store.exists("r2"));
  EXPECT_APPLIED(sim.report({.id = "r3", .at = 20, .extra = R"(, "household": 1.0)"}));
  EXPECT_FALSE(sim.store.exists("r3"));  // 1 == 1.0: numbers compare by value
  EXPECT_EQ(sim.get("r2").report_count, 2);
}

TEST(StepCorrelation, AClosedCaseTakesNoMoreReports) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "finish", .at = 10}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 20, .extra = kH1}));
  EXPECT_TRUE(sim.store.exists("r2"));
  EXPECT_EQ(sim.get("r1").report_count, 1);
}

TEST(StepCorrelation, TheCaseWithTheMostRecentReportWins) {
  // Two open cases with the same key and both in the window can only arise when the
  // window grows: redeploy the workflow with a longer one over the same store.
  Sim sim({corr_workflow("c", "", "1h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 90, .extra = kH1}));  // r1 is out of the window
  EXPECT_TRUE(sim.store.exists("r2"));
  sim.load({corr_workflow("c", "", "10h")});
  EXPECT_APPLIED(sim.report({.id = "r3", .at = 100, .extra = kH1}));
  EXPECT_FALSE(sim.store.exists("r3"));
  EXPECT_EQ(sim.get("r2").report_count, 2);
  EXPECT_EQ(sim.get("r1").report_count, 1);
  // r1 was opened first, but r2 has the latest report; that holds for merges too.
  EXPECT_APPLIED(sim.report({.id = "r4", .at = 110, .extra = kH1}));
  EXPECT_EQ(sim.get("r2").report_count, 3);
}

TEST(StepCorrelation, AFailingKeyIsARuleErrorOnTheNewCaseAndNoMerge) {
  const std::string text = corr_workflow("c", "", "2h", "report.household + 1");
  Sim sim({text});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"opened", "rule_error", "transition"}));
  EXPECT_EQ(f(evs[1], "location"), "wf0.yaml:" + loc(text, "+ 1"));
  EXPECT_EQ(evs[1].trigger, "opened");
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1}));
  evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"opened", "rule_error", "transition"}));
  EXPECT_EQ(evs[0].case_id, "r2");
  EXPECT_EQ(sim.get("r1").report_count, 1);
}

TEST(StepCorrelation, AMergedReportWithoutTransitionIsNoRejection) {
  Sim sim({wf("t", kLadder + R"(correlate: { key: 'report.household', window: 2h }
initial: a
states:
  a:
    on:
      opened: {}
      report: { when: 'false' }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  sim.take();
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1}));
  EXPECT_EQ(types(sim.take()), (Strings{"report_merged"}));
  EXPECT_EQ(sim.get("r1").report_count, 2);
}

TEST(StepCorrelation, AStateWithoutReportEntryIsNoRejectionEither) {
  Sim sim({wf("t", kLadder + R"(correlate: { key: 'report.household', window: 2h }
initial: a
states:
  a:
    on:
      opened: {}
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  sim.take();
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1}));
  EXPECT_EQ(types(sim.take()), (Strings{"report_merged"}));
}

// "The same input always gives the same output": two runs give identical case events.
TEST(StepDeterminism, SameInputSameOutput) {
  auto run = [] {
    Sim sim({corr_workflow("c", "", "2h"), kSlaLevelWorkflow});
    for (int i = 0; i < 20; ++i) {
      std::string grid = i % 3 == 0 ? "g1" : i % 3 == 1 ? "g2" : "g4";
      (void)sim.report(
          {.id = "r" + std::to_string(i), .at = i * 37, .extra = i % 2 ? kH1 : "", .grid = grid});
      (void)sim.act({.case_id = "r" + std::to_string(i / 2), .action = "finish", .at = i * 37 + 5});
    }
    sim.until(H(100));
    std::vector<std::string> lines;
    for (const auto& e : sim.take()) lines.push_back(json::case_event_line(e));
    return lines;
  };
  auto a = run();
  auto b = run();
  EXPECT_GT(a.size(), 40u);
  EXPECT_EQ(a, b);
}

// ================================================================ duplicates

TEST(StepDuplicates, ADuplicateReportChangesNothing) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .extra = kH1}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 10, .extra = kH1}));
  sim.take();
  EXPECT_DUPLICATE(sim.report({.id = "r1", .at = 20, .extra = kH1}));  // opened a case
  EXPECT_DUPLICATE(sim.report({.id = "r2", .at = 30, .extra = kH1}));  // was merged
  EXPECT_DUPLICATE(sim.report({.id = "r1", .at = 40, .extra = R"(, "household": "other")"}));
  EXPECT_TRUE(sim.take().empty());
  EXPECT_EQ(sim.get("r1").report_count, 2);
  EXPECT_EQ(sim.get("r1").seq, 4);
}

// A duplicate is not a bad (skipped) line: in virtual time "the clock moves to each
// event's at", and every timer due by then fires first (interfaces.md, simulate; also
// docs/design.md: "A duplicate report or action is a valid line: it moves the clock").
TEST(StepDuplicates, ADuplicateReportStillMovesTheClock) {
  Sim sim({kClockWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_DUPLICATE(sim.report({.id = "r1", .at = H(20)}));
  EXPECT_EQ(sim.proc().clock(), T(H(20)));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition"}));  // the 10h timer, nothing for the duplicate
  EXPECT_EQ(f(evs[0], "at"), ts(H(10)));
}

TEST(StepDuplicates, ADuplicateActionStillMovesTheClock) {
  Sim sim({kClockWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  const std::string id = R"(, "action_id": "a-1")";
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "x", .at = 1, .extra = id}));
  sim.take();
  EXPECT_DUPLICATE(sim.act({.case_id = "r1", .action = "x", .at = H(20), .extra = id}));
  EXPECT_EQ(sim.proc().clock(), T(H(20)));
  auto evs = sim.take();
  ASSERT_EQ(types(evs), (Strings{"transition"}));
  EXPECT_EQ(evs[0].trigger, "tick");
}

TEST(StepDuplicates, AReportIdNamingACaseOfAnotherGridIsBad) {
  Sim sim({corr_workflow("c", "", "2h")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  sim.take();
  EXPECT_BAD(sim.report({.id = "r1", .at = 10, .grid = "g2"}));
  EXPECT_TRUE(sim.take().empty());
}

TEST(StepDuplicates, ADuplicateActionIdChangesNothing) {
  Sim sim({wf("t", kLadder + R"(vars: { n: 0 }
initial: a
states:
  a:
    on:
      opened: {}
      inc: { set: { n: '= case.n + 1' } }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0, .grid = "g2"}));
  sim.take();
  const std::string id = R"(, "action_id": "a-1")";
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "inc", .at = 1, .extra = id}));
  EXPECT_DUPLICATE(sim.act({.case_id = "r1", .action = "inc", .at = 2, .extra = id}));
  EXPECT_APPLIED(
      sim.act({.case_id = "r2", .action = "inc", .at = 3, .extra = id}));  // another case
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "inc", .at = 4}));    // no action_id
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "inc", .at = 5}));
  EXPECT_EQ(sim.var("r1", "n"), Value(3));
  EXPECT_EQ(sim.var("r2", "n"), Value(1));
  EXPECT_EQ(fs(of_case(sim.take(), "r1"), "seq"), (Strings{"3", "4", "5"}));
}

TEST(StepDuplicates, ADuplicateActionIdOnAClosedCaseWritesNothing) {
  Sim sim({kGotoWorkflow});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  const std::string id = R"(, "action_id": "a-1")";
  EXPECT_APPLIED(sim.act({.case_id = "r1", .action = "finish", .at = 1, .extra = id}));
  sim.take();
  EXPECT_DUPLICATE(sim.act({.case_id = "r1", .action = "finish", .at = 2, .extra = id}));
  EXPECT_TRUE(sim.take().empty());
}

// ================================================================ bad input

class StepBadInput : public ::testing::Test {
 protected:
  StepBadInput() : sim({kByWorkflow}) {}
  void SetUp() override {
    EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
    sim.take();
  }
  Sim sim;
};

TEST_F(StepBadInput, UnknownCase) {
  EXPECT_BAD(sim.act({.case_id = "r404", .action = "dflt", .at = 1}));
}

TEST_F(StepBadInput, GridMustMatchTheCase) {
  EXPECT_BAD(sim.act({.case_id = "r1", .action = "dflt", .at = 1, .extra = R"(, "grid": "g2")"}));
  EXPECT_BAD(
      sim.act({.case_id = "r1", .action = "dflt", .at = 1, .extra = R"(, "grid": "nowhere")"}));
  EXPECT_TRUE(sim.take().empty());
  EXPECT_APPLIED(
      sim.act({.case_id = "r1", .action = "dflt", .at = 1, .extra = R"(, "grid": "g1")"}));
  EXPECT_EQ(types(sim.take()), (Strings{"transition"}));
}

TEST_F(StepBadInput, ReservedActionNames) {
  for (const char* a : {"opened", "report", "sla_warning", "sla_expired"}) {
    SCOPED_TRACE(a);
    EXPECT_BAD(sim.act({.case_id = "r1", .action = a, .at = 1}));
  }
  EXPECT_TRUE(sim.take().empty());
}

TEST_F(StepBadInput, SeverityOutsideOneToFive) {
  for (const char* s : {"0", "6", "-1", "\"3\"", "2.5", "true", "[]"}) {
    SCOPED_TRACE(s);
    EXPECT_BAD(sim.report({.id = "rs", .at = 1, .extra = std::string(", \"severity\": ") + s}));
  }
  EXPECT_FALSE(sim.store.exists("rs"));
}

TEST(StepInput, SeverityDefaultsToOne) {
  Sim sim({wf("t", kLadder + R"(vars: { sev: null }
initial: a
states:
  a:
    on:
      opened: { set: { sev: '= report.severity' } }
)")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0, .extra = R"(, "severity": null)"}));
  EXPECT_APPLIED(sim.report({.id = "r3", .at = 0, .extra = R"(, "severity": 5)"}));
  EXPECT_APPLIED(sim.report({.id = "r4", .at = 0, .extra = R"(, "severity": 1)"}));
  EXPECT_EQ(sim.var("r1", "sev"), Value(1));
  EXPECT_EQ(sim.var("r2", "sev"), Value(1));
  EXPECT_EQ(sim.var("r3", "sev"), Value(5));
  EXPECT_EQ(sim.var("r4", "sev"), Value(1));
}

TEST_F(StepBadInput, MissingRequiredFields) {
  const char* cases[] = {
      R"({"type": "report", "report": {"report_id": "x1", "grid": "g1", "category": "c"}})",
      R"({"at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "grid": "g1", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z"})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"grid": "g1", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "grid": "g1"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": null, "grid": "g1", "category": "c"}})",
      R"({"type": "action", "at": "2026-06-01T00:01:00Z", "action": "dflt"})",
      R"({"type": "action", "at": "2026-06-01T00:01:00Z", "case_id": "r1"})",
      R"({"type": "action", "case_id": "r1", "action": "dflt"})",
      R"({"type": "sms", "at": "2026-06-01T00:01:00Z"})",
      R"({"type": "report", "at": "yesterday", "report": {"report_id": "x1", "grid": "g1", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "grid": "nowhere", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "grid": "v1", "category": "c"}})",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": "x1"})",
      R"(["type", "report"])",
      R"({this is not JSON)",
      R"({"type": "report", "at": "2026-06-01T00:01:00Z", "report": {"report_id": "x1", "grid": "g1", "category": "c"}} trailing)",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    EXPECT_BAD(sim.line(c));
  }
  EXPECT_FALSE(sim.store.exists("x1"));
  EXPECT_TRUE(sim.take().empty());
  EXPECT_EQ(sim.proc().clock(), T(0));
}

// Texts are UTF-8: a line with an ill-formed byte in a string cannot be carried into
// case events (they would not be valid JSON), so it is a bad line.
TEST_F(StepBadInput, InvalidUtf8InAString) {
  EXPECT_BAD(
      sim.line("{\"type\": \"report\", \"at\": \"2026-06-01T00:01:00Z\", \"report\": "
               "{\"report_id\": \"x1\", "
               "\"grid\": \"g1\", \"category\": \"c\", \"title\": \"\xe5\x9e\"}}"));
  EXPECT_BAD(
      sim.line("{\"type\": \"action\", \"at\": \"2026-06-01T00:01:00Z\", \"case_id\": \"r1\", "
               "\"action\": \"dflt\", \"note\": \"\xff\"}"));
  EXPECT_TRUE(sim.take().empty());
}

TEST_F(StepBadInput, AReportNoWorkflowAcceptsIsBad) {
  Sim s2({wf("t", kLadder + "match: 'report.category == \"only\"'\n" +
                      "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n")});
  EXPECT_BAD(s2.report({.id = "r1", .at = 0, .category = "other"}));
  EXPECT_FALSE(s2.store.exists("r1"));
  EXPECT_TRUE(s2.take().empty());
  // Not marked as seen: the same id may come back and be accepted by a redeploy.
  s2.load({wf("t", kLadder + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n")});
  EXPECT_APPLIED(s2.report({.id = "r1", .at = 1, .category = "other"}));
}

// ================================================================ workflow selection

std::string trivial(const std::string& name, const std::string& top) {
  return wf(name, kLadder + top + "initial: a\nstates:\n  a:\n    on:\n      opened: {}\n");
}

TEST(StepSelection, HighestPriorityWins) {
  Sim sim({trivial("a-low", "priority: 0\n"), trivial("b-high", "priority: 5\nmatch: 'true'\n"),
           trivial("c-neg", "priority: -3\n")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_EQ(sim.take()[0].workflow, "b-high");
}

TEST(StepSelection, TiesGoByName) {
  Sim sim({trivial("beta", ""), trivial("alpha", ""), trivial("gamma", "")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0}));
  EXPECT_EQ(sim.take()[0].workflow, "alpha");
}

TEST(StepSelection, NonMatchingHigherPriorityIsSkipped) {
  Sim sim({trivial("high", "priority: 9\nmatch: 'report.category == \"flood\"'\n"),
           trivial("low", "")});
  EXPECT_APPLIED(sim.report({.id = "r1", .at = 0, .category = "noise"}));
  EXPECT_APPLIED(sim.report({.id = "r2", .at = 0, .category = "flood"}));
  auto evs = sim.take();
  EXPECT_EQ(of_case(evs, "r1")[0].workflow, "low");
  EXPECT_EQ(of_case(evs, "r2")[0].workflow, "high");
}

TEST(StepSelection, AFailingMatchCountsAsFalseAndIsReported) {
  const std::string high = trivial("high", "priority: 9\nmatch: 'report.severity > \"x\"'\n");
  Sim sim({high, trivial("low", "")});
  auto v = sim.report({.id = "r1", .at = 0});
  EXPECT_EQ(v.outcome, Outcome::Applied) << v.error;
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_EQ(v.warnings[0].location, "wf0.yaml:" + loc(high, "> \"x\""));
  auto evs = sim.take();
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].workflow, "low");
  for (const auto& e : evs) EXPECT_NE(e.type, "rule_error");  // no case yet: not a case event
}

TEST(StepSelection, NullMatchIsFalseWithoutWarning) {
  Sim sim({trivial("high", "priority: 9\nmatch: 'report.missing'\n"), trivial("low", "")});
  auto v = sim.report({.id = "r1", .at = 0});
  EXPECT_EQ(v.outcome, Outcome::Applied);
  EXPECT_TRUE(v.warnings.empty());
  EXPECT_EQ(sim.take()[0].workflow, "low");
}

}  // namespace
}  // namespace gridcase
