#pragma once
// The RocksDB CaseStore. One column family per kind of record:
//   cases        case id                                 -> encode_case() bytes
//   timers       BE(due ^ sign bit) BE(seq)              -> case id   (ordered by due, seq)
//   reports      grid \0 report_id                       -> ""
//   correlation  workflow \0 grid \0 key \0 case_id      -> ""
//   meta         name                                    -> value
// (Key parts are escaped so that a \0 inside a part cannot fake a separator: \0 -> \1\1,
// \1 -> \1\2; ordinary text is stored as is.)
//
// Writes since the last commit() live in an in-memory overlay that every read consults
// first (read-your-writes), and commit() turns the overlay into ONE WriteBatch. Cases stay
// decoded in the overlay and are encoded once per commit, however often a batch saves them.
//
// With RocksOptions::views the store also keeps the read models of engine/views.hpp in the
// families of engine/view_model.hpp (feed, history, inbox, summaries, by_unit, origin),
// written in the same WriteBatch as the cases they describe; views() reads them from any
// thread. meta "store.views" marks that they follow every commit: a store opened without
// views removes the mark at its first commit, and opening with views rebuilds the
// summaries and indexes from the cases when the mark is missing (the feed and timelines
// then lack what happened without views: events are not stored anywhere else).
#include <rocksdb/slice.h>

#include <bit>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/engine.hpp"
#include "engine/store.hpp"
#include "engine/view_model.hpp"

namespace rocksdb {
class WriteBatch;
class Cache;
class ColumnFamilyHandle;
class DB;
class Iterator;
class PinnableSlice;
class Status;
struct ColumnFamilyOptions;
struct DBOptions;
struct WriteOptions;
}  // namespace rocksdb

namespace gridcase {

enum class RocksCompression : uint8_t { None, Snappy, LZ4, Zstd };

struct RocksOptions {
  size_t block_cache_bytes = size_t{64} << 20;   // default 64 MiB, shared by all column families
  size_t write_buffer_bytes = size_t{32} << 20;  // default 32 MiB: memtable of `cases`;
                                                 // the other families get a quarter each
  int max_write_buffers = 2;                     // default 2 memtables per family
  int background_jobs = 2;                       // default 2 flush/compaction threads
  int bloom_bits_per_key = 10;                   // default 10 (about 1% false positives)
  // default false: fsync the WAL on every commit. simulate leaves it off (a crash of the
  // machine may lose the last commits, never half of one); serve sets it.
  bool sync_on_commit = false;
  // default false: skip the WAL entirely. Only for throwaway state (benchmarks): a crash
  // loses everything since the last memtable flush.
  bool disable_wal = false;
  RocksCompression compression = RocksCompression::LZ4;              // default LZ4
  RocksCompression bottommost_compression = RocksCompression::Zstd;  // default Zstd
  // default 10000: decoded cases kept in an LRU cache (0 = off). Hot cases are loaded many
  // times; a copy out of the cache costs far less than a Get plus decode_case(). Measured on
  // 300k generated events: 88% of case reads hit (nearly all misses are exists() on new
  // report ids), decodes fell from 1.37M to 39k and the run took about a quarter less time.
  size_t case_cache_entries = 10000;
  bool create_if_missing = true;  // default true
  // default false: keep the read models (engine/views.hpp). serve turns them on; simulate
  // leaves them off, so its speed is untouched.
  bool views = false;
  // default false: open for reading only (RocksDB's OpenForReadOnly: no lock, so it works
  // beside a running engine, on the state as it was when opened). commit() then fails.
  bool read_only = false;
  // Tests: runs on the writer thread before each write behind (to hold it back).
  std::function<void()> before_write;
};

// Counters for benchmarks and diagnostics; they never affect behaviour.
struct RocksStoreStats {
  uint64_t case_reads = 0;   // load()/exists() calls that were not answered by the overlay
  uint64_t cache_hits = 0;   // ... of those, answered by the decoded-case cache
  uint64_t db_gets = 0;      // point reads sent to RocksDB (all column families)
  uint64_t decodes = 0;      // decode_case() calls
  uint64_t timer_seeks = 0;  // timer iterator seeks (next_timer() after its head went away)
  uint64_t commits = 0;      // WriteBatches written
};

class RocksStore final : public CaseStore {
 public:
  static Result<std::unique_ptr<RocksStore>> open(const std::string& dir, const Engine& engine,
                                                  const RocksOptions& opts = {});
  // True if the store at `dir` keeps the read models (a serve with HTTP wrote it): a tool
  // that changes cases should then open it with views, so they stay complete.
  static Result<bool> keeps_views(const std::string& dir, const Engine& engine);
  // Closes the database. Writes since the last commit() are dropped, as in a crash.
  ~RocksStore() override;
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  Result<std::optional<Case>> load(std::string_view id) override;
  void save(const Case& c) override;
  void save_owned(Case&& c) override;
  bool exists(std::string_view id) override;
  bool report_seen(std::string_view grid, std::string_view report_id) override;
  void mark_report(std::string_view grid, std::string_view report_id) override;
  std::vector<std::string> correlated(std::string_view workflow, std::string_view grid,
                                      std::string_view key) override;
  void add_correlation(std::string_view workflow, std::string_view grid, std::string_view key,
                       std::string_view case_id) override;
  void remove_correlation(std::string_view workflow, std::string_view grid, std::string_view key,
                          std::string_view case_id) override;
  void add_timer(Timestamp due, uint64_t seq, std::string_view case_id) override;
  void remove_timer(Timestamp due, uint64_t seq) override;
  std::optional<TimerRef> next_timer() override;
  // Exact: a count kept in `meta` under kPendingTimersKey, updated by every commit, plus the
  // changes of the open batch. Adds and removes check whether the key is live; only removing
  // a committed timer other than the head (a cancellation) costs a point read.
  size_t pending_timers() override { return timer_count_; }
  std::optional<std::string> get_meta(std::string_view key) override;
  void put_meta(std::string_view key, std::string_view value) override;
  // In `meta` under "outbox/" and the batch number (8 bytes, big-endian): a batch's
  // messages are usually confirmed, and their key deleted, before the memtable holding them
  // is flushed, so they never reach a table file.
  void put_outbox(uint64_t batch, std::string bytes) override;
  void drop_outbox(uint64_t batch) override;
  Result<std::vector<std::pair<uint64_t, std::string>>> stored_outboxes() override;
  // Writes the overlay as one WriteBatch. Fails without writing anything if an earlier read
  // failed (a batch computed from a failed read must not become durable); the overlay is
  // kept when the write fails.
  Result<bool> commit() override;
  // Written by a thread of the store's own while the caller goes on (not with views: their
  // batch is built from the committed state, so it commits in place). That thread encodes
  // the batch's cases, reading the engine's workflows and org: the engine must not change
  // (Engine::add_versions) until durable() has returned.
  Result<bool> commit_behind() override;
  Result<bool> durable() override;
  bool written() override;
  Result<bool> for_each_case(const std::function<void(const Case&)>& fn) override;
  // Views on: files the event in the feed (the next id) and the case's timeline, and
  // updates the case's summary and index entries, all at the next commit().
  void record_event(const CaseEvent& e, std::string_view json) override;
  uint64_t feed_head() override { return feed_head_; }

  // The read models over the committed state, safe to call from any thread while this
  // store commits (each call reads one RocksDB snapshot; nothing of the overlay or the case
  // cache). Null when the store was opened without views. Must not outlive the store.
  std::unique_ptr<CaseViews> views();

  // RocksDB's estimates of the keys in the cases and timers families (cheap, approximate:
  // for gauges such as /metrics). Safe from any thread.
  struct KeyEstimates {
    uint64_t cases = 0;
    uint64_t timers = 0;
  };
  KeyEstimates estimates() const;
  // Open cases per level as committed (exact; empty without views). Any thread.
  std::map<std::string, int64_t> open_by_level() const;

  // The first storage error seen by a method that cannot return one (exists, next_timer...).
  Result<bool> status() const;
  const RocksStoreStats& stats() const { return stats_; }
  // Views rebuilt from the cases when this store was opened (see above).
  bool views_rebuilt() const { return views_rebuilt_; }

  // Meta names the store keeps for itself (the runtime's own names never start with "store.").
  static constexpr std::string_view kPendingTimersKey = "store.pending_timers";
  static constexpr std::string_view kMaxTimerSeqKey = "store.max_timer_seq";
  static constexpr std::string_view kFormatKey = "store.format";
  static constexpr std::string_view kFeedHeadKey = "store.feed_head";
  static constexpr std::string_view kViewsKey = "store.views";
  static constexpr std::string_view kOpenLevelsKey = "views.open_levels";
  static constexpr std::string_view kSlaFloorKey = "store.sla_floor";

  // Column family names, in the order open() creates them.
  static constexpr std::string_view kCasesCf = "cases";
  static constexpr std::string_view kTimersCf = "timers";
  static constexpr std::string_view kReportsCf = "reports";
  static constexpr std::string_view kCorrelationCf = "correlation";
  static constexpr std::string_view kMetaCf = "meta";

 private:
  struct Handles;
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using StringSet = std::unordered_set<std::string, TransparentHash, std::equal_to<>>;
  // Byte order, as RocksDB sorts; two timer keys (16 bytes: due, seq) compare as two big-endian
  // words instead of through memcmp.
  struct TimerKeyLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const {
      if (std::endian::native == std::endian::little && a.size() == 16 && b.size() == 16) {
        uint64_t x[2], y[2];
        std::memcpy(x, a.data(), 16);
        std::memcpy(y, b.data(), 16);
        if (x[0] != y[0]) return __builtin_bswap64(x[0]) < __builtin_bswap64(y[0]);
        return __builtin_bswap64(x[1]) < __builtin_bswap64(y[1]);
      }
      return a < b;
    }
  };

  RocksStore(const Engine& engine, const RocksOptions& opts);
  Result<bool> init(const std::string& dir);
  Result<bool> init_views();
  Result<bool> rebuild_views();
  Result<bool> count_open_levels();
  // The views' part of the commit's WriteBatch.
  Result<bool> commit_views(rocksdb::WriteBatch& b);
  // The update of a case's view records in this batch, begun from the stored record.
  ViewModel::CaseUpdate* view_update(std::string_view id, bool opened_now);
  bool note(const rocksdb::Status& s, std::string_view what);
  // Point read from the committed state; sets *found. False on a read error (latched).
  bool db_get(int cf, std::string_view key, rocksdb::PinnableSlice* value, bool* found);

  // Decoded-case LRU cache (committed state only).
  const Case* cache_find(std::string_view id);
  void cache_put(Case c);

  // Timers.
  bool timer_db_live(const std::string& key);  // live in the committed state (not in dels)
  Result<bool> write_batch(bool behind);
  void start_writer();

  struct TimerAdd {
    std::string case_id;
    bool replaces_db = false;  // the key is also live in the committed state
  };
  // What a batch changes: the overlay (writes since the last commit), and the same again for
  // a batch handed to the writer thread.
  struct Changes {
    std::unordered_map<std::string, Case, TransparentHash, std::equal_to<>> cases;
    StringSet reports;
    std::map<std::string, bool, std::less<>> corr;  // full key -> present
    std::map<std::string, std::string, std::less<>> meta;
    std::map<std::string, TimerAdd, TimerKeyLess> timer_adds;
    StringSet timer_dels;  // keys live in the committed state, deleted by this batch
    std::vector<std::pair<uint64_t, std::string>> outbox;  // (batch, bytes) as put_outbox got
  };
  // Cases (encoded here), timers, report ids, correlation keys and outboxes (compressed
  // here) of `c` into `b`. Reads only `c`, the engine and the family handles: the writer
  // thread runs it on behind_.
  void put_changes(rocksdb::WriteBatch& b, const Changes& c);
  // A batch handed to the writer thread (commit_behind) and not known to be written yet.
  // Reads look here after the overlay and before RocksDB: RocksDB may show the batch or not
  // yet, and for a key the batch touched this is what it holds either way.
  struct Behind : Changes {
    bool active = false;
  };
  Behind behind_;
  std::unique_ptr<rocksdb::WriteBatch> behind_batch_;  // the batch the writer has
  std::thread writer_;
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_job_ = false;   // guarded by writer_mu_: behind_batch_ is to be written
  bool writer_stop_ = false;  // guarded by writer_mu_
  std::unique_ptr<rocksdb::Status> writer_status_;  // guarded by writer_mu_: the last write's
  const std::pair<std::string, std::string>* db_timer_head();
  void drop_iterators();  // timer_it_ and corr_it_: the committed state changed or goes

  const Engine& engine_;
  RocksOptions opts_;
  std::unique_ptr<Handles> h_;
  std::optional<Error> error_;
  RocksStoreStats stats_;

  // The overlay: writes since the last commit().
  Changes overlay_;
  std::vector<uint64_t> outbox_drops_;
  // The commit's WriteBatch without views (with views: views_batch_), kept between commits:
  // a batch's outbox makes it megabytes, and memory allocated afresh for each commit was
  // a page fault per page.
  std::unique_ptr<rocksdb::WriteBatch> plain_batch_;
  size_t timer_count_ = 0;
  size_t committed_timer_count_ = 0;
  // The highest seq of any timer ever committed: a key with a higher seq cannot be in the
  // database, so adding a fresh timer (the runtime's seqs only grow) needs no read.
  uint64_t committed_max_seq_ = 0;

  // The committed timers below timer_low_ are all dead or in overlay_.timer_dels, so next_timer()
  // never walks over the tombstones a queue-like workload leaves behind at the head.
  // db_head_ caches the first live committed timer at or above it; timer_it_ sits on it
  // (valid within one batch: the committed state only changes in commit()).
  std::string timer_low_;
  bool db_head_known_ = false;
  std::optional<std::pair<std::string, std::string>> db_head_;  // key, case id
  std::unique_ptr<rocksdb::Iterator> timer_it_;
  bool timer_it_on_head_ = false;
  bool timer_it_parked_ = false;  // on the first live key after a head of the batch behind
  // correlated()'s iterator over the committed state, and its upper bound (set before each
  // Seek); dropped with timer_it_ whenever the committed state changes (drop_iterators).
  std::unique_ptr<rocksdb::Iterator> corr_it_;
  std::string corr_upper_;
  rocksdb::Slice corr_upper_slice_;

  // Views (RocksOptions::views). Each event goes into views_batch_ (feed, history) and into
  // its case's update as it is recorded, so a batch keeps no copies of its events; commit()
  // adds the cases' records and index entries and the rest of the overlay to that batch.
  std::optional<ViewModel> model_;
  std::unique_ptr<rocksdb::WriteBatch> views_batch_;
  std::unordered_map<std::string, ViewModel::CaseUpdate, TransparentHash, std::equal_to<>>
      view_updates_;
  std::optional<Error> views_error_;  // a stored record that cannot be read
  // History entries wait for the commit, to go in in key order (they arrive in feed order,
  // which is random in key order; see SortedWriter in the .cpp).
  std::vector<std::pair<std::string, std::string>> pending_history_;
  uint64_t feed_head_ = 0;            // the last id given, committed or not
  uint64_t committed_feed_head_ = 0;  // the last id committed
  std::optional<int64_t> committed_sla_floor_, pending_sla_floor_;
  bool views_marked_ = false;  // meta kViewsKey is committed
  // Open cases per level (views only), exact: kept in meta kOpenLevelsKey by every commit
  // that changes them; counted once from the summaries when a store lacks the key.
  std::map<std::string, int64_t> open_levels_, pending_open_levels_;
  bool open_levels_stored_ = false;
  mutable std::mutex open_levels_mu_;  // open_levels_ is read by other threads (metrics)
  bool views_rebuilt_ = false;
  bool unmark_views_ = false;  // views off over a store that has them: drop the mark

  std::list<Case> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Case>::iterator> lru_index_;  // keys: lru ids
};

// The options open() gives RocksDB, exposed so that benchmarks of the bare library run with
// exactly the store's settings. `cache` null: a new block cache of opts.block_cache_bytes.
rocksdb::DBOptions rocks_db_options(const RocksOptions& opts);
rocksdb::ColumnFamilyOptions rocks_cf_options(const RocksOptions& opts, std::string_view cf,
                                              const std::shared_ptr<rocksdb::Cache>& cache);
rocksdb::WriteOptions rocks_write_options(const RocksOptions& opts);

}  // namespace gridcase
