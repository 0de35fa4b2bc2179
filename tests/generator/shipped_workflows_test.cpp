// The generator against the shipped data: config/org.yaml and workflows/*.yaml through the
// real engine. Every line must parse as an input event, every report must open or join a
// case, and the generator's mirror of the workflows must be good enough that no action is
// rejected and no rule fails.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "connectors/json_events.hpp"
#include "engine/diagnostics.hpp"
#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "engine/workflow.hpp"
#include "generator/generator.hpp"
#include "storage/memory_store.hpp"

namespace gridcase::gen {
namespace {

struct CountingSink final : EventSink {
  std::map<std::string, int64_t> by_type;
  std::map<std::string, int64_t> rejected_by_trigger;
  std::vector<std::string> samples;
  void emit(const CaseEvent& e) override {
    ++by_type[e.type];
    if ((e.type == "event_rejected" || e.type == "rule_error") && samples.size() < 5) {
      samples.push_back(e.case_id + " " + e.type + " " + e.workflow + " " + e.state + " " +
                        e.level + " " + e.trigger);
    }
    if (e.type == "event_rejected") ++rejected_by_trigger[e.trigger];
  }
};

std::optional<Engine> shipped_engine() {
  const std::string root = GRIDCASE_SOURCE_DIR;
  Diagnostics diags;
  auto org = load_org_file(root + "/config/org.yaml", diags);
  std::optional<std::vector<Workflow>> wfs;
  if (org) wfs = load_workflows({root + "/workflows"}, &*org, diags);
  for (const auto& d : diags.all()) {
    if (d.severity == Diagnostic::Severity::Error) ADD_FAILURE() << d.format();
  }
  if (!org || !wfs) return std::nullopt;
  return Engine(std::make_shared<const Org>(std::move(*org)), std::move(*wfs));
}

void run_through_engine(const Options& opt) {
  auto engine = shipped_engine();
  ASSERT_TRUE(engine.has_value());
  std::ostringstream out;
  generate(engine->org(), opt, out);

  MemoryStore store;
  CountingSink sink;
  Processor proc(*engine, store, sink);
  ASSERT_TRUE(proc.init().ok());
  std::istringstream in(out.str());
  std::string line;
  int64_t lineno = 0, actions = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto ev = json::parse_input_event(line, engine->org());
    ASSERT_TRUE(ev.ok()) << lineno << ": " << ev.error().message << "\n" << line;
    actions += line.starts_with(R"({"type":"action")");
    auto v = proc.process(*ev);
    ASSERT_NE(v.outcome, Processor::Outcome::Bad) << lineno << ": " << v.error << "\n" << line;
    EXPECT_TRUE(v.warnings.empty()) << lineno;
  }
  EXPECT_EQ(lineno, opt.events);
  EXPECT_GT(actions, 0);
  EXPECT_EQ(sink.by_type["rule_error"], 0);
  EXPECT_EQ(sink.by_type["event_rejected"], 0) << [&] {
    std::string s;
    for (const auto& [t, n] : sink.rejected_by_trigger) s += t + ":" + std::to_string(n) + " ";
    for (const auto& x : sink.samples) s += "\n  " + x;
    return s;
  }();
  EXPECT_GT(sink.by_type["closed"], 0);
  EXPECT_GT(sink.by_type["report_merged"], 0);
  EXPECT_GT(sink.by_type["co_handler_added"], 0);
}

TEST(GeneratorOnShippedWorkflows, DefaultStreamIsAcceptedWhole) {
  Options opt;
  opt.events = 12000;
  run_through_engine(opt);
}

TEST(GeneratorOnShippedWorkflows, OtherSeedAndBusierActions) {
  Options opt;
  opt.events = 12000;
  opt.seed = 7;
  opt.action_share = 0.75;
  run_through_engine(opt);
}

}  // namespace
}  // namespace gridcase::gen
