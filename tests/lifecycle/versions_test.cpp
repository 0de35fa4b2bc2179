// Workflow versions in the engine: new cases open on the live (highest) version, a stored
// case decodes onto the version it was opened on and keeps following its rules; records
// stored before versions decode onto the live version.
#include <gtest/gtest.h>

#include "connectors/json_events.hpp"
#include "engine/codec.hpp"
#include "engine/engine.hpp"
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

}  // namespace
}  // namespace gridcase
