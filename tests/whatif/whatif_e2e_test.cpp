// `gridcase whatif` end to end on generated reports: on a month of them the same rules give
// identical figures and no differing case; a shorter grid SLA gives more grid breaches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/fixtures/run_binary.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using gridcase::testing::slurp;

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class WhatifE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp = fs::temp_directory_path() / ("gridcase-whatif-" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    fs::create_directories(tmp / "config");
    // The layout of the repo (a workflow may name ../config/calendar-2026.yaml).
    fs::copy(src / "workflows", tmp / "workflows", fs::copy_options::recursive);
    fs::copy_file(src / "config" / "calendar-2026.yaml", tmp / "config" / "calendar-2026.yaml");
  }
  void generate(int lines) {
    ASSERT_EQ(run(bin + " generate --org " + (src / "config/org.yaml").string() + " --events " +
                  std::to_string(lines) + " --seed 7 --start 2026-06-01T00:00:00Z --out " +
                  (tmp / "events.jsonl").string()),
              0);
  }
  void TearDown() override { fs::remove_all(tmp); }

  json whatif(const fs::path& against, const std::string& extra = "") {
    fs::path out = tmp / "out.json";
    int rc = run(bin + " whatif --org " + (src / "config/org.yaml").string() + " --workflows " +
                 (tmp / "workflows").string() + " --against " + against.string() + " --events " +
                 (tmp / "events.jsonl").string() + " --until 2026-07-15T00:00:00Z --json " + extra +
                 " >" + out.string() + " 2>" + (tmp / "err").string());
    EXPECT_EQ(rc, 0) << slurp(tmp / "err");
    return json::parse(slurp(out));
  }

  fs::path src = GRIDCASE_SOURCE_DIR;
  std::string bin = GRIDCASE_BINARY;
  fs::path tmp;
};

TEST_F(WhatifE2E, SameRulesOnAGeneratedMonthAreIdentical) {
  // A month of the sample county's reports and actions (the June flood week included).
  generate(28000);
  std::string text = slurp(tmp / "events.jsonl");
  std::smatch m;
  std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  ASSERT_TRUE(std::regex_search(last, m, std::regex("\"at\": ?\"(2026-0[67]-\\d\\d)")));
  EXPECT_GE(m[1].str(), "2026-06-28") << last;

  json j = whatif(tmp / "workflows");
  EXPECT_GT(j["old"]["cases"].get<int>(), 1000);
  EXPECT_EQ(j["old"], j["new"]);
  EXPECT_EQ(j["differing_cases"], 0);
  EXPECT_EQ(j["same_outcome_other_history"], 0);
  EXPECT_TRUE(j["differences"].empty());
  // Not a TTY: progress comes as lines, every 10 %.
  std::string err = slurp(tmp / "err");
  EXPECT_NE(err.find("回放 replay: 50%"), std::string::npos) << err;
  EXPECT_NE(err.find("回放 replay: 100%"), std::string::npos) << err;
}

TEST_F(WhatifE2E, ShorterGridSlaOnGeneratedReports) {
  generate(8000);
  fs::create_directories(tmp / "new");
  std::string wf = slurp(tmp / "workflows" / "grid-escalation.yaml");
  size_t at = wf.find("  grid: 24h");
  ASSERT_NE(at, std::string::npos);
  wf.replace(at, 11, "  grid: 12h");
  fs::create_directories(tmp / "new" / "workflows");
  for (const auto& e : fs::directory_iterator(tmp / "workflows")) {
    if (e.is_regular_file())
      fs::copy_file(e.path(), tmp / "new" / "workflows" / e.path().filename());
  }
  std::ofstream(tmp / "new" / "workflows" / "grid-escalation.yaml", std::ios::trunc) << wf;
  fs::copy(tmp / "config", tmp / "new" / "config", fs::copy_options::recursive);
  json j = whatif(tmp / "new" / "workflows", "--html " + (tmp / "r.html").string());
  EXPECT_EQ(j["old"]["cases"], j["new"]["cases"]);
  EXPECT_GT(j["new"]["sla_breaches"]["grid"].get<int>(),
            j["old"]["sla_breaches"]["grid"].get<int>());
  EXPECT_GT(j["differing_cases"].get<int>(), 0);
  EXPECT_LT(j["new"]["closed_in_grid"].get<double>(), j["old"]["closed_in_grid"].get<double>());
  const json& d = j["differences"][0];
  EXPECT_GE(d["diverge_seq"].get<int>(), 2);
  std::string html = slurp(tmp / "r.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find(d["case_id"].get<std::string>()), std::string::npos);
}

}  // namespace
