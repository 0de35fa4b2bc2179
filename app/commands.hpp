#pragma once
// The subcommands of the gridcase executable: wiring only.
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
};
int run_simulate(const SimulateOptions& opt);

}  // namespace gridcase::app
