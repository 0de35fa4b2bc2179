// The workflow loader and validator (workflow-dsl.md, "Validation" and every "error" the
// language states): each problem is FILE:LINE:COL pointing at the YAML node, and inside
// an expression at the offending token. Columns count Unicode code points.
#include "engine/workflow.hpp"
#include "tests/fixtures/contract_example.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace gridcase {

void PrintTo(const Value& v, std::ostream* os) {
  *os << v.debug_string();
}

namespace {

constexpr const char* kFile = "wf.yaml";

const char* kOrgText = R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: zhiduo
    name: 治多县
    level: county
    children:
      - id: jiajiboluo
        name: 加吉博洛镇
        level: township
        children:
          - id: jjbl-c1
            name: 第一社区
            level: village
            children:
              - { id: jjbl-c1-g01, name: 第一网格, level: grid, households: 120 }
              - { id: jjbl-c1-g02, name: 第二网格, level: grid, households: 96 }
      - id: duocai
        name: 多彩乡
        level: township
        children:
          - id: dc-v1
            name: 当江荣村
            level: village
            children:
              - { id: dc-v1-g01, name: 当江荣一网格, level: grid }
)";

const Org& test_org() {
  static const Org org = [] {
    Diagnostics d;
    auto o = load_org_text(kOrgText, "org.yaml", d);
    EXPECT_TRUE(o.has_value());
    return o ? *o : Org{};
  }();
  return org;
}

// The complete example of workflow-dsl.md, verbatim.
const char* kExample = fixtures::kContractWorkflowYaml;

// "LINE:COL" of the nth occurrence of `needle` in `text`, the column counted in code points.
std::string loc(std::string_view text, std::string_view needle, int nth = 0) {
  size_t at = text.find(needle);
  for (int i = 0; i < nth && at != std::string_view::npos; ++i) at = text.find(needle, at + 1);
  EXPECT_NE(at, std::string_view::npos) << "needle not in text: " << needle;
  if (at == std::string_view::npos) return "?:?";
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// "LINE:COL" just past the nth (ASCII) `needle` in `text`.
std::string loc_after(std::string_view text, std::string_view needle, int nth = 0) {
  std::string l = loc(text, needle, nth);
  size_t colon = l.find(':');
  return l.substr(0, colon + 1) +
         std::to_string(std::stoi(l.substr(colon + 1)) + static_cast<int>(needle.size()));
}

struct Loaded {
  std::optional<Workflow> wf;
  Diagnostics diags;
  bool has(const std::string& prefix) const {
    for (const auto& d : diags.all()) {
      if (d.format().rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
  int warnings() const { return static_cast<int>(diags.all().size()) - diags.error_count(); }
  std::string dump() const {
    std::string s;
    for (const auto& d : diags.all()) s += d.format() + "\n";
    return s;
  }
};

Loaded load(std::string_view text, const Org* org = &test_org()) {
  Loaded l;
  l.wf = load_workflow_text(text, kFile, org, l.diags);
  return l;
}

std::string at(std::string_view text, std::string_view needle, int nth = 0,
               const char* sev = "error") {
  return std::string(kFile) + ":" + loc(text, needle, nth) + ": " + sev + ": ";
}

void expect_error_at(const std::string& text, std::string_view needle, int nth = 0) {
  Loaded l = load(text);
  EXPECT_FALSE(l.wf.has_value()) << "loaded although it has an error";
  std::string want = at(text, needle, nth);
  EXPECT_TRUE(l.has(want)) << "want " << want << "\ngot:\n" << l.dump();
}
void expect_error_at_pos(const std::string& text, const std::string& line_col) {
  Loaded l = load(text);
  EXPECT_FALSE(l.wf.has_value()) << "loaded although it has an error";
  std::string want = std::string(kFile) + ":" + line_col + ": error: ";
  EXPECT_TRUE(l.has(want)) << "want " << want << "\ngot:\n" << l.dump();
}
void expect_warning_at(const std::string& text, std::string_view needle, int nth = 0) {
  Loaded l = load(text);
  EXPECT_TRUE(l.wf.has_value()) << "warnings alone must not fail the load:\n" << l.dump();
  std::string want = at(text, needle, nth, "warning");
  EXPECT_TRUE(l.has(want)) << "want " << want << "\ngot:\n" << l.dump();
}
void expect_loads(const std::string& text) {
  Loaded l = load(text);
  EXPECT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.diags.error_count(), 0) << l.dump();
}

#define EXPECT_ERROR_AT(...)         \
  do {                               \
    SCOPED_TRACE("EXPECT_ERROR_AT"); \
    expect_error_at(__VA_ARGS__);    \
  } while (0)
#define EXPECT_ERROR_AT_POS(...)         \
  do {                                   \
    SCOPED_TRACE("EXPECT_ERROR_AT_POS"); \
    expect_error_at_pos(__VA_ARGS__);    \
  } while (0)
#define EXPECT_WARNING_AT(...)         \
  do {                                 \
    SCOPED_TRACE("EXPECT_WARNING_AT"); \
    expect_warning_at(__VA_ARGS__);    \
  } while (0)
#define EXPECT_LOADS(...)         \
  do {                            \
    SCOPED_TRACE("EXPECT_LOADS"); \
    expect_loads(__VA_ARGS__);    \
  } while (0)

const std::string kHead = "apiVersion: gridcase/v1\nkind: Workflow\nname: t\n";
const std::string kLadder = "levels: [grid, village, township, county]\n";

// A small valid workflow with a placeholder-free tail; tests add what they check.
std::string simple(const std::string& extra_top, const std::string& a_body) {
  return kHead + kLadder + extra_top + "initial: a\nstates:\n  a:\n" + a_body +
         "  done:\n    final: true\n";
}
const std::string kGo = "    on:\n      finish: { goto: done }\n";

// ================================================================ the example

TEST(WorkflowLoad, TheContractExampleLoadsCleanly) {
  Loaded l = load(kExample);
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_TRUE(l.diags.all().empty()) << l.dump();
  const Workflow& wf = *l.wf;
  EXPECT_EQ(wf.name, "grid-escalation");
  EXPECT_EQ(wf.description, "小事不出网格、大事不出村");
  EXPECT_EQ(wf.file, kFile);
  EXPECT_TRUE(wf.match.has_value());
  EXPECT_EQ(wf.priority, 0);
  EXPECT_EQ(wf.levels, (std::vector<std::string>{"grid", "village", "township", "county"}));
  EXPECT_EQ(wf.level_org, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_EQ(wf.sla.size(), 4u);
  EXPECT_EQ(wf.sla[0]->ms, 24 * 3600 * 1000LL);
  EXPECT_EQ(wf.sla[3]->ms, 7 * 24 * 3600 * 1000LL);
  ASSERT_TRUE(wf.sla_warning.has_value());
  EXPECT_DOUBLE_EQ(*wf.sla_warning, 0.8);
  EXPECT_TRUE(wf.correlate_key.has_value());
  EXPECT_EQ(wf.correlate_window.ms, 2 * 3600 * 1000LL);
  ASSERT_EQ(wf.vars.size(), 2u);
  EXPECT_EQ(wf.vars[0].first, "tier");
  EXPECT_EQ(wf.vars[0].second, Value("minor"));
  EXPECT_EQ(wf.vars[1].second, Value(0));
  EXPECT_EQ(wf.states[wf.initial].name, "triage");
  ASSERT_EQ(wf.states.size(), 4u);

  const State& triage = wf.states[wf.state_index("triage")];
  const auto* opened = triage.find("opened");
  ASSERT_NE(opened, nullptr);
  ASSERT_EQ(opened->size(), 3u);
  const Transition& t0 = (*opened)[0];
  EXPECT_TRUE(t0.when.has_value());
  EXPECT_EQ(t0.by, kByAny);
  ASSERT_EQ(t0.set.size(), 1u);
  EXPECT_FALSE(t0.set[0].expr.has_value());
  EXPECT_EQ(t0.set[0].literal, Value("emergency"));
  EXPECT_EQ(t0.level, LevelMove::Named);
  EXPECT_EQ(t0.level_to, 2);
  ASSERT_EQ(t0.notify.size(), 1u);
  EXPECT_EQ(t0.notify[0].kind, NotifyTarget::Kind::Level);
  EXPECT_EQ(t0.notify[0].org_level, 3);
  EXPECT_EQ(t0.goto_state, wf.state_index("handling"));
  EXPECT_FALSE((*opened)[2].when.has_value());

  const State& handling = wf.states[wf.state_index("handling")];
  EXPECT_TRUE(handling.sla);
  ASSERT_EQ(handling.timers.size(), 1u);
  EXPECT_EQ(handling.timers[0].event, "remind");
  EXPECT_EQ(handling.timers[0].after.ms, 12 * 3600 * 1000LL);
  EXPECT_TRUE(handling.timers[0].repeat);
  const auto* esc = handling.find("escalate");
  ASSERT_NE(esc, nullptr);
  EXPECT_EQ((*esc)[0].level, LevelMove::Up);
  EXPECT_EQ((*esc)[0].by, kByAssignee);
  EXPECT_EQ((*esc)[0].goto_state, -1);
  EXPECT_EQ((*handling.find("return"))[0].level, LevelMove::Down);
  EXPECT_EQ((*handling.find("return"))[0].by, kBySupervisor);
  EXPECT_EQ((*handling.find("remind"))[0].notify[0].kind, NotifyTarget::Kind::Assignee);

  const State& verifying = wf.states[wf.state_index("verifying")];
  const auto& reopen = (*verifying.find("reopen"))[0];
  ASSERT_EQ(reopen.set.size(), 1u);
  EXPECT_TRUE(reopen.set[0].expr.has_value());
  EXPECT_TRUE(wf.states[wf.state_index("closed")].final);
}

TEST(WorkflowLoad, OptionalPartsMayBeLeftOut) {
  Loaded l = load(simple("", kGo));
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_FALSE(l.wf->match.has_value());
  EXPECT_FALSE(l.wf->sla_warning.has_value());
  EXPECT_FALSE(l.wf->correlate_key.has_value());
  EXPECT_TRUE(l.wf->vars.empty());
  for (const auto& s : l.wf->sla) EXPECT_FALSE(s.has_value());
}

TEST(WorkflowLoad, LadderMaySkipOrgLevels) {
  std::string t = kHead + "levels: [grid, township]\ninitial: a\nstates:\n  a:\n" + kGo +
                  "  done:\n    final: true\n";
  Loaded l = load(t);
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.wf->level_org, (std::vector<int>{0, 2}));
}

TEST(WorkflowLoad, ByLists) {
  Loaded l =
      load(simple("", "    on:\n      finish: { goto: done, by: [assignee, co_handler] }\n"));
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ((*l.wf->states[0].find("finish"))[0].by, kByAssignee | kByCoHandler);
}

TEST(WorkflowLoad, SetLiteralsAndExpressions) {
  std::string t = simple("vars: { s: x, n: 0, b: false, l: null }\n",
                         "    on:\n      finish:\n        goto: done\n"
                         "        set: { s: '= \"=x\"', n: 7, b: true, l: plain text }\n");
  Loaded l = load(t);
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  const auto& set = (*l.wf->states[0].find("finish"))[0].set;
  ASSERT_EQ(set.size(), 4u);
  EXPECT_TRUE(set[0].expr.has_value());  // a literal "=x" is written as an expression
  EXPECT_EQ(set[1].literal, Value(7));
  EXPECT_EQ(set[2].literal, Value(true));
  EXPECT_EQ(set[3].literal, Value("plain text"));
  EXPECT_EQ(l.wf->vars[3].second, Value());
}

TEST(WorkflowLoad, SlaWarningDecimalPercent) {
  Loaded l = load(simple("sla_warning: 12.5%\n", kGo));
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_DOUBLE_EQ(*l.wf->sla_warning, 0.125);
}

TEST(WorkflowLoad, Durations) {
  for (const char* d : {"90s", "15m", "24h", "7d", "1d12h", "1d12h30m15s", "1h30m"}) {
    SCOPED_TRACE(d);
    Loaded l = load(simple(std::string("sla: { grid: ") + d + " }\n", kGo));
    ASSERT_TRUE(l.wf.has_value()) << l.dump();
  }
  Loaded l = load(simple("sla: { village: 1d12h }\n", kGo));
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.wf->sla[1]->ms, 36 * 3600 * 1000LL);
  EXPECT_FALSE(l.wf->sla[0].has_value());  // levels may be left out
}

TEST(WorkflowLoad, WithoutOrgLevelsAreCheckedAgainstTheLadder) {
  Loaded l = load(simple("", "    on:\n      finish: { goto: done, level: village }\n"), nullptr);
  EXPECT_TRUE(l.wf.has_value()) << l.dump();
}

TEST(WorkflowLoad, NamesAreUniqueAcrossFiles) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gridcase-wf-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* f : {"a.yaml", "b.yaml"}) {
    std::ofstream(dir / f) << simple("", kGo);
  }
  Diagnostics d;
  auto wfs = load_workflows({dir.string()}, &test_org(), d);
  EXPECT_FALSE(wfs.has_value());
  ASSERT_EQ(d.error_count(), 1);
  // Told at the second file's name.
  EXPECT_EQ(d.all()[0].format(), (dir / "b.yaml").string() + ":" + loc(simple("", kGo), "t\n") +
                                     ": error: workflow name 't' is also used by " +
                                     (dir / "a.yaml").string());
  fs::remove_all(dir);
}

TEST(WorkflowLoad, AWorkflowRankedBelowOneThatMatchesEveryReportIsWarnedAbout) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gridcase-wf-shadow-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto named = [](const std::string& name, const std::string& top) {
    std::string t = simple(top, kGo);
    return t.replace(t.find("name: t\n"), 8, "name: " + name + "\n");
  };
  // `all` has no match and priority 1: `some` (priority 0) can never be picked.
  std::ofstream(dir / "all.yaml") << named("all", "priority: 1\n");
  std::ofstream(dir / "some.yaml") << named("some", "match: 'report.category == \"road\"'\n");
  Diagnostics d;
  auto wfs = load_workflows({dir.string()}, &test_org(), d);
  ASSERT_TRUE(wfs.has_value());
  ASSERT_EQ(d.all().size(), 1u);
  EXPECT_EQ(d.all()[0].format(),
            (dir / "some.yaml").string() +
                ":3:7: warning: this workflow can never match: " + "workflow 'all' (priority 1, " +
                (dir / "all.yaml").string() + ") matches every report first");
  // Told of the one the engine picks: the best-ranked of those above (here `top`, not `all`).
  std::ofstream(dir / "top.yaml") << named("top", "priority: 9\n");
  Diagnostics d1;
  ASSERT_TRUE(load_workflows({dir.string()}, &test_org(), d1).has_value());
  ASSERT_EQ(d1.all().size(), 2u);  // `all` and `some`
  for (const auto& w : d1.all()) {
    EXPECT_NE(w.message.find("workflow 'top' (priority 9"), std::string::npos) << w.format();
  }
  fs::remove(dir / "top.yaml");
  // With a match of its own, `all` leaves the others their reports.
  std::ofstream(dir / "all.yaml", std::ios::trunc)
      << named("all", "priority: 1\nmatch: 'report.severity >= 4'\n");
  Diagnostics d2;
  EXPECT_TRUE(load_workflows({dir.string()}, &test_org(), d2).has_value());
  EXPECT_TRUE(d2.all().empty());
  fs::remove_all(dir);
}

// ================================================================ YAML and text

TEST(WorkflowErrors, YamlSyntax) {
  std::string t = kHead + "levels: [grid]: x\ninitial: a\n";
  EXPECT_ERROR_AT_POS(t, "4:15");
}

TEST(WorkflowErrors, YamlUnclosedFlowMapping) {
  std::string t = kHead + kLadder + "initial: a\nstates:\n  a: { on: { x: { goto: a }\n";
  Loaded l = load(t);
  EXPECT_FALSE(l.wf.has_value());
  ASSERT_EQ(l.diags.error_count(), 1) << l.dump();
  EXPECT_NE(l.diags.all()[0].message.find("YAML"), std::string::npos) << l.dump();
}

TEST(WorkflowErrors, InvalidUtf8) {
  std::string t = kHead + "description: 小事\xc3(\n" + kLadder;
  EXPECT_ERROR_AT_POS(t, "4:16");
}

TEST(WorkflowErrors, NotAMapping) {
  EXPECT_ERROR_AT_POS(std::string("- a\n- b\n"), "1:1");
}

TEST(WorkflowErrors, AnEmptyFileIsToldAtItsStart) {
  EXPECT_ERROR_AT_POS(std::string(""), "1:1");
}

TEST(WorkflowErrors, AnEmptyValueIsToldJustAfterItsKeyNotAtTheNextLine) {
  // `goto:` left empty: YAML marks the value where the next key starts, a line below.
  std::string t = simple("", "    on:\n      finish:\n        goto:\n        level: up\n");
  EXPECT_ERROR_AT_POS(t, loc_after(t, "goto:"));
  // Past comments, and past a next key that starts like a null (`nullable:`).
  std::string commented =
      simple("",
             "    on:\n      finish:\n        goto:   # to do\n        # later\n        "
             "level: up\n");
  EXPECT_ERROR_AT_POS(commented, loc_after(commented, "goto:"));
  std::string before_null_key = "apiVersion: gridcase/v1\nkind: Workflow\nname:\nnullable: 1\n";
  EXPECT_ERROR_AT_POS(before_null_key, "3:6");
  // A # inside a quoted scalar is no comment.
  std::string quoted = simple("", "    on:\n      finish: { when: 'size(\"a #b\") > 0', goto: }\n");
  EXPECT_ERROR_AT_POS(quoted, loc_after(quoted, "goto:"));
  // Written as ~ it is where the ~ is.
  std::string tilde = simple("", "    on:\n      finish: { goto: ~ }\n");
  EXPECT_ERROR_AT(tilde, "~");
}

TEST(WorkflowErrors, DuplicateKey) {
  std::string t = kHead + "name: u\n" + kLadder + "initial: a\nstates:\n  a:\n" + kGo +
                  "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "name", 1);
}

// ================================================================ unknown keys

TEST(WorkflowErrors, UnknownKeyAtTheTop) {
  EXPECT_ERROR_AT(simple("colour: red\n", kGo), "colour");
}

TEST(WorkflowErrors, UnknownKeyInCorrelate) {
  EXPECT_ERROR_AT(simple("correlate: { key: 'report.household', window: 2h, windw: 3h }\n", kGo),
                  "windw");
}

TEST(WorkflowErrors, UnknownKeyInAState) {
  EXPECT_ERROR_AT(simple("", kGo + "    timeout: 3h\n"), "timeout");
}

TEST(WorkflowErrors, UnknownKeyInATimer) {
  EXPECT_ERROR_AT(
      simple("", "    timers:\n      - { after: 1h, event: tick, repaet: true }\n" + kGo),
      "repaet");
}

TEST(WorkflowErrors, UnknownKeyInATransition) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, gotoo: done }\n"), "gotoo");
}

TEST(WorkflowErrors, UnknownKeyInATransitionList) {
  EXPECT_ERROR_AT(simple("",
                         "    on:\n      finish:\n        - when: 'true'\n          goto: done\n"
                         "        - { goto: done, notfy: [county] }\n"),
                  "notfy");
}

TEST(WorkflowErrors, UnknownKeyInAFinalState) {
  EXPECT_ERROR_AT(kHead + kLadder + "initial: a\nstates:\n  a:\n" + kGo +
                      "  done:\n    final: true\n    closing: yes\n",
                  "closing");
}

// ================================================================ required keys

TEST(WorkflowErrors, MissingRequiredTopLevelKeys) {
  const std::string body = "initial: a\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n";
  struct Case {
    const char* key;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"apiVersion", "kind: Workflow\nname: t\n" + kLadder + body},
      {"kind", "apiVersion: gridcase/v1\nname: t\n" + kLadder + body},
      {"name", "apiVersion: gridcase/v1\nkind: Workflow\n" + kLadder + body},
      {"levels", kHead + body},
      {"initial", kHead + kLadder + "states:\n  a:\n" + kGo + "  done:\n    final: true\n"},
      {"states", kHead + kLadder + "initial: a\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    Loaded l = load(c.text);
    EXPECT_FALSE(l.wf.has_value());
    bool named = false;
    for (const auto& d : l.diags.all()) {
      if (d.message.find(std::string("'") + c.key + "'") != std::string::npos) {
        named = true;
        EXPECT_EQ(d.format().rfind("wf.yaml:1:1: error: ", 0), 0u) << d.format();
      }
    }
    EXPECT_TRUE(named) << l.dump();
  }
}

// "pointing at the YAML node": the mapping that lacks the key, not 1:1 when the file
// starts with a comment.
TEST(WorkflowErrors, MissingRequiredKeyIsReportedAtTheMapping) {
  std::string t =
      "# no initial\n" + kHead + kLadder + "states:\n  a:\n" + kGo + "  done:\n    final: true\n";
  EXPECT_ERROR_AT_POS(t, "2:1");
}

TEST(WorkflowErrors, TimerMissingAfter) {
  EXPECT_ERROR_AT(simple("", "    timers:\n      - { event: tick }\n" + kGo), "{ event");
}

TEST(WorkflowErrors, TimerMissingEvent) {
  EXPECT_ERROR_AT(simple("", "    timers:\n      - { after: 1h }\n" + kGo), "{ after");
}

TEST(WorkflowErrors, CorrelateMissingWindow) {
  EXPECT_ERROR_AT(simple("correlate: { key: 'report.household' }\n", kGo), "{ key");
}

TEST(WorkflowErrors, CorrelateMissingKey) {
  EXPECT_ERROR_AT(simple("correlate: { window: 2h }\n", kGo), "{ window");
}

TEST(WorkflowErrors, WrongApiVersionAndKind) {
  EXPECT_ERROR_AT("apiVersion: gridcase/v0\nkind: Workflow\nname: t\n" + kLadder +
                      "initial: a\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n",
                  "gridcase/v0");
  EXPECT_ERROR_AT("apiVersion: gridcase/v1\nkind: Org\nname: t\n" + kLadder +
                      "initial: a\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n",
                  "Org");
}

TEST(WorkflowErrors, NameMustBeLowercaseDashes) {
  std::string t = "apiVersion: gridcase/v1\nkind: Workflow\nname: Grid_Esc\n" + kLadder +
                  "initial: a\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "Grid_Esc");
}

// ================================================================ states and gotos

TEST(WorkflowErrors, GotoUnknownState) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: finished }\n"), "finished");
}

TEST(WorkflowErrors, GotoUnknownStateInAList) {
  EXPECT_ERROR_AT(simple("",
                         "    on:\n      finish:\n        - when: 'true'\n          goto: dn\n"
                         "        - goto: done\n"),
                  "dn\n");
}

TEST(WorkflowErrors, InitialUnknownState) {
  std::string t =
      kHead + kLadder + "initial: start\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "start");
}

TEST(WorkflowErrors, InitialStateMayNotBeFinal) {
  std::string t =
      kHead + kLadder + "initial: done\nstates:\n  a:\n" + kGo + "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "done\n");
}

TEST(WorkflowErrors, FinalStateHasNoOn) {
  std::string t = kHead + kLadder + "initial: a\nstates:\n  a:\n" + kGo +
                  "  done:\n    final: true\n    on:\n      reopen: { goto: a }\n";
  EXPECT_ERROR_AT(t, "reopen");  // the on: mapping starts at its first key
}

TEST(WorkflowErrors, DuplicateState) {
  std::string t = kHead + kLadder + "initial: a\nstates:\n  a:\n" + kGo +
                  "  done:\n    final: true\n  a:\n    final: true\n";
  EXPECT_ERROR_AT(t, "a:", 1);
}

TEST(WorkflowErrors, EmptyStatesMapping) {
  EXPECT_FALSE(load(kHead + kLadder + "initial: a\nstates: {}\n").wf.has_value());
}

// ================================================================ levels

TEST(WorkflowErrors, UnknownLevelInLadder) {
  EXPECT_ERROR_AT(kHead + "levels: [grid, vilage]\ninitial: a\nstates:\n  a:\n" + kGo +
                      "  done:\n    final: true\n",
                  "vilage");
}

TEST(WorkflowErrors, LadderOutOfOrgOrder) {
  EXPECT_ERROR_AT(kHead + "levels: [grid, township, village]\ninitial: a\nstates:\n  a:\n" + kGo +
                      "  done:\n    final: true\n",
                  "village]");
}

TEST(WorkflowErrors, DuplicateLevelInLadder) {
  EXPECT_ERROR_AT(kHead + "levels: [grid, village, village]\ninitial: a\nstates:\n  a:\n" + kGo +
                      "  done:\n    final: true\n",
                  "village]");
}

TEST(WorkflowErrors, UnknownLevelInSla) {
  EXPECT_ERROR_AT(simple("sla: { grid: 1h, cuonty: 2h }\n", kGo), "cuonty");
}

TEST(WorkflowErrors, SlaLevelNotInTheLadder) {
  std::string t = kHead +
                  "levels: [grid, village]\nsla: { township: 2h }\ninitial: a\nstates:\n  a:\n" +
                  kGo + "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "township");
}

TEST(WorkflowErrors, UnknownLevelInTransition) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, level: upp }\n"), "upp");
}

TEST(WorkflowErrors, TransitionLevelNotInTheLadder) {
  std::string t = kHead + "levels: [grid, village]\ninitial: a\nstates:\n  a:\n" +
                  "    on:\n      finish: { goto: done, level: county }\n" +
                  "  done:\n    final: true\n";
  EXPECT_ERROR_AT(t, "county");
}

TEST(WorkflowErrors, UnknownNotifyTarget) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, notify: [assignee, towns] }\n"),
                  "towns]");
}

TEST(WorkflowErrors, NotifyUnknownUnit) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, notify: ['unit:nobody'] }\n"),
                  "'unit:nobody'");
}

TEST(WorkflowErrors, UnknownLevelInUnitFunction) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, when: 'unit(\"town\") == \"x\"' }\n");
  EXPECT_ERROR_AT(t, "\"town\"");
}

// ================================================================ vars and set

TEST(WorkflowErrors, SetOfUndeclaredVar) {
  EXPECT_ERROR_AT(simple("vars: { tier: minor }\n",
                         "    on:\n      finish: { goto: done, set: { tier: major, teir: x } }\n"),
                  "teir");
}

TEST(WorkflowErrors, SetWithoutAnyVars) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, set: { n: 1 } }\n"), "n: 1");
}

// The contract is silent; a var named like a built-in case field would be ambiguous in
// `case.NAME`, so rejecting it is sensible: pinned.
TEST(WorkflowErrors, VarMayNotShadowABuiltin) {
  EXPECT_ERROR_AT(simple("vars: { level: 1 }\n", kGo), "level: 1");
}

// ================================================================ durations

TEST(WorkflowErrors, BadDurations) {
  for (const char* d : {"90", "1.5h", "1m1h", "1h1h", "-1h", "1H", "24 h", "1w", "P1D", "1d 2h"}) {
    SCOPED_TRACE(d);
    std::string t = simple(std::string("sla: { village: ") + d + " }\n", kGo);
    EXPECT_ERROR_AT(t, d, 0);
  }
}

// The contract forbids zero for timers and SLAs; for correlate.window it is silent, and
// rejecting a window that could never merge anything is sensible: pinned too.
TEST(WorkflowErrors, ZeroDurations) {
  for (const char* d : {"0s", "0m", "0h", "0d", "0d0h"}) {
    SCOPED_TRACE(d);
    EXPECT_ERROR_AT(simple(std::string("sla: { grid: ") + d + " }\n", kGo), d);
    EXPECT_ERROR_AT(
        simple("", std::string("    timers:\n      - { after: ") + d + ", event: tick }\n" + kGo),
        d);
    EXPECT_ERROR_AT(
        simple(std::string("correlate: { key: 'report.household', window: ") + d + " }\n", kGo), d);
  }
}

TEST(WorkflowErrors, BadTimerDuration) {
  EXPECT_ERROR_AT(simple("", "    timers:\n      - { after: 12, event: tick }\n" + kGo), "12,");
}

TEST(WorkflowErrors, BadCorrelateWindow) {
  EXPECT_ERROR_AT(simple("correlate: { key: 'report.household', window: 2hours }\n", kGo),
                  "2hours");
}

TEST(WorkflowErrors, BadSlaWarning) {
  for (const char* w : {"0%", "100%", "150%", "-5%", "80", "0.8", "abc%", "80%%", "0x50%"}) {
    SCOPED_TRACE(w);
    EXPECT_ERROR_AT(simple(std::string("sla_warning: ") + w + "\n", kGo), w);
  }
}

// ================================================================ timers

TEST(WorkflowErrors, ReservedTimerEvents) {
  for (const char* e : {"opened", "report", "sla_warning", "sla_expired"}) {
    SCOPED_TRACE(e);
    std::string t = simple("", std::string("    timers:\n      - { after: 1h, event: ") + e +
                                   " }\n    on:\n      finish: { goto: done }\n");
    EXPECT_ERROR_AT(t, std::string(e) + " }");
  }
}

TEST(WorkflowErrors, TimerRepeatMustBeABool) {
  EXPECT_ERROR_AT(
      simple("", "    timers:\n      - { after: 1h, event: tick, repeat: often }\n" + kGo),
      "often");
}

// ================================================================ expressions

TEST(WorkflowErrors, WhenDoesNotParse) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: 'report.severity >= * 2'\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "* 2");
}

TEST(WorkflowErrors, WhenEndsEarly) {
  // The offending "token" is the end of the expression: just after its last character.
  std::string t = simple("",
                         "    on:\n      finish:\n        when: 'report.severity >='\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "'\n        goto");
}

TEST(WorkflowErrors, WhenNamesAnUnknownRoot) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: 'report.x == 1 && reprot.y'\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "reprot");
}

TEST(WorkflowErrors, PlainScalarExpression) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: case.level == grid\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "grid\n");
}

TEST(WorkflowErrors, UnknownCaseField) {
  std::string t = simple("vars: { tier: minor }\n",
                         "    on:\n      finish: { goto: done, when: 'case.teir == \"x\"' }\n");
  EXPECT_ERROR_AT(t, "teir");
}

TEST(WorkflowLoad, DeclaredVarsAndBuiltinsAreCaseFields) {
  EXPECT_LOADS(
      simple("vars: { tier: minor }\n",
             "    on:\n      finish:\n        goto: done\n        when: 'case.tier == \"x\""
             " && case.report_count > 1 && size(case.co_handlers) == 0 && case.unit != "
             "null && case.opened_at < now && case.level_since <= now && case.id != "
             "\"\" && case.state == \"a\"'\n"));
}

TEST(WorkflowErrors, UnknownEventField) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, when: 'event.actr == \"x\"' }\n");
  EXPECT_ERROR_AT(t, "actr");
}

TEST(WorkflowErrors, UnknownFunction) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, when: 'len(report.title) > 3' }\n");
  EXPECT_ERROR_AT(t, "len(");
}

TEST(WorkflowErrors, WrongArity) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, when: 'size(report.a, report.b) > 3' }\n");
  EXPECT_ERROR_AT(t, "size");
}

TEST(WorkflowErrors, MatchDoesNotParse) {
  std::string t = simple("match: 'report.category ==== \"x\"'\n", kGo);
  EXPECT_ERROR_AT(t, "== \"x\"");
}

TEST(WorkflowErrors, MatchNamesAnUnknownRoot) {
  std::string t = simple("match: 'rep.category == \"x\"'\n", kGo);
  EXPECT_ERROR_AT(t, "rep.");
}

TEST(WorkflowErrors, CorrelateKeyDoesNotParse) {
  std::string t = simple("correlate: { key: 'report.household +', window: 2h }\n", kGo);
  EXPECT_ERROR_AT(t, "', window");
}

TEST(WorkflowErrors, CorrelateKeyUnknownRoot) {
  std::string t = simple("correlate: { key: 'household', window: 2h }\n", kGo);
  EXPECT_ERROR_AT(t, "household");
}

TEST(WorkflowErrors, SetExpressionDoesNotParse) {
  std::string t = simple("vars: { n: 0 }\n",
                         "    on:\n      finish: { goto: done, set: { n: '= case.n + )' } }\n");
  EXPECT_ERROR_AT(t, ")'");
}

TEST(WorkflowErrors, SetExpressionUnknownRoot) {
  std::string t = simple("vars: { n: 0 }\n",
                         "    on:\n      finish: { goto: done, set: { n: '=kase.n + 1' } }\n");
  EXPECT_ERROR_AT(t, "kase");
}

TEST(WorkflowErrors, CoHandleDoesNotParse) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, co_handle: 'report.hukou_township.' }\n");
  EXPECT_ERROR_AT(t, "' }");
}

TEST(WorkflowErrors, CoHandleUnknownRoot) {
  std::string t = simple("", "    on:\n      finish: { goto: done, co_handle: 'hukou' }\n");
  EXPECT_ERROR_AT(t, "hukou");
}

TEST(WorkflowErrors, CoHandleIsWrittenWithoutEquals) {
  std::string t =
      simple("", "    on:\n      finish: { goto: done, co_handle: '= report.hukou_township' }\n");
  Loaded l = load(t);
  EXPECT_FALSE(l.wf.has_value()) << l.dump();
}

TEST(WorkflowErrors, ExpressionOnALaterLine) {
  // A multi-line flow mapping: the position is on the expression's own line.
  std::string t = simple("",
                         "    on:\n      finish: {\n        goto: done,\n"
                         "        when: 'report.x == 1 && bad' }\n");
  EXPECT_ERROR_AT(t, "bad");
}

TEST(WorkflowErrors, ByUnknownRole) {
  EXPECT_ERROR_AT(simple("", "    on:\n      finish: { goto: done, by: [assignee, boss] }\n"),
                  "boss");
}

// Columns count code points: Chinese text before the expression on the same line must not
// shift the position.
TEST(WorkflowErrors, ExpressionColumnAfterChineseText) {
  std::string t =
      simple("", "    on:\n      结案: { goto: done, when: 'report.x == 1 && oops' }\n");
  EXPECT_ERROR_AT(t, "oops");
}

TEST(WorkflowErrors, NodeColumnAfterChineseText) {
  std::string t = simple("", "    on:\n      结案: { goto: nowhere }\n");
  EXPECT_ERROR_AT(t, "nowhere");
}

// Inside a double-quoted scalar the file has escapes: the column must be the token's
// column in the file, not in the unescaped text.
TEST(WorkflowErrors, ExpressionColumnInADoubleQuotedScalarWithEscapes) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: \"report.c == \\\"x\\\" && oops\"\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "oops");
}

// A literal block scalar: the expression starts on the line after `|`, indented.
TEST(WorkflowErrors, ExpressionPositionInABlockScalar) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: |\n          report.x == 1 &&\n"
                         "            oops\n        goto: done\n");
  EXPECT_ERROR_AT(t, "oops");
}

// A folded block scalar, and a plain scalar continued on the next line: YAML joins the
// lines with a space, but the position is still the token's line and column in the file.
TEST(WorkflowErrors, ExpressionPositionInAFoldedScalar) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: >-\n          report.x == 1\n"
                         "          && oops\n        goto: done\n");
  EXPECT_ERROR_AT(t, "oops");
}

TEST(WorkflowErrors, ExpressionPositionInAMultiLinePlainScalar) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: report.x == 1\n"
                         "          && oops\n        goto: done\n");
  EXPECT_ERROR_AT(t, "oops");
}

// In a single-quoted scalar '' stands for one quote: columns are the file's.
TEST(WorkflowErrors, ExpressionColumnInASingleQuotedScalarWithDoubledQuotes) {
  std::string t = simple("",
                         "    on:\n      finish:\n        when: 'report.c == ''x'' && oops'\n"
                         "        goto: done\n");
  EXPECT_ERROR_AT(t, "oops");
}

// A UTF-8 byte order mark is not a column: positions are the same as without it.
TEST(WorkflowErrors, ByteOrderMarkDoesNotShiftColumns) {
  std::string body =
      simple("", "    on:\n      finish: { goto: dnoe, when: 'report.x == 1 && oops' }\n");
  Loaded plain = load(body);
  EXPECT_TRUE(plain.has(at(body, "dnoe"))) << plain.dump();
  EXPECT_TRUE(plain.has(at(body, "oops"))) << plain.dump();
  Loaded bom = load("\xEF\xBB\xBF" + body);
  EXPECT_FALSE(bom.wf.has_value());
  EXPECT_TRUE(bom.has(at(body, "dnoe"))) << bom.dump();
  EXPECT_TRUE(bom.has(at(body, "oops"))) << bom.dump();
}

TEST(WorkflowLoad, ByteOrderMarkAndCrlfAreAccepted) {
  std::string t = simple("description: 小事不出网格\n", kGo);
  std::string crlf;
  for (char c : t) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  Loaded l = load("\xEF\xBB\xBF" + crlf);
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.wf->description, "小事不出网格");
}

TEST(WorkflowErrors, YamlSyntaxAfterChineseText) {
  std::string t = kHead + "description: 小事: x\n" + kLadder;
  EXPECT_ERROR_AT(t, ": x");
}

TEST(WorkflowLoad, LargeIntegerLiteralsStayIntegers) {
  // 19 digits, inside the 64-bit range: a plain scalar number is an integer literal.
  Loaded l = load(simple("vars: { big: 9000000000000000000, neg: -9000000000000000000 }\n", kGo));
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.wf->vars[0].second, Value(static_cast<int64_t>(9000000000000000000LL)));
  EXPECT_EQ(l.wf->vars[1].second, Value(static_cast<int64_t>(-9000000000000000000LL)));
}

// ================================================================ warnings

TEST(WorkflowWarnings, UnreachableState) {
  std::string t = simple("", kGo + "  orphan:\n    on:\n      finish: { goto: done }\n");
  EXPECT_WARNING_AT(t, "orphan");
}

TEST(WorkflowWarnings, NoFinalStateReachable) {
  std::string t = kHead + kLadder +
                  "initial: a\nstates:\n  a:\n    on:\n      go: { goto: b }\n"
                  "      finish: { goto: done }\n  b:\n    on:\n      again: { goto: b }\n"
                  "  done:\n    final: true\n";
  Loaded l = load(t);
  EXPECT_WARNING_AT(t, "b:");
  EXPECT_EQ(l.warnings(), 1) << l.dump();  // a reaches done: only b is a dead end
}

TEST(WorkflowWarnings, NoFinalStateAtAll) {
  std::string t = kHead + kLadder + "initial: a\nstates:\n  a:\n    on:\n      go: { goto: a }\n";
  EXPECT_WARNING_AT(t, "a:");
}

TEST(WorkflowWarnings, NeverMatchingWorkflow) {
  EXPECT_WARNING_AT(simple("match: 'false'\n", kGo), "'false'");
  EXPECT_WARNING_AT(simple("match: '1 > 2'\n", kGo), "'1 > 2'");
  EXPECT_WARNING_AT(simple("match: 'false && report.category == \"x\"'\n", kGo), "'false");
}

TEST(WorkflowWarnings, MatchingWorkflowHasNoWarning) {
  for (const char* m :
       {"'true'", "'report.category == \"x\"'", "'report.severity >= 4 || false'"}) {
    SCOPED_TRACE(m);
    Loaded l = load(simple(std::string("match: ") + m + "\n", kGo));
    ASSERT_TRUE(l.wf.has_value()) << l.dump();
    EXPECT_TRUE(l.diags.all().empty()) << l.dump();
  }
}

TEST(WorkflowWarnings, WarningsAreNotErrors) {
  std::string t =
      simple("match: 'false'\n", kGo + "  orphan:\n    on:\n      x: { goto: orphan }\n");
  Loaded l = load(t);
  ASSERT_TRUE(l.wf.has_value()) << l.dump();
  EXPECT_EQ(l.diags.error_count(), 0);
  EXPECT_GE(l.warnings(), 2);
}

}  // namespace
}  // namespace gridcase
