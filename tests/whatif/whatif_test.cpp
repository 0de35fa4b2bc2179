// What-if replays (docs/lifecycle.md): a known rule change on a small hand-written input
// gives exactly the expected differences; the same rules give none.
#include "whatif/whatif.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connectors/json_events.hpp"
#include "tests/fixtures/contract_example.hpp"

namespace gridcase {
namespace {

std::string workflow(const std::string& grid_sla) {
  return R"(apiVersion: gridcase/v1
kind: Workflow
name: small
levels: [grid, village, township, county]
sla:
  grid: )" +
         grid_sla +
         R"(
  village: 48h
initial: handling
states:
  handling:
    sla: true
    on:
      opened: {}
      resolve: { by: assignee, goto: closed }
      sla_expired: { level: up }
  closed:
    final: true
)";
}

Engine engine(const std::string& grid_sla) {
  Diagnostics d;
  auto org = load_org_text(fixtures::kContractOrgYaml, "org.yaml", d);
  auto wf = load_workflow_text(workflow(grid_sla), "small.yaml", &*org, d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  std::vector<Workflow> wfs;
  wfs.push_back(std::move(*wf));
  return Engine(std::make_shared<const Org>(std::move(*org)), std::move(wfs));
}

std::vector<InputEvent> inputs(const Engine& e) {
  const char* lines[] = {
      R"({"type": "report", "at": "2026-06-01T00:00:00Z", "report": {"report_id": "r-1", "grid": "jjbl-c1-g01", "category": "road"}})",
      R"({"type": "report", "at": "2026-06-01T00:00:00Z", "report": {"report_id": "r-2", "grid": "jjbl-c1-g02", "category": "road"}})",
      R"({"type": "report", "at": "2026-06-01T01:00:00Z", "report": {"report_id": "r-3", "grid": "dc-v1-g01", "category": "noise"}})",
      R"({"type": "action", "at": "2026-06-01T06:00:00Z", "case_id": "r-2", "action": "resolve", "actor": "w-0002"})",
      R"({"type": "action", "at": "2026-06-01T16:00:00Z", "case_id": "r-1", "action": "resolve", "actor": "w-0001"})",
  };
  std::vector<InputEvent> out;
  for (const char* l : lines) {
    auto ev = json::parse_input_event(l, e.org());
    EXPECT_TRUE(ev.ok()) << l;
    if (ev.ok()) out.push_back(std::move(ev).value());
  }
  return out;
}

const Timestamp kUntil = *parse_timestamp("2026-06-02T06:00:00Z");

TEST(Whatif, SameRulesNoDifferences) {
  Engine a = engine("24h"), b = engine("24h");
  auto in = inputs(a);
  whatif::Report r = whatif::compare(a, b, in, kUntil);
  EXPECT_TRUE(r.differences.empty());
  EXPECT_EQ(r.same_outcome_other_history, 0u);
  EXPECT_EQ(whatif::to_json(r).find("\"differing_cases\": 0") != std::string::npos, true);
  auto j = nlohmann::json::parse(whatif::to_json(r));
  EXPECT_EQ(j["old"], j["new"]);
}

// Grid SLA 24h -> 12h: r-1 (resolved after 16 h) now breaches at 12:00 and is closed at the
// village; r-2 (resolved after 6 h) is unchanged; r-3 (never resolved) reaches the village
// in both, 12 hours earlier in the new rules: same outcome, different history.
TEST(Whatif, ShorterGridSla) {
  Engine a = engine("24h"), b = engine("12h");
  auto in = inputs(a);
  uint64_t last_done = 0, last_total = 0;
  whatif::Report r = whatif::compare(a, b, in, kUntil, [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  });
  EXPECT_EQ(last_done, 10u);
  EXPECT_EQ(last_total, 10u);

  const auto& o = r.old_side;
  const auto& n = r.new_side;
  EXPECT_EQ(o.cases, 3u);
  EXPECT_EQ(n.cases, 3u);
  EXPECT_EQ(o.closed, 2u);
  EXPECT_EQ(n.closed, 2u);
  EXPECT_EQ(o.by_final_level, (std::vector<uint64_t>{2, 1, 0, 0}));
  EXPECT_EQ(n.by_final_level, (std::vector<uint64_t>{1, 2, 0, 0}));
  EXPECT_DOUBLE_EQ(o.closed_in_grid, 1.0);
  EXPECT_DOUBLE_EQ(n.closed_in_grid, 0.5);
  EXPECT_DOUBLE_EQ(n.closed_in_village, 1.0);
  EXPECT_EQ(o.breaches, (std::vector<uint64_t>{1, 0, 0, 0}));  // r-3 at 01:00 + 24 h
  EXPECT_EQ(n.breaches, (std::vector<uint64_t>{2, 0, 0, 0}));  // r-1 at 12:00, r-3 at 13:00
  EXPECT_EQ(o.escalations, (std::vector<uint64_t>{1, 0, 0, 0}));
  EXPECT_EQ(n.escalations, (std::vector<uint64_t>{2, 0, 0, 0}));

  ASSERT_EQ(r.differences.size(), 1u);
  const whatif::Difference& d = r.differences[0];
  EXPECT_EQ(d.case_id, "r-1");
  EXPECT_EQ(d.old_outcome.level, "grid");
  EXPECT_TRUE(d.old_outcome.closed);
  EXPECT_EQ(d.new_outcome.level, "village");
  EXPECT_TRUE(d.new_outcome.closed);
  // seq 1 opened, 2 transition (opened) agree; then the old rules resolve at 16:00 while
  // the new ones breach at 12:00.
  EXPECT_EQ(d.diverge_seq, 3);
  ASSERT_TRUE(d.has_old_event);
  ASSERT_TRUE(d.has_new_event);
  EXPECT_EQ(d.first_old.type, "transition");
  EXPECT_EQ(d.first_old.at, "2026-06-01T16:00:00Z");
  EXPECT_EQ(d.first_new.type, "sla_breached");
  EXPECT_EQ(d.first_new.at, "2026-06-01T12:00:00Z");
  EXPECT_EQ(d.first_new.level, "village");
  EXPECT_EQ(r.same_outcome_other_history, 1u);  // r-3

  std::string table = whatif::to_table(r);
  EXPECT_NE(table.find("结果不同的案件 cases with a different outcome: 1"), std::string::npos);
  EXPECT_NE(table.find("r-1: 旧 small/closed@grid 已结案 → 新 small/closed@village 已结案"),
            std::string::npos)
      << table;
  std::string html = whatif::to_html(r, "t");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("http://") == std::string::npos ||
                html.find("http://") == html.find("http://www.w3.org/2000/svg"),
            true);  // no external assets: the SVG namespace is the only URL
  auto j = nlohmann::json::parse(whatif::to_json(r));
  EXPECT_EQ(j["differing_cases"], 1);
  EXPECT_EQ(j["differences"][0]["case_id"], "r-1");
  EXPECT_EQ(j["new"]["sla_breaches"]["grid"], 2);
}

}  // namespace
}  // namespace gridcase
