#pragma once
// Start-up shared by the subcommands: load and check the org and workflows, write snapshots.
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/store.hpp"

namespace gridcase::app {

// Loads the org and the workflows; prints every diagnostic to stderr. nullopt on errors.
std::optional<Engine> load_engine(const std::string& org_path,
                                  const std::vector<std::string>& workflow_paths);

// Writes the case snapshot (JSON array) of every case in the store to `path` ("-": stdout).
Result<bool> write_cases(const std::string& path, const Engine& engine, CaseStore& store);

}  // namespace gridcase::app
