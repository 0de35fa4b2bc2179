#pragma once
// Start-up shared by the subcommands: load and check the org and workflows, write snapshots.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/store.hpp"

namespace gridcase::app {

// Loads the org and the workflows; prints every diagnostic to stderr. nullopt on errors.
// With a state directory whose registry holds deployed versions (`gridcase deploy`), the
// engine runs every deployed version (the latest of each name live, older ones for the
// cases pinned to them) instead of `workflow_paths`, on the deployed org tree if there is
// one (`org_version`: its version, 0 for the file at `org_path`).
std::optional<Engine> load_engine(const std::string& org_path,
                                  const std::vector<std::string>& workflow_paths,
                                  const std::optional<std::string>& state_dir = std::nullopt,
                                  int64_t* org_version = nullptr);

// The org tree: the one deployed in the state directory's registry (`gridcase deploy
// ORG.yaml`) when there is one, else the file. `version`: the deployed version, 0 for the file.
std::optional<Org> load_effective_org(const std::string& org_path,
                                      const std::optional<std::string>& state_dir,
                                      Diagnostics& diags, int64_t* version = nullptr);

// Writes the case snapshot (JSON array) of every case in the store to `path` ("-": stdout).
Result<bool> write_cases(const std::string& path, const Engine& engine, CaseStore& store);

}  // namespace gridcase::app
