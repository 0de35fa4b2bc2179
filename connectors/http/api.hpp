#pragma once
// The HTTP API's handlers, with no networking inside: a request (method, path, headers,
// body) in, a response out through a callback (some answers wait for a durable append or
// for the engine). The server (server.hpp) does the protocol: reading, limits, timeouts,
// 404/405/408/413, keep-alive and the SSE stream.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connectors/http/intake.hpp"
#include "connectors/http/metrics.hpp"
#include "connectors/http/parsers.hpp"
#include "connectors/http/router.hpp"
#include "connectors/http/tokens.hpp"
#include "connectors/http/workflow_catalog.hpp"
#include "engine/org.hpp"
#include "engine/views.hpp"

namespace gridcase::http {

// Who is calling: the person behind the token (none for the SMS gateway).
struct Caller {
  std::shared_ptr<const TokenInfo> token;
  const Person* person = nullptr;
  UnitIdx unit = kNoUnit;  // the person's unit; kNoUnit for admin = the whole tree
  std::string role;
  bool admin = false;
  bool gateway = false;
};

// What a role may do; where is always the caller's unit subtree (admin: everywhere).
enum class Capability {
  Report,      // POST /v1/reports, /v1/reports/batch
  ReadCase,    // GET /v1/inbox, /v1/cases/{id}
  Act,         // POST /v1/cases/{id}/actions
  ListCases,   // GET /v1/cases
  Stats,       // GET /v1/stats
  Stream,      // GET /v1/stream
  Sms,         // POST /v1/sms (the gateway's token)
  Administer,  // GET /v1/workflows..., POST /v1/workflows/validate (admin only)
};
// nullopt when allowed, else a 403 saying why (zh-CN).
std::optional<ApiError> check_capability(const Caller& caller, Capability cap);
bool is_supervisor_role(std::string_view role);

// What the engine made of an action (the service calls Api::on_outcome).
struct ActionOutcome {
  enum class Kind {
    Applied,    // processed: events are its case events (event_rejected among them -> 409)
    Duplicate,  // its action_id was seen before: nothing changed
    Invalid,    // rejected as a bad input (dead letter), `reason` says why -> 422
  };
  Kind kind = Kind::Applied;
  std::string reason;
};

struct ApiOptions {
  size_t body_limit = 1 << 20;         // bytes; POST /v1/reports, /v1/sms, actions
  size_t batch_body_limit = 16 << 20;  // bytes; POST /v1/reports/batch
  size_t batch_max_lines = 20000;
  std::chrono::milliseconds action_timeout{5000};  // then 202: the outcome comes later
  double rate_per_second = 50;                     // per token, write endpoints; <= 0: no limit
  double rate_burst = 100;
  size_t remembered_reports = 200000;  // report ids kept for idempotent retries (~30 MB)
  size_t page_limit_max = 200;
};

struct ApiHooks {
  // GET /readyz: is the engine's store reachable? null: not checked.
  std::function<bool(std::string* why)> store_ready;
  // Appended to GET /metrics: the service's counters, gauges and histograms.
  std::function<std::string()> service_metrics;
};

struct ApiDeps {
  const Org* org = nullptr;
  TokenStore* tokens = nullptr;
  Intake* intake = nullptr;
  std::shared_ptr<CaseViews> views;  // null: the read endpoints answer 503
  // The workflows the engine runs: the actions of GET /v1/cases/{id} and the
  // administrators' endpoints. Null: no `actions` in the case, /v1/workflows* answer 503.
  std::shared_ptr<const WorkflowCatalog> workflows;
  // Where POST /v1/workflows/validate places the proposed file, so that a relative
  // `calendar:` path resolves as it would beside the deployed ones ("": the working dir).
  std::string workflows_dir;
  // POST /v1/whatif: the payloads of the last `max` input events recorded (the embedded
  // log's input topic), oldest first. Null: no recorded input here (Kafka): 501.
  std::function<Result<std::vector<std::string>>(size_t max)> recorded_input;
  ApiHooks hooks;
  std::function<Timestamp()> now;  // null: the wall clock
  // Runs `f` once after `delay` (the server's timers); for action timeouts.
  std::function<void(std::chrono::milliseconds, std::function<void()>)> after;
};

struct ApiRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> params;  // from the route template
  std::string authorization;
  std::string content_type;
  std::string accept;
  std::string last_event_id;
  std::string body;
};

// GET /v1/stream: the server keeps the connection and sends the feed from `after` on.
struct StreamStart {
  Caller caller;
  uint64_t after = 0;
};

struct ApiResponse {
  int status = 200;
  // Always a string literal: a std::string of this length would allocate per response.
  const char* content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<StreamStart> stream;
};
using Reply = std::function<void(ApiResponse)>;

ApiResponse error_response(const ApiError& e);

class Api {
 public:
  Api(ApiDeps deps, ApiOptions options);
  ~Api();

  // Bytes a request body of this route may have (a null route: the default limit).
  size_t body_limit(const Route* route) const;
  // Answers through `reply`, exactly once, now or later, from any thread. Never throws.
  void handle(const Route& route, ApiRequest req, Reply reply) noexcept;

  // The engine's verdict on an action this API submitted; answers the waiting request.
  void on_outcome(const std::string& action_id, const ActionOutcome& outcome,
                  const std::vector<std::string>& events);

  // Up to `max` feed entries after `after` that the caller may see; `scanned` is the last
  // id looked at (visible or not), where the next call goes on.
  Result<std::vector<FeedEntry>> stream_batch(const Caller& caller, uint64_t after, size_t max,
                                              uint64_t* scanned);
  bool has_views() const { return deps_.views != nullptr; }
  uint64_t feed_head() const { return deps_.views ? deps_.views->feed_head() : 0; }

  // Waits until every submission handed to the intake has completed (the intake's
  // callbacks refer to this Api): call before destroying it.
  void drain();

  RequestCounters& counters() { return counters_; }
  const ApiOptions& options() const { return options_; }

 private:
  class ReportLedger;
  class RateLimiter;
  struct Waiter;

  void dispatch(const Route& route, ApiRequest& req, Reply& reply);
  // deps_.intake->submit, counted for drain().
  template <typename Done>
  void submit(std::vector<IntakeRecord> records, Done done);
  Result<Caller> authenticate(const ApiRequest& req, ApiError* error);
  std::optional<ApiResponse> rate_limit(const Caller& caller);
  ReportContext report_context(const Caller& caller, std::string channel);
  Timestamp now() const;

  void post_report(const Caller& caller, ApiRequest& req, Reply reply);
  void post_batch(const Caller& caller, ApiRequest& req, Reply reply);
  void post_sms(const Caller& caller, ApiRequest& req, Reply reply);
  void get_cases(const Caller& caller, const ApiRequest& req, Reply& reply, bool inbox);
  void get_case(const Caller& caller, const ApiRequest& req, Reply& reply);
  nlohmann::json report_json(const CaseDetail& d) const;
  std::optional<nlohmann::json> case_actions(const Caller& caller, const CaseDetail& d) const;
  void get_stats(const Caller& caller, const ApiRequest& req, Reply& reply);
  void post_action(const Caller& caller, ApiRequest& req, Reply reply);
  void get_stream(const Caller& caller, const ApiRequest& req, Reply& reply);
  void get_org(const Caller& caller, Reply& reply);
  void get_workflows(Reply& reply);
  void get_workflow_version(const ApiRequest& req, Reply& reply);
  void post_validate(const ApiRequest& req, Reply& reply);
  void post_whatif(const ApiRequest& req, Reply& reply);
  void get_ready(Reply& reply);
  void get_metrics(Reply& reply);

  // The unit a read is about: `unit=` when inside the caller's subtree, else the caller's.
  Result<UnitIdx> scope_unit(const Caller& caller, const ApiRequest& req, ApiError* error);
  bool may_see_case(const Caller& caller, const CaseSummary& c) const;

  ApiDeps deps_;
  ApiOptions options_;
  RequestCounters counters_;
  std::unique_ptr<ReportLedger> ledger_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unordered_map<std::string, const Person*> by_phone_;
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  size_t inflight_ = 0;
  std::mutex whatif_mu_;  // one what-if replay at a time
  std::mutex waiters_mu_;
  std::unordered_map<std::string, std::shared_ptr<Waiter>> waiters_;
};

}  // namespace gridcase::http
