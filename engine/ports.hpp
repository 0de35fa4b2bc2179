#pragma once
// The ports of the long-running service: where input records come from, where output
// messages go, and what time it is. Adapters: Kafka (connectors/kafka_*), the embedded
// local log (storage/local_log), and the wall clock.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/result.hpp"
#include "engine/time.hpp"

namespace gridcase {

// One input record: a Kafka message or an entry of the embedded log.
struct SourceRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string payload;
};

// Where reading resumes: the next offset to read in one (topic, partition).
struct SourcePosition {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Resume from these positions; partitions not listed start at their beginning.
  // Called once before the first poll (and again after a rebalance, see assigned()).
  virtual Result<bool> seek(const std::vector<SourcePosition>& positions) = 0;
  // Up to `max` records in order per partition, waiting up to `timeout_ms` for the first.
  // An empty result is a timeout, not an error.
  virtual Result<std::vector<SourceRecord>> poll(size_t max, int timeout_ms) = 0;
  // The positions below are durable in the engine's store (for Kafka: also committed to
  // the consumer group, for monitoring; the store stays the source of truth).
  virtual void committed(const std::vector<SourcePosition>& positions) = 0;
};

// One output message: a case event (key = case id) or a dead letter (key = as received).
struct OutMessage {
  std::string topic;
  std::string key;
  std::string value;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Publishes every message and returns once all are durably accepted (Kafka: acks=all,
  // idempotent producer), keeping the order of messages with the same key.
  virtual Result<bool> publish(const std::vector<OutMessage>& messages) = 0;

  // Pipelined publishing (at least once): start_publish() hands the messages over and
  // returns, so the engine computes and commits the next batches while they travel; several
  // may travel at once. finish_publish() waits until every message of the oldest publish in
  // flight is durably accepted (or failed), like publish(); publish_done() tells whether
  // the oldest is through, without waiting. `messages` stay alive and unchanged until their
  // publish is finished (a sink may still be reading them). The default is synchronous:
  // start_publish() is publish().
  virtual Result<bool> start_publish(const std::vector<OutMessage>& messages) {
    return publish(messages);
  }
  virtual Result<bool> finish_publish() { return true; }
  virtual bool publish_done() { return true; }

  // Exactly-once sinks (Kafka transactions) publish a batch's messages together with the
  // consumed source positions, atomically, tagged with the batch's number, and can tell
  // afterwards which batch was the last to get through. Other sinks publish at least once.
  virtual bool transactional() const { return false; }
  virtual Result<bool> publish_batch(const std::vector<OutMessage>& messages, uint64_t batch,
                                     const std::vector<SourcePosition>& positions) {
    (void)batch;
    (void)positions;
    return publish(messages);
  }
  // The number of the last batch publish_batch() got through for these positions (0: none).
  virtual Result<uint64_t> last_published_batch(const std::vector<SourcePosition>& positions) {
    (void)positions;
    return uint64_t{0};
  }
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() = 0;
};

}  // namespace gridcase
