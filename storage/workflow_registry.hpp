#pragma once
// Deployed workflow versions and the audit trail of deploys, in their own RocksDB database
// (STATE/workflows), so `gridcase deploy` can write while the engine holds STATE/cases.
//   v \0 name \0 BE64(version) -> JSON {name, version, hash, file, text, deployed_at, actor}
//   a \0 BE64(seq)              -> JSON audit record
// A deploy writes its versions and audit records in one synced WriteBatch.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/diagnostics.hpp"
#include "engine/result.hpp"
#include "engine/workflow.hpp"

namespace rocksdb {
class DB;
}

namespace gridcase {

struct WorkflowVersion {
  std::string name;
  int64_t version = 0;  // 1, 2, 3 ... per name
  std::string hash;     // SHA-256 of the file's text and of the calendar it uses, hex
  std::string file;     // where it was deployed from (calendar paths resolve against it)
  std::string text;     // the YAML as deployed
  std::string deployed_at;
  std::string actor;
};

struct AuditRecord {
  int64_t seq = 0;
  std::string at;      // RFC 3339, UTC
  std::string actor;   // $USER or --actor
  std::string action;  // deploy | unchanged | rejected
  std::string name;    // workflow name ("" when a rejected file had none)
  int64_t version = 0;
  std::string hash;
  std::string file;
  std::string change;  // what changed: "new", "+3 -1 lines: sla.grid ...", or the errors
};

// A migration handed to running engines (`gridcase migrate` while serve runs): each engine
// applies every order it has not applied yet, between two batches, to the cases it holds.
struct MigrationOrder {
  int64_t seq = 0;  // 1, 2, 3 ... numbered by the registry
  std::string name;
  int64_t to = 0;
  std::optional<std::string> where;
  std::string at;
  std::string actor;
};

// The org tree is deployed and versioned like a workflow, under this name (its versions are
// not among versions(); head(kOrgEntry) is the deployed tree).
inline constexpr const char* kOrgEntry = "@org";

class WorkflowRegistry {
 public:
  static Result<std::unique_ptr<WorkflowRegistry>> open(const std::string& dir);
  // Read-only (takes no lock: a running engine looks for new versions while `deploy` writes).
  static Result<std::unique_ptr<WorkflowRegistry>> open_read_only(const std::string& dir);
  // True if `dir` holds a registry (nothing is created).
  static bool exists(const std::string& dir);
  ~WorkflowRegistry();
  WorkflowRegistry(const WorkflowRegistry&) = delete;
  WorkflowRegistry& operator=(const WorkflowRegistry&) = delete;

  // Every stored workflow version, by name then version (not the org tree's).
  Result<std::vector<WorkflowVersion>> versions();
  Result<std::optional<WorkflowVersion>> get(const std::string& name, int64_t version);
  // The latest version of `name`, if any.
  Result<std::optional<WorkflowVersion>> head(const std::string& name);
  Result<std::vector<AuditRecord>> history();
  // Stores the order (numbered here) with its audit record (action "migrate") in one
  // synced write; returns its seq.
  Result<int64_t> order_migration(MigrationOrder order);
  // The orders numbered above `seq`, in order.
  Result<std::vector<MigrationOrder>> migrations_after(int64_t seq);
  // Every record as (key, JSON), keys readable: "version/NAME/V", "audit/SEQ",
  // "migration/SEQ" (the records of the gridcase.workflows topic, where Kafka carries the
  // registry to every engine).
  Result<std::vector<std::pair<std::string, std::string>>> records();
  // Stores such records as they are (a mirror of the topic); unknown keys are skipped.
  // Returns how many were new or changed.
  Result<size_t> import(const std::vector<std::pair<std::string, std::string>>& records);
  // Stores the versions and the audit records (numbered here) in one synced write.
  Result<bool> record(const std::vector<WorkflowVersion>& versions,
                      std::vector<AuditRecord> audits);

 private:
  WorkflowRegistry() = default;
  rocksdb::DB* db_ = nullptr;
};

// The stored versions `engine` does not have yet, loaded and checked against its org tree;
// nullopt (with the problems in diags) if any of them does not load: then none is taken.
class Engine;
std::optional<std::vector<Workflow>> new_versions(WorkflowRegistry& registry, const Engine& engine,
                                                  Diagnostics& diags);

}  // namespace gridcase
