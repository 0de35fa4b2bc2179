// config/gridcase.yaml checked: by `gridcase validate` (as one of the files given) and by
// `gridcase serve` before it starts. Wrong values are located errors; an unknown key is a
// located warning naming the key meant (it is ignored, as it always was).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fixtures/run_binary.hpp"

namespace fs = std::filesystem;
using gridcase::testing::run_command;

namespace {

class ServeConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp = fs::temp_directory_path() / ("gridcase-serve-config-" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    fs::create_directories(tmp / "conf");
  }
  void TearDown() override { fs::remove_all(tmp); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path p = tmp / "conf" / name;
    std::ofstream(p) << text;
    return p.string();
  }
  gridcase::testing::CmdResult gridcase(const std::string& args) {
    return run_command(std::string(GRIDCASE_BINARY) + " " + args, tmp);
  }
  static std::string source(const std::string& rel) {
    return std::string(GRIDCASE_SOURCE_DIR) + "/" + rel;
  }

  // Each of `wants` is told about `file` (FILE + ":LINE:COL: ...").
  static void expect_each(const std::string& err, const std::string& file,
                          std::initializer_list<std::string> wants) {
    for (const std::string& want : wants) {
      EXPECT_NE(err.find(file + want), std::string::npos) << want << "\n" << err;
    }
  }

  fs::path tmp;
};

TEST_F(ServeConfig, TheShippedConfigValidatesWithTheOrgAndCalendar) {
  auto r = gridcase("validate " + source("config"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("1 个服务配置 serve config(s)"), std::string::npos) << r.out;
}

TEST_F(ServeConfig, AMisspeltKeyIsAWarningAtItsPlaceNamingTheKeyMeant) {
  std::string f = write("gridcase.yaml",
                        "org: config/org.yaml\n"
                        "engine:\n"
                        "  max_bach: 500\n");
  auto r = gridcase("validate " + f);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(f + ":3:3: warning: unknown key 'max_bach' in engine, ignored (did you "
                           "mean 'max_batch'?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("1 个警告 warning(s)"), std::string::npos) << r.out;
}

TEST_F(ServeConfig, WrongValuesAreErrorsAtTheirPlace) {
  std::string f = write("gridcase.yaml",
                        "kafka:\n"
                        "  partitions: 0\n"
                        "  exactly_once: maybe\n"
                        "engine:\n"
                        "  poll_timeout_ms: soon\n"
                        "http:\n"
                        "  rate_limit:\n"
                        "    per_second: fast\n"
                        "webhooks:\n"
                        "  - url: http://127.0.0.1:9/hook\n"
                        "log:\n"
                        "  level: verbose\n"
                        "  format: xml\n");
  auto r = gridcase("validate " + f);
  EXPECT_EQ(r.status, 1);
  expect_each(r.err, f,
              {
                  ":2:15: error: kafka.partitions must be at least 1",
                  ":3:17: error: kafka.exactly_once must be true or false",
                  ":5:20: error: engine.poll_timeout_ms must be an integer",
                  ":8:17: error: http.rate_limit.per_second must be a number",
                  ":10:5: error: webhooks[0]: 'unit' is required",
                  ":12:10: error: log.level must be one of:",
                  ":13:11: error: log.format must be one of: text, json (not 'xml')",
              });
  EXPECT_NE(r.err.find("7 个错误 error(s)"), std::string::npos) << r.err;
}

TEST_F(ServeConfig, ServeDoesNotStartOnAWrongValue) {
  std::string f = write("gridcase.yaml", "engine:\n  max_batch: -5\n");
  auto r =
      gridcase("serve --config " + f + " --org " + source("config/org.yaml") + " --workflows " +
               source("workflows") + " --state-dir " + (tmp / "state").string() + " --until-idle");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(f + ":2:14: error: engine.max_batch must be at least 1"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(tmp / "state"));  // nothing was opened
}

TEST_F(ServeConfig, ServeRunsWithAnUnknownKeyAndSaysSo) {
  std::string f = write("gridcase.yaml", "engine:\n  max_batch: 100\n  batch_max: 5\n");
  auto r =
      gridcase("serve --config " + f + " --org " + source("config/org.yaml") + " --workflows " +
               source("workflows") + " --state-dir " + (tmp / "state").string() + " --until-idle");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(f + ":3:3: warning: unknown key 'batch_max' in engine, ignored"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(fs::exists(tmp / "state"));
}

TEST_F(ServeConfig, ABrokenDocumentIsAYamlErrorAtItsPlace) {
  std::string f = write("gridcase.yaml", "engine:\n  max_batch: [1,\n");
  auto r = gridcase("serve --config " + f + " --state-dir " + (tmp / "state").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(f + ":3:1: error: YAML syntax: "), std::string::npos) << r.err;
}

TEST_F(ServeConfig, WhatServeReadsIsAccepted) {
  // yaml-cpp's readings: on/off, hex integers, .inf; a rate of 0 or less is no limit.
  std::string f = write("gridcase.yaml",
                        "state_dir: state\n"
                        "kafka:\n"
                        "  exactly_once: on\n"
                        "  brokers:\n"
                        "http:\n"
                        "  body_limit: 0x100000\n"
                        "  rate_limit:\n"
                        "    per_second: -1\n"
                        "    burst: .inf\n"
                        "log:\n");
  auto r = gridcase("validate " + f);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(ServeConfig, EmptyValuesServeCannotReadAreErrors) {
  std::string f =
      write("gridcase.yaml",
            "workflows:\n"
            "kafka:\n"
            "  partitions:\n"
            "  exactly_once: on\n"
            "http:\n"
            "  rate_limit: { burst: .nan }\n"
            "webhooks:\n"
            "  - { unit: u, url: 'http://127.0.0.1:9/hook', secret:, timeout_ms: 0 }\n");
  auto r = gridcase("validate " + f);
  EXPECT_EQ(r.status, 1);
  expect_each(r.err, f,
              {
                  ":1:11: error: workflows is empty",
                  ":8:55: error: webhooks[0].secret is empty",
                  ":8:69: error: webhooks[0].timeout_ms must be at least 1",
                  ":3:14: error: kafka.partitions is empty",
                  ":6:24: error: http.rate_limit.burst must be a number",
              });
}

TEST_F(ServeConfig, AFileWithOnlyOrgAndWorkflowsIsNotTakenForIt) {
  // A scenario suite (tests/scenarios) names an org and workflows too.
  std::string f = write("suite.yaml", "org: org.yaml\nworkflows: workflows\n");
  auto r = gridcase("validate " + f);
  EXPECT_EQ(r.status, 1);  // a workflow file without its keys
  EXPECT_NE(r.err.find("missing required key 'kind'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("serve config"), std::string::npos) << r.out;
}

}  // namespace
