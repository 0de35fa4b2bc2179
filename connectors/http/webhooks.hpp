#pragma once
// Webhooks: per unit, the `notified` case events whose target is in the unit's subtree are
// POSTed to a configured URL, signed, retried with backoff, dead-lettered after the last try.
//
// The source is the store's feed (the views' commit-ordered, durable list of case events),
// so a webhook sees only committed events and nothing is lost across a crash: each hook's
// position in the feed is kept in a cursor file, written after every event it has done
// with (delivered or dead-lettered). Delivery is at least once: after a crash an event may
// be delivered again, with the same X-Gridcase-Delivery id, which receivers dedupe on.
//
// The request: POST, the case event line as published as the body (application/json), and
//   X-Gridcase-Event: notified
//   X-Gridcase-Delivery: <feed id>           (unique per event, stable across retries)
//   X-Gridcase-Timestamp: <unix seconds>
//   X-Gridcase-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
// A 2xx answer is success. Connection errors, timeouts, 408, 429 and 5xx are retried after
// retry_base, 2×, 4×, ... (at most retry_max) until max_attempts; any other status is final
// at once. A final failure goes to the dead-letter topic with the reason `webhook_failed`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/org.hpp"
#include "engine/ports.hpp"
#include "engine/result.hpp"
#include "engine/views.hpp"

namespace gridcase::http {

struct WebhookConfig {
  std::string unit;    // the subtree whose notifications go to this hook
  std::string url;     // http://host[:port]/path
  std::string secret;  // HMAC key
  int max_attempts = 8;
  std::chrono::milliseconds retry_base{1000};
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds timeout{5000};  // connect + write + read of one attempt
};

struct WebhookOptions {
  std::vector<WebhookConfig> hooks;
  std::string cursor_file;  // e.g. STATE/webhooks.json
  std::string dead_letter_topic = "gridcase.dead-letter";
  std::string case_events_topic = "gridcase.case-events";  // named in dead letters
};

// hex(HMAC-SHA256(secret, timestamp + "." + body)), as in X-Gridcase-Signature.
std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);

// Checks a configuration: units exist, URLs are http:// with a host, secrets not empty.
// Errors name the hook by its position ("webhooks[2].url: ...").
Result<bool> check_webhooks(const std::vector<WebhookConfig>& hooks, const Org& org);

class WebhookDispatcher {
 public:
  // Dead letters are published through `dead_letters` (called from the hooks' threads, one
  // at a time). Starts one thread per hook; a hook new to the cursor file starts at the
  // feed's head (it is not sent the past).
  static Result<std::unique_ptr<WebhookDispatcher>> start(WebhookOptions options, const Org& org,
                                                          std::shared_ptr<CaseViews> views,
                                                          MessageSink& dead_letters);
  ~WebhookDispatcher();  // stops the threads (a wait between retries ends at once)
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // New entries in the feed (after each committed batch).
  void wake();

  struct Stats {
    uint64_t delivered = 0;
    uint64_t failed_attempts = 0;  // attempts that failed (each retry follows one)
    uint64_t dead = 0;
    uint64_t pending = 0;  // notifications matched but not yet done with
  };
  Stats stats();

  // Waits until every hook is done with the feed up to `feed_id` (delivered, dead-lettered
  // or not its business), or `timeout` passes; false then. For tests and orderly shutdown.
  bool wait_done(uint64_t feed_id, std::chrono::milliseconds timeout);

  struct Impl;

 private:
  explicit WebhookDispatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridcase::http
