// Runs `gridcase simulate` on every scenario of the suites and compares with the expected
// output (see README.md here).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  return s;
}

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

struct Scenario {
  fs::path suite;
  fs::path dir;
  std::string name() const { return suite.filename().string() + "/" + dir.filename().string(); }
};

std::vector<Scenario> all_scenarios() {
  std::vector<Scenario> out;
  std::string suites = GRIDCASE_SUITES;  // '|'-separated
  std::istringstream in(suites);
  std::string s;
  while (std::getline(in, s, '|')) {
    fs::path suite(s);
    if (!fs::exists(suite / "suite.yaml")) continue;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(suite)) {
      if (e.is_directory() && fs::exists(e.path() / "events.jsonl")) dirs.push_back(e.path());
    }
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) out.push_back({suite, d});
  }
  return out;
}

struct SimRun {
  int status = -1;
  std::string out, err, cases;
};

SimRun simulate(const Scenario& sc, bool with_state) {
  YAML::Node suite = YAML::LoadFile((sc.suite / "suite.yaml").string());
  fs::path tmp = fs::temp_directory_path() / ("gridcase-scenario-" + std::to_string(::getpid()) +
                                              "-" + sc.dir.filename().string());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::string cmd = quote(GRIDCASE_BINARY) + " simulate --no-progress --org " +
                    quote((sc.suite / suite["org"].as<std::string>()).string()) + " --workflows " +
                    quote((sc.suite / suite["workflows"].as<std::string>()).string()) +
                    " --events " + quote((sc.dir / "events.jsonl").string()) + " --until " +
                    quote(trim(slurp(sc.dir / "until"))) + " --cases " +
                    quote((tmp / "cases.json").string());
  if (with_state) cmd += " --state-dir " + quote((tmp / "state").string());
  cmd += " >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  SimRun r;
  int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  r.cases = fs::exists(tmp / "cases.json") ? slurp(tmp / "cases.json") : "";
  fs::remove_all(tmp);
  return r;
}

json normalise(json e) {
  for (const char* k : {"reason", "message", "location"}) {
    if (e.contains(k)) e[k] = !e[k].is_null() && e[k] != "";
  }
  return e;
}

std::vector<json> lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (!trim(l).empty()) out.push_back(normalise(json::parse(l)));
  }
  return out;
}

std::set<std::string> bad_lines(const std::string& text) {
  std::set<std::string> out;
  std::regex re(":(\\d+): error");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

json by_case_id(json cases) {
  std::sort(cases.begin(), cases.end(), [](const json& a, const json& b) {
    return a.value("case_id", "") < b.value("case_id", "");
  });
  return cases;
}

class ScenarioTest : public ::testing::TestWithParam<Scenario> {};

void check(const Scenario& sc, const SimRun& r) {
  auto want = lines(slurp(sc.dir / "expected.jsonl"));
  std::vector<json> got;
  ASSERT_NO_THROW(got = lines(r.out)) << "stdout is not JSON Lines:\n" << r.out;
  for (size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    ASSERT_LT(i, got.size()) << "missing case event " << i + 1 << ": " << want[i].dump();
    ASSERT_LT(i, want.size()) << "extra case event " << i + 1 << ": " << got[i].dump();
    ASSERT_EQ(want[i], got[i]) << "case event " << i + 1;
  }
  json want_cases = by_case_id(json::parse(slurp(sc.dir / "expected-cases.json")));
  ASSERT_FALSE(r.cases.empty()) << "no --cases file written; stderr:\n" << r.err;
  EXPECT_EQ(want_cases, by_case_id(json::parse(r.cases)));
  auto want_bad = bad_lines(slurp(sc.dir / "expected-stderr.txt"));
  EXPECT_EQ(want_bad, bad_lines(r.err)) << "stderr:\n" << r.err;
  EXPECT_EQ(want_bad.empty() ? 0 : 1, r.status) << "stderr:\n" << r.err;
}

TEST_P(ScenarioTest, InMemory) {
  check(GetParam(), simulate(GetParam(), false));
}

TEST_P(ScenarioTest, WithRocksDbState) {
  check(GetParam(), simulate(GetParam(), true));
}

TEST_P(ScenarioTest, SameInputSameBytes) {
  SimRun a = simulate(GetParam(), false);
  SimRun b = simulate(GetParam(), true);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.cases, b.cases);
  EXPECT_EQ(a.status, b.status);
}

INSTANTIATE_TEST_SUITE_P(Suites, ScenarioTest, ::testing::ValuesIn(all_scenarios()),
                         [](const auto& info) {
                           std::string n = info.param.name();
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
