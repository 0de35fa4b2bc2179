// gridcase: wiring only. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/commands.hpp"

int main(int argc, char** argv) {
  using namespace gridcase::app;
  CLI::App app{"gridcase — 网格化事件处置流程引擎 (grid case workflow engine)", "gridcase"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gridcase 0.1.0");

  std::vector<std::string> validate_paths;
  auto* validate = app.add_subcommand("validate", "校验流程与组织树 / check workflows and the org tree");
  validate->add_option("paths", validate_paths, "workflow/org files or directories")->required();

  SimulateOptions sim;
  bool no_progress = false;
  auto* simulate = app.add_subcommand("simulate", "按虚拟时间回放事件 / run the engine on virtual time over JSON Lines");
  simulate->add_option("--org", sim.org, "org tree YAML")->required();
  simulate->add_option("--workflows", sim.workflows, "workflow file(s) or directory")->required();
  simulate->add_option("--events", sim.events, "JSON Lines input events (- for stdin)");
  simulate->add_option("--until", sim.until, "move the clock on to this time at the end");
  simulate->add_option("--cases", sim.cases, "write the final cases to this JSON file");
  simulate->add_option("--state-dir", sim.state_dir, "keep state in RocksDB here");
  simulate->add_flag("--no-progress", no_progress, "never show progress");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (validate->parsed()) return run_validate(validate_paths);
  if (simulate->parsed()) {
    sim.progress = !no_progress;
    return run_simulate(sim);
  }
  return 2;
}
