#pragma once
// The long-running engine over the ports: batches of input records go through the same
// Processor as simulate; per batch, the new case states, timer changes, dedupe ids,
// the outbox and the consumed offsets are committed together (one store commit), and only
// then is the outbox published. After a crash, start() resumes from the stored offsets
// and publishes the stored outbox again: every input is applied exactly once; every
// output message is published at least once, with identical content.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/ports.hpp"
#include "engine/runtime.hpp"

namespace gridcase {

struct ServiceOptions {
  size_t max_batch = 500;     // input records per batch
  int poll_timeout_ms = 200;  // how long a poll waits; bounds timer latency too
  std::string case_events_topic = "gridcase.case-events";
  std::string dead_letter_topic = "gridcase.dead-letter";
};

// The edges the service needs but the core must not know: JSON in and out.
struct ServiceCodecs {
  std::function<Result<InputEvent>(std::string_view payload)> parse;
  std::function<std::string(const CaseEvent&)> format;
  // {"reason", "error", "topic", "partition", "offset", "payload"}
  std::function<std::string(const SourceRecord&, const std::string& reason,
                            const std::string& error)>
      dead_letter;
};

struct ServiceStats {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t dead_letters = 0;
  uint64_t published = 0;
};

class Service {
 public:
  Service(const Engine& engine, CaseStore& store, EventSource& source, MessageSink& sink,
          Clock& clock, ServiceCodecs codecs, ServiceOptions options = {});

  // Restores the clock, seeks the source to the stored offsets, republishes the stored
  // outbox. Call once before run_once().
  Result<bool> start();
  // One batch: poll, fire due timers, apply, commit, publish. Returns the records taken.
  Result<size_t> run_once();
  // Batches until `stop` is set; the batch in hand is finished, committed and published.
  Result<bool> run(const std::atomic<bool>& stop);

  const ServiceStats& stats() const { return stats_; }
  // True while a committed batch waits to be published (the sink failed: broker away).
  // run_once() publishes it before it takes new input; an error meanwhile is transient.
  bool publish_pending() const { return publish_pending_; }

 private:
  class OutboxSink;
  Result<bool> publish_outbox();

  const Engine& engine_;
  CaseStore& store_;
  EventSource& source_;
  MessageSink& sink_;
  Clock& clock_;
  ServiceCodecs codecs_;
  ServiceOptions options_;
  std::vector<OutMessage> outbox_;         // this batch's messages, also stored in the batch
  bool publish_pending_ = false;           // outbox_ is committed and not yet published
  uint64_t batch_ = 0;                     // number of the last committed batch
  std::vector<SourcePosition> positions_;  // every position committed so far
  ServiceStats stats_;
};

// The outbox as stored in the store's metadata (one value per batch).
std::string encode_outbox(const std::vector<OutMessage>& messages);
Result<std::vector<OutMessage>> decode_outbox(std::string_view bytes);

}  // namespace gridcase
