#pragma once
// The subcommands of the gridcase executable: wiring only.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gridcase {
class Org;
}

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

struct ServeOptions {
  std::string config;  // config/gridcase.yaml
  std::string kafka;   // brokers; empty: the embedded local log
  bool kafka_set = false;
  std::string state_dir, org;
  std::vector<std::string> workflows;
  std::string input_topic, case_events_topic, dead_letter_topic;
  std::string workflows_topic;  // the registry on Kafka (compacted), followed by every engine
  int partitions = 3;
  bool partitions_set = false;
  bool exactly_once = false;
  std::string group_id = "gridcase", instance_id = "gridcase-1";
  int delivery_timeout_ms = 30000;
  int offset_commit_interval_ms = 1000;
  size_t max_batch = 500;
  int poll_timeout_ms = 200;
  // engine.sync_commit: each batch's commit waits for the disk (fsync). Off, a kill -9
  // still loses nothing (the write is in the OS); only a machine crash can, see docs/design.md.
  bool sync_commit = true;
  // engine.write_behind: each batch's store write runs on the store's thread while the next
  // batch is polled and applied; its events go out once it is durable (docs/design.md).
  bool write_behind = true;
  std::string log_format, log_level;
  bool until_idle = false;  // stop once the input is drained and nothing is due (tests, demos)
  // Deploy what changes in the workflows directory (engine.watch_workflows); default: in
  // single-node mode (the embedded log), not with Kafka.
  std::optional<bool> watch_workflows;
  std::string http;      // --http HOST:PORT; empty: the config's http.listen (none: no HTTP)
  std::string web_root;  // --web-root DIR; empty: the config's http.web_root, else the built app
};
// run_serve's status when it stopped cleanly to start again on a newly deployed org tree:
// main() then re-executes the program (same arguments, same PID).
inline constexpr int kServeRestart = 75;
int run_serve(ServeOptions opt);

struct SubmitOptions {
  std::string kafka;
  std::string topic = "gridcase.input";
  int partitions = 3;  // for topics created here
  std::string state_dir = "state";
  std::string file = "-";
};
int run_submit(const SubmitOptions& opt);

struct TokenOptions {
  std::string command;  // add | list | revoke
  std::string person;
  std::string name;
  std::string id;  // revoke
  bool sms_gateway = false;
  std::string org = "config/org.yaml";
  std::string state_dir = "state";
};
int run_token(const TokenOptions& opt);

struct TailOptions {
  std::string kafka;  // brokers: read the Kafka topic instead of the embedded log
  std::string state_dir = "state";
  std::string topic = "gridcase.case-events";
  bool from_beginning = false;
  bool follow = false;
};
int run_tail(const TailOptions& opt);

struct ExportOptions {
  std::string kafka;  // brokers: read the Kafka topic instead of the embedded log
  std::string state_dir = "state";
  std::string topic = "gridcase.input";
  std::optional<std::string> from, to;  // RFC 3339: [from, to) of each event's `at`
  std::string out = "-";
};
int run_export(const ExportOptions& opt);

struct WhatifOptions {
  std::string org;
  std::vector<std::string> workflows;  // OLD
  std::vector<std::string> against;    // NEW
  std::string events = "-";
  std::optional<std::string> until;
  bool json = false;
  std::optional<std::string> html;
  bool progress = true;
};
int run_whatif(const WhatifOptions& opt);
std::string join_paths(const std::vector<std::string>& paths);

struct DeployOptions {
  std::vector<std::string> files;
  std::string state_dir = "state";
  std::string org = "config/org.yaml";
  std::string actor;  // default: $USER
  std::string kafka;  // brokers: the registry is the topic gridcase.workflows, not STATE
  std::string workflows_topic = "gridcase.workflows";
};
int run_deploy(const DeployOptions& opt);

struct HistoryOptions {
  std::string state_dir = "state";
  bool json = false;
  std::string kafka;  // brokers: the registry is the topic gridcase.workflows, not STATE
  std::string workflows_topic = "gridcase.workflows";
};
int run_history(const HistoryOptions& opt);

struct DiffOptions {
  std::string name;
  int64_t v1 = 0, v2 = 0;
  std::string state_dir = "state";
  std::string kafka;  // brokers: the registry is the topic gridcase.workflows, not STATE
  std::string workflows_topic = "gridcase.workflows";
};
int run_diff(const DiffOptions& opt);

struct MigrateOptions {
  std::string name;
  int64_t to = 0;
  std::string state_dir = "state";
  std::string org = "config/org.yaml";
  bool dry_run = false;
  std::optional<std::string> where;  // only the cases for which this expression holds
  std::string actor;                 // who, for the audit record of an order (default $USER)
  int wait_seconds = 60;             // with a running engine: how long to wait for its report
  std::string kafka;  // brokers: the registry is the topic gridcase.workflows, not STATE
  std::string workflows_topic = "gridcase.workflows";
};
int run_migrate(const MigrateOptions& opt);

// Validates the workflow files (or directories) against `org` and stores each changed one
// as the next version of its name in STATE/workflows, with its audit record; if any is
// invalid, none is stored and the refusal is recorded. `gridcase deploy`, and serve when it
// watches its workflows directory.
struct DeployReport {
  int status = 0;                  // 0 stored (or unchanged), 1 rejected, 2 failed
  int deployed = 0;                // new versions stored
  std::vector<std::string> lines;  // "已部署 deployed: NAME vN (HASH) ...", "未变化 unchanged: ..."
  std::vector<std::string> errors;  // FILE:LINE:COL: error: ..., then the verdict
};
// An org tree (kind: Org) among the files is deployed with them (versioned as "@org"): the
// workflows are checked against it, and so is every stored version; `open_cases`, if
// given, lists the open cases it would strand (their unit missing in the new tree).
using OpenCaseCheck = std::function<std::vector<std::string>(const gridcase::Org& next)>;
DeployReport deploy_files(const std::vector<std::string>& paths, const gridcase::Org& org,
                          const std::string& state_dir, const std::string& actor,
                          const OpenCaseCheck& open_cases = {});

// The audit records' "when" (now, UTC, whole seconds) and "who" (`given`, else $USER).
std::string now_utc();
std::string actor_of(const std::string& given);

// Where a state directory keeps its deployed workflow versions.
std::string registry_dir(const std::string& state_dir);

// Set by SIGINT/SIGTERM once install_stop_handlers() ran: long-running commands finish
// what they hold and stop.
extern std::atomic<bool> g_stop;
void install_stop_handlers();

}  // namespace gridcase::app
