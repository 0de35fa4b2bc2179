#pragma once
// The long-running engine over the ports: batches of input records go through the same
// Processor as simulate; per batch, the new case states, timer changes, dedupe ids,
// the outbox and the consumed offsets are committed together (one store commit), and only
// then is the outbox published. After a crash, start() resumes from the stored offsets
// and publishes the stored outbox again: every input is applied exactly once; every
// output message is published at least once, with identical content.
#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/parse_ahead.hpp"
#include "engine/ports.hpp"
#include "engine/runtime.hpp"

namespace gridcase {

// What became of one input record of a batch (for the HTTP layer: the answer to a POST,
// found by action_id or by position).
struct RecordOutcome {
  enum class Kind : uint8_t { Applied, Duplicate, Bad };
  Kind outcome = Kind::Applied;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string reason;   // Bad: "bad_input" (did not parse) or "rejected", as in the dead letter
  std::string error;    // Bad: why
  std::string case_id;  // the case it opened, merged into or acted on ("" if not known)
  std::optional<std::string> action_id;  // an action's action_id, when it has one
  // The case event lines its own step wrote, as published (not those of timers that fired
  // before it), and the feed id of the first (0 when the store keeps no feed).
  std::vector<std::string> events;
  uint64_t first_feed_id = 0;
};

// One batch, reported once it has been committed (before it is published: its outcome is
// final then, and the views show it; a slow or absent broker must not hold answers back).
struct BatchOutcome {
  uint64_t feed_head = 0;              // the store's feed head after the commit (0: no feed)
  size_t case_events = 0;              // case events of the batch, timers' included
  std::vector<RecordOutcome> records;  // in the order they were applied
};

struct ServiceOptions {
  size_t max_batch = 500;     // input records per batch
  int poll_timeout_ms = 200;  // how long a poll waits; bounds timer latency too
  std::string case_events_topic = "gridcase.case-events";
  std::string dead_letter_topic = "gridcase.dead-letter";
  // Publishes handed to the sink and not yet confirmed, at most (default mode): while they
  // travel the engine goes on, and their messages stay in the stored outbox.
  size_t publish_depth = 4;
  // Each batch's store write runs behind the next batch's poll and apply (on the store's
  // own thread); its messages go out once it is durable. Off: written in place, then sent.
  bool write_behind = true;
  // Called on the engine thread after each batch that changed anything has been committed
  // (not for idle polls), before its messages are published. Keep it short: the next batch waits
  // for it.
  std::function<void(const BatchOutcome&)> on_batch;
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
  // Waits until the sink has let go of the messages still in flight.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Restores the clock, seeks the source to the stored offsets, republishes the stored
  // outbox. Call once before run_once().
  Result<bool> start();
  // One batch: poll, fire due timers, apply, commit, publish. Returns the records taken.
  Result<size_t> run_once();
  // Batches until `stop` is set; the batch in hand is finished, committed and published.
  Result<bool> run(const std::atomic<bool>& stop);

  // The engine's own work between two batches (a migration handed to a running engine):
  // the timers due by now fire first, then `work` runs on a Processor at the engine's
  // clock; its case events join the outbox and the views, and everything it changed
  // (meta included) is committed as one batch and published like any other. Returns the
  // case events it wrote. An error of `work` commits nothing of it.
  Result<size_t> run_admin(const std::function<Result<bool>(Processor&)>& work);

  // Waits for the publishes in flight and publishes what is pending, then commits the
  // removal of their stored copies: before stopping. After a clean stop the next start
  // publishes nothing again.
  Result<bool> flush();

  const ServiceStats& stats() const { return stats_; }
  // True while a committed batch waits to be published (the sink failed: broker away).
  // run_once() publishes it before it takes new input; an error meanwhile is transient.
  bool publish_pending() const { return publish_pending_; }
  // A commit failed: records were taken from the source that only a restart reads again.
  bool broken() const { return broken_; }

 private:
  class OutboxSink;
  Result<bool> publish_outbox();
  void forget_stored(std::vector<uint64_t>& batches);
  Result<bool> finish_inflight();
  Result<bool> finish_oldest();
  Result<bool> commit_and_publish(Processor& proc, std::vector<SourcePosition> positions,
                                  size_t records, BatchOutcome& outcome, bool behind = false);
  Result<bool> hand_to_sink(std::vector<SourcePosition> positions, uint64_t stored);
  Result<bool> settle_unwritten();
  RecordOutcome record_outcome(const SourceRecord& rec, const Result<InputEvent>& ev,
                               const Processor::Verdict& v, const std::string& reason,
                               const std::string& error, uint64_t feed_start) const;

  const Engine& engine_;
  CaseStore& store_;
  EventSource& source_;
  MessageSink& sink_;
  Clock& clock_;
  ServiceCodecs codecs_;
  ServiceOptions options_;
  ParseAhead parse_ahead_;
  std::vector<OutMessage> outbox_;  // this batch's messages, also stored in the batch
  bool publish_pending_ = false;    // outbox_ is committed and not yet published
  // The stored outboxes (by batch number; 0: the single value of an older state directory)
  // holding outbox_'s committed messages, forgotten once they are published.
  std::vector<uint64_t> outbox_stored_;
  // Earlier batches' messages, committed and handed to the sink (start_publish), not yet
  // confirmed, oldest first; and the source positions to acknowledge once they are. (A
  // deque: the sink reads the messages where they are until it is done with them.)
  struct Inflight {
    std::vector<OutMessage> messages;
    std::vector<SourcePosition> positions;
    uint64_t stored = 0;  // the stored outbox holding them (0: none)
  };
  std::deque<Inflight> inflight_;
  // Source positions of earlier publishes that failed, acknowledged once outbox_ is out.
  std::vector<SourcePosition> outbox_positions_;
  // The last batch, committed behind the engine (CaseStore::commit_behind) and not yet known
  // to be durable: its messages wait here while the next batch is built, and go to the sink
  // once the store says it is written (settle_unwritten).
  struct Unwritten {
    bool active = false;
    std::vector<OutMessage> messages;
    std::vector<SourcePosition> positions;
    uint64_t stored = 0;
  };
  Unwritten unwritten_;
  bool broken_ = false;
  uint64_t batch_ = 0;                     // number of the last committed batch
  std::vector<SourcePosition> positions_;  // every position committed so far
  size_t batch_events_ = 0;                // case events in this batch so far
  size_t batch_from_ = 0;  // where this batch's messages start in outbox_ (older ones before)
  ServiceStats stats_;
};

// A batch's messages as stored in the outbox (CaseStore::put_outbox).
std::string encode_outbox(const std::vector<OutMessage>& messages,
                          const std::vector<OutMessage>& more = {});
Result<std::vector<OutMessage>> decode_outbox(std::string_view bytes);

// For a tool that changes cases while no engine runs (`gridcase migrate`): stores `more`
// as the outbox of a batch of its own, so that the next start publishes it. Takes effect
// with the store's next commit.
void stage_outbox(CaseStore& store, const std::vector<OutMessage>& more);

}  // namespace gridcase
