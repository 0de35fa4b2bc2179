#pragma once
// Kafka adapters of the service ports (librdkafka): KafkaSource reads the input topic in
// the engine's consumer group, KafkaSink publishes case events and dead letters with an
// idempotent producer, ensure_topics() creates the topics. librdkafka's errors become
// Error values here; nothing throws.
//
// Offsets: the engine's store is the source of truth. KafkaSource subscribes to the input
// topic in the group (static membership, so a restart with the same group.instance.id gets
// its partitions back without a rebalance) and, whenever partitions are assigned, starts
// each one exactly at the position given to seek(), at the position after the last record
// it handed out when the partition comes back within the same process, else at the
// beginning. Offsets committed to the group are for monitoring only; they are never read.
// So the service calls seek() once at start and never again: rebalances are handled here.
// One engine instance per group for now: the store holds the state of every partition, so
// a partition moved to another instance would start there without its cases.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ports.hpp"
#include "engine/result.hpp"

namespace gridcase::kafka {

struct KafkaOptions {
  std::string brokers;                                     // bootstrap "host:port[,...]"; required
  std::string input_topic = "gridcase.input";              // key: origin grid
  std::string case_events_topic = "gridcase.case-events";  // key: case id
  std::string dead_letter_topic = "gridcase.dead-letter";  // key: as received
  // Largest record the producers send and the input topic takes (when created here): an
  // oversized input event must reach the engine to be dead-lettered with its reason, not be
  // refused at the edge where nobody sees it.
  int max_message_bytes = 4 << 20;
  int partitions = 3;          // for topics ensure_topics() creates (existing ones kept)
  int replication_factor = 1;  // for topics ensure_topics() creates (1: one broker)
  std::string group_id = "gridcase";
  std::string group_instance_id = "gridcase-1";  // static membership; "" = dynamic member
  std::string client_id = "gridcase";
  int timeout_ms = 10000;           // bound of every admin / metadata wait and of open()
  int delivery_timeout_ms = 30000;  // message.timeout.ms: a publish fails after this long
  // The consumed offsets are committed to the group (for monitoring: lag tools) at most this
  // often, and when partitions are revoked and at close. One commit per batch was a request
  // to the broker every few milliseconds at a moderate rate, and the latency's tail was about
  // twice as long with it (docs/benchmarks.md).
  int offset_commit_interval_ms = 1000;
  // Exactly-once output: KafkaSink publishes each batch in a transaction together with the
  // consumed offsets (committed to group_id, tagged with the batch number), so that
  // read_committed consumers see every case event once. transactional.id defaults to
  // "gridcase-" + group_instance_id: stable across restarts, so a restarted engine fences
  // its previous incarnation and aborts the transaction it left open.
  bool exactly_once = false;
  std::string transactional_id;
  int transaction_timeout_ms = 60000;
  // Topics ensure_topics() creates as tables: one partition, cleanup.policy=compact (the
  // workflow registry's gridcase.workflows).
  std::vector<std::string> compacted_topics;
  // Extra librdkafka properties, applied last (they override the settings above).
  std::map<std::string, std::string> properties;
};

// Creates the input, case-events and dead-letter topics where missing (delete retention,
// not compacted) and waits until every partition of each has a leader. Idempotent: topics
// that exist are left as they are. An unreachable cluster is an Error within timeout_ms.
Result<bool> ensure_topics(const KafkaOptions& options);
// The same for any list of topic names (tests, tools).
Result<bool> ensure_topics(const KafkaOptions& options, const std::vector<std::string>& topics);

class KafkaSource final : public EventSource {
 public:
  // A consumer of options.input_topic in options.group_id: no auto commit, read_committed,
  // earliest reset. Fails (within timeout_ms) when the cluster is unreachable or the topic
  // does not exist.
  static Result<std::unique_ptr<KafkaSource>> open(const KafkaOptions& options);
  ~KafkaSource() override;  // leaves quietly (static members keep their partitions)
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Remembers the positions; applied to the partitions assigned from now on, and at once
  // to those already assigned.
  Result<bool> seek(const std::vector<SourcePosition>& positions) override;
  // Records in the order they arrive (in offset order per partition). Timeouts, partition
  // EOF and transient broker errors (librdkafka reconnects by itself) give fewer or no
  // records, not an Error; fatal and permanent errors (e.g. topic deleted, not authorised)
  // are an Error.
  Result<std::vector<SourceRecord>> poll(size_t max, int timeout_ms) override;
  // Commits these next offsets to the group, asynchronously (monitoring only), at most every
  // offset_commit_interval_ms: in between, the newest ones wait for the next commit.
  void committed(const std::vector<SourcePosition>& positions) override;

  // The partitions of the input topic this consumer holds now.
  std::vector<int32_t> assignment() const;
  // True when partitions are assigned and every one has been read to its high watermark
  // (asks the broker; for `serve --until-idle`, not for the hot path).
  Result<bool> caught_up(int timeout_ms);
  // The last transient error poll() swallowed ("" if none since the last record).
  const std::string& last_transient_error() const;

  struct Impl;

 private:
  friend class KafkaSink;  // a transactional sink needs the consumer's group metadata
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class KafkaSink final : public MessageSink {
 public:
  // An idempotent producer (acks=all, murmur2_random partitioner like the Java client).
  // Fails (within timeout_ms) when the cluster is unreachable. With options.exactly_once, a
  // transactional producer whose transactions commit `source`'s offsets to its group
  // (source is then required and must outlive the sink); init_transactions() is done here.
  static Result<std::unique_ptr<KafkaSink>> open(const KafkaOptions& options,
                                                 KafkaSource* source = nullptr);
  ~KafkaSink() override;  // waits up to timeout_ms for messages still in flight
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Produces every message and returns once each has its delivery report: true when all
  // were acknowledged by all in-sync replicas, else an Error naming the first failed
  // topic and the reason (and how many failed). Messages of one key keep their order.
  // Not thread-safe: one caller at a time. With publishes in flight it goes after them and
  // finishes them all (the first failure among them is the answer); with none, it produces
  // on the calling thread. With exactly_once: one transaction holding the messages (and no
  // offsets).
  Result<bool> publish(const std::vector<OutMessage>& messages) override;
  // Not exactly_once: hands the messages to the sink's producing thread and returns (they
  // stay alive until their publish is finished); several may travel. finish_publish() waits
  // for the oldest one's delivery reports (as publish() does); publish_done() tells whether
  // they are in. exactly_once: start_publish() is publish().
  Result<bool> start_publish(const std::vector<OutMessage>& messages) override;
  Result<bool> finish_publish() override;
  bool publish_done() override;

  // exactly_once only: one transaction with the messages and the positions, committed to
  // the group with the metadata "gridcase-batch=<batch>". A failed transaction is aborted
  // and returned as an Error (retry with the same arguments); a fenced or otherwise fatal
  // producer is an Error that says so (another instance took over: stop).
  bool transactional() const override;
  Result<bool> publish_batch(const std::vector<OutMessage>& messages, uint64_t batch,
                             const std::vector<SourcePosition>& positions) override;
  // The highest batch number in the group's committed offsets of these positions' partitions.
  Result<uint64_t> last_published_batch(const std::vector<SourcePosition>& positions) override;

  struct Impl;

 private:
  explicit KafkaSink(std::unique_ptr<Impl> impl);
  Result<bool> start(const std::vector<OutMessage>& messages, bool here);
  std::unique_ptr<Impl> impl_;
};

// Produces (key, value) pairs to `topic` and waits for every delivery (gridcase submit:
// key = origin grid of the input event).
Result<bool> produce_lines(const KafkaOptions& options,
                           const std::vector<std::pair<std::string, std::string>>& key_values,
                           const std::string& topic);

// ---- Reading a topic to its end, and writing one under a lock -------------------------

struct TopicRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // the record's timestamp (CreateTime), -1 if none
  std::string key, value;
};

// A consumer outside any group (assign, no commits, read_committed) over every partition
// of one topic: `gridcase export`, the workflow registry's topic.
class TopicReader {
 public:
  // Starts every partition at its first record, or with from_ms at the first record whose
  // timestamp is at or after it. Fails when the cluster or the topic is missing.
  static Result<std::unique_ptr<TopicReader>> open(const KafkaOptions& options,
                                                   const std::string& topic,
                                                   std::optional<int64_t> from_ms = {});
  ~TopicReader();
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // The records that arrive until every partition is at its end (its last committed
  // record) or timeout_ms has passed (0: only what is here already); at most `max`.
  Result<std::vector<TopicRecord>> read(size_t max, int timeout_ms);
  // Every record up to the end of every partition, each handed to `take` in arrival order;
  // an Error when the end is not reached with no record arriving for timeout_ms.
  Result<bool> read_to_end(int timeout_ms, const std::function<void(TopicRecord&&)>& take);
  // True once every partition has been read to its end (and nothing arrived since).
  bool at_end() const;
  int partitions() const;

  struct Impl;

 private:
  explicit TopicReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A transactional producer: open() fences any other writer with the same transactional
// id (and aborts what it left open), so writers that read a table topic after open() and
// write what they computed from it never interleave: the later one wins the lock, the
// earlier one's write fails. (`gridcase deploy --kafka`.)
class TopicWriter {
 public:
  static Result<std::unique_ptr<TopicWriter>> open(const KafkaOptions& options,
                                                   const std::string& transactional_id);
  ~TopicWriter();
  TopicWriter(const TopicWriter&) = delete;
  TopicWriter& operator=(const TopicWriter&) = delete;
  // One transaction with every record.
  Result<bool> write(const std::string& topic,
                     const std::vector<std::pair<std::string, std::string>>& key_values);

  struct Impl;

 private:
  explicit TopicWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridcase::kafka
