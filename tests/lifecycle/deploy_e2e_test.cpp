// gridcase deploy / history workflows / diff, and a case opened on v1 that keeps running on
// v1 after v2 is deployed, through the binary and a real state directory (RocksDB).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/fixtures/run_binary.hpp"

namespace fs = std::filesystem;
using gridcase::testing::CmdResult;
using gridcase::testing::slurp;
using nlohmann::json;

namespace {

std::string workflow(const std::string& remind, const std::string& resolve_goto = "closed") {
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
      resolve: { goto: )" +
         resolve_goto + R"( }
      sla_expired: { level: up }
  closed:
    final: true
)";
}

class Deploy : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp = fs::temp_directory_path() / ("gridcase-deploy-" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    for (const char* d : {"v1", "v2", "bad"}) fs::create_directories(tmp / d);
    std::ofstream(tmp / "v1" / "small.yaml") << workflow("12h");
    std::ofstream(tmp / "v2" / "small.yaml") << workflow("6h");
    std::ofstream(tmp / "bad" / "small.yaml") << workflow("6h", "nowhere");
  }
  void TearDown() override { fs::remove_all(tmp); }

  CmdResult run(const std::string& args) {
    return gridcase::testing::run_command(std::string(GRIDCASE_BINARY) + " " + args, tmp);
  }
  std::string org() const { return std::string(GRIDCASE_SOURCE_DIR) + "/config/org.yaml"; }
  std::string state() const { return (tmp / "state").string(); }
  CmdResult deploy(const char* dir, const char* actor) {
    return run("deploy " + (tmp / dir / "small.yaml").string() + " --org " + org() +
               " --state-dir " + state() + " --actor " + actor);
  }
  CmdResult simulate(const std::string& events, const char* until) {
    fs::path f = tmp / "events.jsonl";
    std::ofstream(f, std::ios::trunc) << events;
    return run("simulate --no-progress --org " + org() + " --workflows " + (tmp / "v1").string() +
               " --state-dir " + state() + " --events " + f.string() + " --until " + until);
  }
  fs::path tmp;
};

int reminders(const std::string& lines, const std::string& case_id) {
  int n = 0;
  std::istringstream in(lines);
  std::string l;
  while (std::getline(in, l)) {
    auto e = json::parse(l);
    if (e["case_id"] == case_id && e["type"] == "transition" && e["trigger"] == "remind") ++n;
  }
  return n;
}

TEST_F(Deploy, CaseOpenedOnV1FinishesOnV1AfterV2) {
  CmdResult r = deploy("v1", "alice");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("已部署 deployed: small v1"), std::string::npos) << r.out;
  r = deploy("v1", "alice");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("未变化 unchanged: small v1"), std::string::npos) << r.out;

  // A bad file never replaces the live version; the error names the place.
  r = deploy("bad", "carol");
  EXPECT_EQ(r.status, 1);
  std::string bad = (tmp / "bad" / "small.yaml").string();
  EXPECT_NE(r.err.find(bad + ":16:24: error: goto to unknown state 'nowhere'"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("现行版本不变 / live versions unchanged"), std::string::npos);

  // r-1 opens on v1.
  r = simulate(
      R"({"type": "report", "at": "2026-06-01T00:00:00Z", "report": {"report_id": "r-1", "grid": "jjbl-c1-g01", "category": "road"}})"
      "\n",
      "2026-06-01T01:00:00Z");
  ASSERT_EQ(r.status, 0) << r.err;

  r = deploy("v2", "bob");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("已部署 deployed: small v2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("改动 changed: states.handling"), std::string::npos) << r.out;

  // r-2 opens on v2; r-1 keeps v1's 12-hour reminders (v2 would remind it 3 times by then).
  r = simulate(
      R"({"type": "report", "at": "2026-06-01T01:30:00Z", "report": {"report_id": "r-2", "grid": "jjbl-c1-g02", "category": "road"}})"
      "\n",
      "2026-06-02T00:30:00Z");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(reminders(r.out, "r-1"), 2) << r.out;  // 12:00, 00:00
  EXPECT_EQ(reminders(r.out, "r-2"), 3) << r.out;  // 07:30, 13:30, 19:30

  // The audit trail: who, when, what, the content hash.
  r = run("history workflows --json --state-dir " + state());
  ASSERT_EQ(r.status, 0) << r.err;
  json h = json::parse(r.out);
  ASSERT_EQ(h.size(), 4u) << h.dump(2);
  EXPECT_EQ(h[0]["action"], "deploy");
  EXPECT_EQ(h[0]["actor"], "alice");
  EXPECT_EQ(h[0]["version"], 1);
  EXPECT_EQ(h[0]["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(h[1]["action"], "unchanged");
  EXPECT_EQ(h[1]["hash"], h[0]["hash"]);
  EXPECT_EQ(h[2]["action"], "rejected");
  EXPECT_EQ(h[2]["actor"], "carol");
  EXPECT_NE(h[2]["change"].get<std::string>().find("goto to unknown state"), std::string::npos);
  EXPECT_EQ(h[3]["action"], "deploy");
  EXPECT_EQ(h[3]["actor"], "bob");
  EXPECT_EQ(h[3]["version"], 2);
  EXPECT_NE(h[3]["hash"], h[0]["hash"]);
  EXPECT_FALSE(h[3]["at"].get<std::string>().empty());

  r = run("diff small 1 2 --state-dir " + state());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("-      - { after: 12h, event: remind, repeat: true }"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("+      - { after: 6h, event: remind, repeat: true }"), std::string::npos);
  EXPECT_EQ(run("diff small 1 7 --state-dir " + state()).status, 2);

  // Migration: a dry run lists r-1 and changes nothing; the real one writes a case event.
  const std::string migrate = "migrate small --to 2 --org " + org() + " --state-dir " + state();
  r = run(migrate + " --dry-run");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("可迁移 would move r-1 v1 → v2"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  r = run(migrate + " --dry-run --where 'case.level == \"county\"'");
  EXPECT_NE(r.err.find("0 件可迁移 movable"), std::string::npos) << r.err;
  r = run(migrate + " --dry-run --where 'report.category == \"road\" && case.level != \"grid\"'");
  EXPECT_NE(r.err.find("1 件可迁移 movable"), std::string::npos) << r.err;
  r = run(migrate + " --dry-run --where 'case.nope'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--where:1:6: error:"), std::string::npos) << r.err;
  r = run(migrate);
  ASSERT_EQ(r.status, 0) << r.err;
  json m = json::parse(r.out);
  EXPECT_EQ(m["case_id"], "r-1");
  EXPECT_EQ(m["type"], "migrated");
  EXPECT_EQ(m["from_version"], 1);
  EXPECT_EQ(m["to_version"], 2);
  EXPECT_EQ(m["at"], "2026-06-02T00:30:00Z");  // the engine's clock
  r = run(migrate + " --dry-run");
  EXPECT_NE(r.err.find("0 件可迁移 movable"), std::string::npos) << r.err;
  // Now r-1 follows v2: reminders every 6 h from the migration (06:30, 12:30), where v1
  // would have reminded it once (12:00).
  r = simulate("", "2026-06-02T13:00:00Z");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(reminders(r.out, "r-1"), 2) << r.out;
}

// The org tree is deployed like a workflow: validated (with its place), checked against
// every stored version and the open cases, versioned, on record; the engine then runs on it.
TEST_F(Deploy, OrgTreeIsDeployedValidatedAndVersioned) {
  std::string org_text = slurp(org());
  fs::path org_file = tmp / "org.yaml";
  // Writes the tree and deploys it (with `more` files and flags).
  auto deploy_org = [&](const std::string& text, const std::string& more = "") {
    std::ofstream(org_file, std::ios::trunc) << text;
    return run("deploy " + org_file.string() + more + " --org " + org() + " --state-dir " +
               state());
  };
  auto report_from = [](const char* id, const char* grid, const char* at) {
    return std::string(R"({"type": "report", "at": ")") + at + R"(", "report": {"report_id": ")" +
           id + R"(", "grid": ")" + grid + R"(", "category": "road"}})" + "\n";
  };
  CmdResult r = deploy_org(org_text, " " + (tmp / "v1" / "small.yaml").string() + " --actor ann");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("已部署 deployed: 组织架构 org tree v1"), std::string::npos) << r.out;
  r = simulate(report_from("r-1", "jjbl-c1-g01", "2026-06-01T00:00:00Z"), "2026-06-01T01:00:00Z");
  ASSERT_EQ(r.status, 0) << r.err;

  // A syntax error: refused at its place.
  r = deploy_org(org_text + "  - { id: [\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(org_file.string() + ":"), std::string::npos) << r.err;
  // A tree without the grid where r-1 is open: refused, it would strand the case.
  std::string renamed = org_text;
  for (size_t at; (at = renamed.find("jjbl-c1-g01,")) != std::string::npos;) {
    renamed.replace(at, 12, "jjbl-c1-gXX,");
  }
  r = deploy_org(renamed);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("open case 'r-1' is at unit 'jjbl-c1-g01', which this org tree lacks"),
            std::string::npos)
      << r.err;
  // A tree with one more grid: version 2, and the engine runs on it (a report from the new
  // grid opens a case; on the file's tree it would be refused).
  std::string grown = org_text;
  size_t line = grown.find("              - { id: jjbl-c1-g01,");
  ASSERT_NE(line, std::string::npos);
  grown.insert(line,
               "              - { id: jjbl-c1-g99, name: 新网格, level: grid, households: 10 }\n");
  r = deploy_org(grown, " --actor bo");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("已部署 deployed: 组织架构 org tree v2"), std::string::npos) << r.out;
  r = simulate(report_from("r-2", "jjbl-c1-g99", "2026-06-01T02:00:00Z"), "2026-06-01T03:00:00Z");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(R"("case_id": "r-2", "seq": 1, "type": "opened")"), std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.err.find("running the deployed org tree v2"), std::string::npos) << r.err;

  r = run("history workflows --json --state-dir " + state());
  ASSERT_EQ(r.status, 0) << r.err;
  json h = json::parse(r.out);
  std::vector<std::string> org_actions;
  for (const auto& a : h) {
    if (a["name"] == "@org" || a["file"] == org_file.string()) {
      org_actions.push_back(a["action"].get<std::string>() + " " +
                            std::to_string(a["version"].get<int>()));
    }
  }
  EXPECT_EQ(org_actions,
            (std::vector<std::string>{"deploy 1", "rejected 0", "rejected 0", "deploy 2"}))
      << h.dump(2);
}

}  // namespace
