#pragma once
// Moving open cases to another version of their workflow (docs/lifecycle.md), shared by
// `gridcase migrate` on a stopped engine and by a running `serve` that takes a migration
// order between two batches.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "engine/store.hpp"

namespace gridcase::app {

struct MigrationRequest {
  std::string name;
  int64_t to = 0;
  std::optional<std::string> where;
  bool dry_run = false;
};

struct MigrationResult {
  int moved = 0;              // moved (or, in a dry run, movable)
  int refused = 0;            // candidates that cannot move (their state or level is not in `to`)
  uint64_t where_failed = 0;  // cases where --where failed to evaluate (count as false)
  std::vector<std::string> lines;  // one per candidate: "迁移 moved r-1 v1 → v2 ..."
};

// Every open case of workflow `name` on a version other than `to` that `where` selects is
// moved through `proc` (unless dry_run): its `migrated` event goes to the processor's sink.
// Errors: an unknown version, a --where that does not compile (located as --where:1:COL),
// storage errors. Nothing is committed here.
Result<MigrationResult> migrate_cases(const Engine& engine, CaseStore& store, Processor& proc,
                                      const MigrationRequest& req);

}  // namespace gridcase::app
