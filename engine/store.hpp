#pragma once
// The CaseStore port: everything the runtime keeps between events. Writes since the last
// commit() become durable together (one RocksDB WriteBatch in the RocksDB adapter); reads
// always see them.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/case.hpp"
#include "engine/result.hpp"

namespace gridcase {

struct TimerRef {
  Timestamp due;
  uint64_t seq = 0;
  std::string case_id;
};

class CaseStore {
 public:
  virtual ~CaseStore() = default;

  // nullopt when there is no such case; an Error when stored data cannot be read.
  virtual Result<std::optional<Case>> load(std::string_view id) = 0;
  virtual void save(const Case& c) = 0;
  // The same, for a case the caller is done with (a store may keep it without a copy).
  virtual void save_owned(Case&& c) { save(c); }
  virtual bool exists(std::string_view id) = 0;

  // Report ids already seen, per origin grid.
  virtual bool report_seen(std::string_view grid, std::string_view report_id) = 0;
  virtual void mark_report(std::string_view grid, std::string_view report_id) = 0;

  // Correlation index: open cases by (workflow, origin grid, encoded key).
  virtual std::vector<std::string> correlated(std::string_view workflow, std::string_view grid,
                                              std::string_view key) = 0;
  virtual void add_correlation(std::string_view workflow, std::string_view grid,
                               std::string_view key, std::string_view case_id) = 0;
  virtual void remove_correlation(std::string_view workflow, std::string_view grid,
                                  std::string_view key, std::string_view case_id) = 0;

  // Timer index ordered by (due, seq).
  virtual void add_timer(Timestamp due, uint64_t seq, std::string_view case_id) = 0;
  virtual void remove_timer(Timestamp due, uint64_t seq) = 0;
  virtual std::optional<TimerRef> next_timer() = 0;
  virtual size_t pending_timers() = 0;

  // Small named values: the engine clock, the timer counter, source offsets.
  virtual std::optional<std::string> get_meta(std::string_view key) = 0;
  virtual void put_meta(std::string_view key, std::string_view value) = 0;

  // The outbox (engine/service.hpp): a committed batch's messages, encoded, kept under the
  // batch's number until they are confirmed published. put_outbox() and drop_outbox() take
  // effect with the next commit(), like every other write; each batch's messages are
  // written once, not again with every later batch while they travel.
  virtual void put_outbox(uint64_t batch, std::string bytes) = 0;
  virtual void drop_outbox(uint64_t batch) = 0;
  // The committed ones, in batch order.
  virtual Result<std::vector<std::pair<uint64_t, std::string>>> stored_outboxes() = 0;

  // Makes every write since the last commit durable, all or nothing.
  virtual Result<bool> commit() = 0;
  // The same, written behind the caller: the writes are handed over and the call returns;
  // reads see them as before, and the next batch can be built on them while they are
  // written. durable() waits until every write handed over is durable (or says why not);
  // commit() and a later commit_behind() wait for it first. Nothing of a batch may leave
  // the engine (be published) before durable() said so. Ok(true): handed over; Ok(false):
  // durable already (a store that cannot write behind commits here).
  virtual Result<bool> commit_behind() {
    if (auto r = commit(); !r.ok()) return r;
    return false;
  }
  virtual Result<bool> durable() { return true; }
  // True when durable() would not wait: what was handed over is written (or failed). Cheap,
  // so a caller can ask between events and send a batch as soon as it is on disk.
  virtual bool written() { return true; }

  // Every stored case, in id order. Returns the first read error, if any.
  virtual Result<bool> for_each_case(const std::function<void(const Case&)>& fn) = 0;

  // Read models (engine/views.hpp). The Service calls this for every case event it
  // publishes, with the exact line, after the save() of the step that wrote it; a store
  // that keeps views files it in the feed and the case's timeline and updates the case's
  // summary in the same commit. Stores without views ignore it.
  virtual void record_event(const CaseEvent& /*e*/, std::string_view /*json*/) {}
  // The feed id of the last event recorded, committed or not (0: none, or no views).
  virtual uint64_t feed_head() { return 0; }
};

// Case events leave the runtime through a sink (stdout, Kafka, the embedded log).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const CaseEvent& e) = 0;
};

}  // namespace gridcase
