#pragma once
// The subcommands of the gridcase executable: wiring only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gridcase::app {

int run_validate(const std::vector<std::string>& paths);

struct SimulateOptions {
  std::string org;
  std::vector<std::string> workflows;
  std::string events = "-";
  std::optional<std::string> until;
  std::optional<std::string> cases;
  std::optional<std::string> state_dir;
  bool progress = true;  // on stderr, only when it is a terminal
  bool summary = false;  // a closing summary (zh-CN) on stderr
};
int run_simulate(const SimulateOptions& opt);

struct GenerateOptions {
  std::string org;
  int64_t events = 10000;
  uint64_t seed = 1;
  std::optional<std::string> start;
  double action_share = 0.5;
  bool no_flood_week = false;
  std::string out = "-";
};
int run_generate(const GenerateOptions& opt);

struct CasesOptions {
  std::string org;
  std::vector<std::string> workflows;
  std::string state_dir;
  std::string out = "-";
};
int run_cases(const CasesOptions& opt);

}  // namespace gridcase::app
