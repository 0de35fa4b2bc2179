#pragma once
// The embedded default: a durable local log in RocksDB that stands in for Kafka topics on
// one machine, behind the same EventSource / MessageSink ports.
//
//   DIR/                 the log database: key = topic \0 BE(offset) -> key-length-prefixed record
//   SPOOL/               where `gridcase submit` drops JSON Lines files (written to *.tmp,
//                        fsynced, renamed to *.jsonl); the source ingests each file into the
//                        input topic in one synced WriteBatch together with the file's name,
//                        then deletes it, so a crash never ingests a file twice.
//
// Other processes read the log (gridcase tail) as a RocksDB secondary instance.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/ports.hpp"

namespace rocksdb {
class DB;
}

namespace gridcase {

class LocalLog {
 public:
  // Opens (creating) the log for writing; one process at a time. Within that process,
  // append() and read() may be called from any thread (the engine's loop and the HTTP
  // intake share one log in `serve`).
  static Result<std::unique_ptr<LocalLog>> open(const std::string& dir);
  // Opens a read-only follower of a log another process may be writing.
  static Result<std::unique_ptr<LocalLog>> open_follower(const std::string& dir,
                                                         const std::string& scratch_dir);
  ~LocalLog();

  // Appends (key, value) records to `topic` in one synced write; returns the first offset.
  Result<int64_t> append(const std::string& topic,
                         const std::vector<std::pair<std::string, std::string>>& records,
                         const std::string& marker = {});
  // Up to `max` records of `topic` from `from` on.
  Result<std::vector<SourceRecord>> read(const std::string& topic, int64_t from, size_t max);
  int64_t end_offset(const std::string& topic);
  bool has_marker(const std::string& marker);
  // Follower only: see what the writer has written since.
  Result<bool> catch_up();

 private:
  LocalLog() = default;
  rocksdb::DB* db_ = nullptr;
  bool follower_ = false;
  // Appends to one topic are serialised: two writers must never be handed the same offsets
  // (the spool ingest and the HTTP intake both append to the input topic), and a reader
  // must never see offset N+1 before N. Appends to different topics run concurrently, so
  // RocksDB merges their synced writes into one WAL sync (the engine publishing case events
  // while the HTTP intake appends input).
  std::mutex& topic_mutex(const std::string& topic);
  std::mutex mu_;  // guards ends_ and topic_mu_ (held briefly, never across a write)
  std::vector<std::pair<std::string, int64_t>> ends_;  // cached end offsets per topic
  std::vector<std::pair<std::string, std::unique_ptr<std::mutex>>> topic_mu_;
  int64_t end_offset_locked(const std::string& topic);
};

// Reads the input topic of a LocalLog, first ingesting the spool directory.
class LocalLogSource final : public EventSource {
 public:
  LocalLogSource(LocalLog& log, std::string topic, std::string spool_dir);
  Result<bool> seek(const std::vector<SourcePosition>& positions) override;
  Result<std::vector<SourceRecord>> poll(size_t max, int timeout_ms) override;
  void committed(const std::vector<SourcePosition>&) override {}
  // Ingests spool files now; returns how many records were added.
  Result<size_t> ingest_spool();

 private:
  LocalLog& log_;
  std::string topic_;
  std::string spool_;
  int64_t next_ = 0;
};

class LocalLogSink final : public MessageSink {
 public:
  explicit LocalLogSink(LocalLog& log) : log_(log) {}
  Result<bool> publish(const std::vector<OutMessage>& messages) override;

 private:
  LocalLog& log_;
};

// Writes JSON Lines into the spool directory atomically (tmp file, fsync, rename).
Result<bool> spool_write(const std::string& spool_dir, const std::string& content);

}  // namespace gridcase
