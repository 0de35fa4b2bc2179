#include "storage/rocksdb_store.hpp"

#include <lz4.h>
#include <pthread.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "engine/byte_codec.hpp"
#include "engine/codec.hpp"

namespace gridcase {

namespace {

// The views' families follow the store's own, in ViewCf order.
enum Cf : int {
  kCases = 0,
  kTimers,
  kReports,
  kCorrelation,
  kMeta,
  kFeed,
  kHistory,
  kInbox,
  kSummaries,
  kByUnit,
  kOrigin,
  kCfCount
};
static_assert(kCfCount - kFeed == kViewCfCount);

constexpr std::string_view kCfNames[kCfCount] = {
    RocksStore::kCasesCf, RocksStore::kTimersCf, RocksStore::kReportsCf, RocksStore::kCorrelationCf,
    RocksStore::kMetaCf,  kViewCfNames[0],       kViewCfNames[1],        kViewCfNames[2],
    kViewCfNames[3],      kViewCfNames[4],       kViewCfNames[5]};

int view_cf(ViewCf cf) {
  return kFeed + static_cast<int>(cf);
}
constexpr std::string_view kFormat = "1";

rocksdb::Slice sl(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view sv(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

rocksdb::CompressionType compression_type(RocksCompression c) {
  switch (c) {
    case RocksCompression::None:
      return rocksdb::kNoCompression;
    case RocksCompression::Snappy:
      return rocksdb::kSnappyCompression;
    case RocksCompression::LZ4:
      return rocksdb::kLZ4Compression;
    case RocksCompression::Zstd:
      return rocksdb::kZSTD;
  }
  return rocksdb::kNoCompression;
}

// Key parts are joined with \0; \0 and \1 inside a part are escaped so that no part can
// forge a separator (ordinary text is unchanged).
void append_part(std::string& out, std::string_view part) {
  for (char ch : part) {
    if (ch == '\0') {
      out.append("\x01\x01", 2);
    } else if (ch == '\x01') {
      out.append("\x01\x02", 2);
    } else {
      out.push_back(ch);
    }
  }
}

std::string unescape_part(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] == '\x01' && i + 1 < part.size()) {
      out.push_back(part[++i] == '\x01' ? '\0' : '\x01');
    } else {
      out.push_back(part[i]);
    }
  }
  return out;
}

std::string report_key(std::string_view grid, std::string_view report_id) {
  std::string k;
  k.reserve(grid.size() + report_id.size() + 1);
  append_part(k, grid);
  k.push_back('\0');
  append_part(k, report_id);
  return k;
}

// workflow \0 grid \0 key \0: every entry of one correlation key starts with this.
std::string correlation_prefix(std::string_view workflow, std::string_view grid,
                               std::string_view key) {
  std::string k;
  k.reserve(workflow.size() + grid.size() + key.size() + 24);
  append_part(k, workflow);
  k.push_back('\0');
  append_part(k, grid);
  k.push_back('\0');
  append_part(k, key);
  k.push_back('\0');
  return k;
}

// Big-endian, the due time's sign bit flipped: byte order is (due, seq) order.
std::string timer_key(Timestamp due, uint64_t seq) {
  uint64_t d = static_cast<uint64_t>(due.ms) ^ (uint64_t{1} << 63);
  std::string k(16, '\0');
  for (int i = 0; i < 8; ++i) {
    k[i] = static_cast<char>(d >> (56 - 8 * i));
    k[8 + i] = static_cast<char>(seq >> (56 - 8 * i));
  }
  return k;
}

std::optional<std::pair<Timestamp, uint64_t>> parse_timer_key(std::string_view k) {
  if (k.size() != 16) return std::nullopt;
  uint64_t d = 0, seq = 0;
  for (int i = 0; i < 8; ++i) {
    d = (d << 8) | static_cast<uint8_t>(k[i]);
    seq = (seq << 8) | static_cast<uint8_t>(k[8 + i]);
  }
  return std::pair{Timestamp{static_cast<int64_t>(d ^ (uint64_t{1} << 63))}, seq};
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

rocksdb::DBOptions rocks_db_options(const RocksOptions& opts) {
  rocksdb::DBOptions d;
  d.create_if_missing = opts.create_if_missing;
  d.create_missing_column_families = true;
  d.max_background_jobs = opts.background_jobs;
  d.bytes_per_sync = 1 << 20;
  d.keep_log_file_num = 4;
  if (opts.views) {
    // A WAL file goes only when every family with data in it has flushed; the views' small
    // families fill their memtables slowly and would hold up to 4x all write buffers (~1 GB)
    // of WAL. Past this size the families holding the oldest WAL are flushed.
    d.max_total_wal_size = 4 * opts.write_buffer_bytes;
  }
  return d;
}

namespace {

// A correlation key is workflow \0 grid \0 key \0 case id, its parts escaped (no \0 inside
// one): the part up to the third \0 is one correlation key's range. With it as the family's
// prefix, a report whose key no case has yet (most of them) is answered by the memtables'
// and the tables' prefix filters, without walking a skip list or reading an index.
class CorrelationPrefix final : public rocksdb::SliceTransform {
 public:
  static size_t prefix_size(const rocksdb::Slice& key) {  // 0: not a correlation key
    const char* p = key.data();
    const char* end = p + key.size();
    for (int zeros = 0; p != end; ++p) {
      p = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
      if (p == nullptr) return 0;
      if (++zeros == 3) return static_cast<size_t>(p - key.data()) + 1;
    }
    return 0;
  }
  // Stored with every table file: RocksDB uses a file's prefix filter only when the name is
  // the same. A change to where the prefix ends must change the name.
  const char* Name() const override { return "gridcase.CorrelationPrefix.1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), prefix_size(key)};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return prefix_size(key) != 0; }
};

}  // namespace

rocksdb::ColumnFamilyOptions rocks_cf_options(const RocksOptions& opts, std::string_view cf,
                                              const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  // The feed takes every case event line: as many bytes as the cases, or more.
  bool cases = cf == RocksStore::kCasesCf || cf == kViewCfNames[static_cast<int>(ViewCf::Feed)];
  c.write_buffer_size = cases ? opts.write_buffer_bytes : opts.write_buffer_bytes / 4;
  c.max_write_buffer_number = opts.max_write_buffers;
  c.compression = compression_type(opts.compression);
  c.bottommost_compression = compression_type(opts.bottommost_compression);
  c.level_compaction_dynamic_level_bytes = true;
  // Most point reads miss (new report ids, new case ids, fresh timer keys): a memtable
  // filter answers those without walking the skip list.
  // (The views' families other than summaries are only scanned: no filter to maintain.)
  bool scanned_only =
      cf == RocksStore::kCorrelationCf ||
      (std::find(std::begin(kViewCfNames), std::end(kViewCfNames), cf) != std::end(kViewCfNames) &&
       cf != kViewCfNames[static_cast<int>(ViewCf::Summaries)]);
  if (!scanned_only) {
    c.memtable_prefix_bloom_size_ratio = 0.02;
    c.memtable_whole_key_filtering = true;
  }
  const bool correlation = cf == RocksStore::kCorrelationCf;
  if (correlation) {
    c.prefix_extractor = std::make_shared<CorrelationPrefix>();
    c.memtable_prefix_bloom_size_ratio = 0.02;
  }
  // Timers, correlation and inbox entries are deleted about as fast as they are written:
  // compact files full of tombstones early so that scans do not walk over them.
  if (cf == RocksStore::kTimersCf || cf == RocksStore::kCorrelationCf ||
      cf == kViewCfNames[static_cast<int>(ViewCf::Inbox)]) {
    c.table_properties_collector_factories.push_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(128, 64, 0.5));
  }
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache ? cache : rocksdb::NewLRUCache(opts.block_cache_bytes);
  if (opts.bloom_bits_per_key > 0) {
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(opts.bloom_bits_per_key));
  }
  t.whole_key_filtering = !correlation;  // only scanned by prefix, never read by key
  t.format_version = 5;
  if (cf != RocksStore::kTimersCf && cf != RocksStore::kCorrelationCf) {
    t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  }
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return c;
}

rocksdb::WriteOptions rocks_write_options(const RocksOptions& opts) {
  rocksdb::WriteOptions w;
  w.sync = opts.sync_on_commit;
  w.disableWAL = opts.disable_wal;
  return w;
}

struct RocksStore::Handles {
  std::unique_ptr<rocksdb::DB> db;
  // by Cf; [kCfCount] = default. The views' families are null when not open.
  std::vector<rocksdb::ColumnFamilyHandle*> cf;
  rocksdb::WriteOptions write;
  rocksdb::ReadOptions read;
  std::shared_ptr<rocksdb::Cache> cache;
};

namespace {

// The views' changes go into the commit's WriteBatch.
class BatchWriter final : public ViewWriter {
 public:
  BatchWriter(rocksdb::WriteBatch& b, const std::vector<rocksdb::ColumnFamilyHandle*>& cf)
      : b_(b), cf_(cf) {}
  void put(ViewCf cf, std::string_view key, std::string_view value) override {
    b_.Put(cf_[view_cf(cf)], sl(key), sl(value)).PermitUncheckedError();
  }
  void del(ViewCf cf, std::string_view key) override {
    b_.Delete(cf_[view_cf(cf)], sl(key)).PermitUncheckedError();
  }

 private:
  rocksdb::WriteBatch& b_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cf_;
};

// One snapshot of the committed views. Uses only the database and the family handles,
// which RocksDB allows from any thread.
class RocksViewReader final : public ViewReader {
 public:
  using Families = std::array<rocksdb::ColumnFamilyHandle*, kViewCfCount>;
  RocksViewReader(rocksdb::DB* db, const Families& cf, rocksdb::ColumnFamilyHandle* meta)
      : db_(db), cf_(cf), meta_(meta), snapshot_(db->GetSnapshot()) {
    ro_.snapshot = snapshot_;
  }
  ~RocksViewReader() override { db_->ReleaseSnapshot(snapshot_); }
  RocksViewReader(const RocksViewReader&) = delete;
  RocksViewReader& operator=(const RocksViewReader&) = delete;

  Result<std::optional<std::string>> get(ViewCf cf, std::string_view key) override {
    rocksdb::PinnableSlice v;
    rocksdb::Status s = db_->Get(ro_, family(cf), sl(key), &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return err("rocksdb: read from " + std::string(name(cf)) + ": " + s.ToString());
    return std::optional<std::string>(v.ToString());
  }

  Result<std::vector<std::optional<std::string>>> multi_get(
      ViewCf cf, const std::vector<std::string>& keys) override {
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    for (const auto& k : keys) slices.push_back(sl(k));
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(ro_, family(cf), keys.size(), slices.data(), values.data(), statuses.data());
    std::vector<std::optional<std::string>> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) {
        return err("rocksdb: read from " + std::string(name(cf)) + ": " + statuses[i].ToString());
      }
      out[i] = values[i].ToString();
    }
    return out;
  }

  Result<std::vector<std::pair<std::string, std::string>>> range(ViewCf cf, std::string_view from,
                                                                 std::string_view to,
                                                                 size_t max) override {
    rocksdb::ReadOptions ro = ro_;
    rocksdb::Slice upper = sl(to);
    if (!to.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, family(cf)));
    std::vector<std::pair<std::string, std::string>> out;
    for (it->Seek(sl(from)); it->Valid() && out.size() < max; it->Next()) {
      out.emplace_back(std::string(sv(it->key())), std::string(sv(it->value())));
    }
    if (!it->status().ok()) {
      return err("rocksdb: scan of " + std::string(name(cf)) + ": " + it->status().ToString());
    }
    return out;
  }

  uint64_t feed_head() override {
    rocksdb::PinnableSlice v;
    if (!db_->Get(ro_, meta_, sl(RocksStore::kFeedHeadKey), &v).ok()) return 0;
    return parse_u64(sv(v)).value_or(0);
  }

  std::optional<Timestamp> sla_floor() override {
    rocksdb::PinnableSlice v;
    if (!db_->Get(ro_, meta_, sl(RocksStore::kSlaFloorKey), &v).ok()) return std::nullopt;
    int64_t ms = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return Timestamp{ms};
  }

 private:
  rocksdb::ColumnFamilyHandle* family(ViewCf cf) const { return cf_[static_cast<size_t>(cf)]; }
  static std::string_view name(ViewCf cf) { return kViewCfNames[static_cast<size_t>(cf)]; }

  rocksdb::DB* db_;
  Families cf_;
  rocksdb::ColumnFamilyHandle* meta_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions ro_;
};

}  // namespace

RocksStore::RocksStore(const Engine& engine, const RocksOptions& opts)
    : engine_(engine), opts_(opts), h_(std::make_unique<Handles>()) {}

RocksStore::~RocksStore() {
  // A batch still being written is written: it is committed as far as the caller knows.
  if (writer_.joinable()) {
    {
      std::unique_lock lock(writer_mu_);
      writer_cv_.wait(lock, [this] { return !writer_job_; });
      writer_stop_ = true;
    }
    writer_cv_.notify_all();
    writer_.join();
  }
  drop_iterators();  // iterators must go before the database
  if (!h_->db) return;
  if (opts_.disable_wal) {
    // Without a WAL the memtables hold the only copy of what was committed.
    rocksdb::FlushOptions f;
    for (auto* cf : h_->cf) {
      if (cf) h_->db->Flush(f, cf).PermitUncheckedError();
    }
  }
  for (auto* cf : h_->cf) {
    if (cf) h_->db->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
  }
  h_->db->Close().PermitUncheckedError();
}

Result<std::unique_ptr<RocksStore>> RocksStore::open(const std::string& dir, const Engine& engine,
                                                     const RocksOptions& opts) {
  std::unique_ptr<RocksStore> store(new RocksStore(engine, opts));
  if (auto r = store->init(dir); !r.ok()) return r.error();
  return store;
}

Result<bool> RocksStore::keeps_views(const std::string& dir, const Engine& engine) {
  RocksOptions o;
  o.read_only = true;
  o.block_cache_bytes = size_t{1} << 20;
  auto store = open(dir, engine, o);
  if (!store.ok()) return store.error();
  return store.value()->get_meta(kViewsKey).has_value();
}

Result<bool> RocksStore::init(const std::string& dir) {
  auto cache = rocksdb::NewLRUCache(opts_.block_cache_bytes);
  h_->cache = cache;
  // RocksDB opens every family of a database or none: a store that has had views opens
  // theirs even when it no longer keeps them (listing fails for a new database: none).
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(rocks_db_options(opts_), dir, &existing).PermitUncheckedError();
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  std::vector<int> opened;  // Cf of each descriptor
  for (int i = 0; i < kCfCount; ++i) {
    std::string name(kCfNames[i]);
    const bool exists = std::find(existing.begin(), existing.end(), name) != existing.end();
    if (!exists && (opts_.read_only || (i >= kFeed && !opts_.views))) {
      continue;
    }
    descs.emplace_back(name, rocks_cf_options(opts_, name, cache));
    opened.push_back(i);
  }
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocks_cf_options(opts_, "", cache));
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  if (!opts_.read_only && opts_.create_if_missing) {
    // RocksDB makes the last directory only: `--state-dir a/b/engine` needs a and b too.
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  }
  rocksdb::Status s =
      opts_.read_only
          ? rocksdb::DB::OpenForReadOnly(rocks_db_options(opts_), dir, descs, &handles, &raw)
          : rocksdb::DB::Open(rocks_db_options(opts_), dir, descs, &handles, &raw);
  if (!s.ok()) return err("rocksdb: cannot open '" + dir + "': " + s.ToString());
  h_->db.reset(raw);
  h_->cf.assign(kCfCount + 1, nullptr);
  for (size_t i = 0; i < opened.size(); ++i) h_->cf[opened[i]] = handles[i];
  h_->cf[kCfCount] = handles.back();
  h_->write = rocks_write_options(opts_);

  rocksdb::PinnableSlice v;
  bool found = false;
  if (!db_get(kMeta, kFormatKey, &v, &found)) return *error_;
  if (!found && opts_.read_only) {
    if (!h_->cf[kCases]) return err("rocksdb: '" + dir + "' holds no case store");
  } else if (!found) {
    // A new store, or one from before the format mark: write the mark now.
    s = h_->db->Put(h_->write, h_->cf[kMeta], sl(kFormatKey), sl(kFormat));
    if (!s.ok()) return err("rocksdb: '" + dir + "': " + s.ToString());
  } else if (sv(v) != kFormat) {
    return err("rocksdb: '" + dir + "': unknown store format '" + v.ToString() + "'");
  }

  std::optional<uint64_t> count, max_seq;
  for (auto [key, out] :
       {std::pair{kPendingTimersKey, &count}, std::pair{kMaxTimerSeqKey, &max_seq}}) {
    v.Reset();
    if (!db_get(kMeta, key, &v, &found)) return *error_;
    if (!found) continue;
    *out = parse_u64(sv(v));
    if (!*out) {
      return err("rocksdb: '" + dir + "': bad " + std::string(key) + " '" + v.ToString() + "'");
    }
  }
  if (!count || !max_seq) {
    // Written by every commit that adds or removes timers: missing only when there were never
    // any, but a scan is cheap insurance.
    std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(h_->read, h_->cf[kTimers]));
    count = 0;
    max_seq = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++*count;
      if (auto k = parse_timer_key(sv(it->key()))) max_seq = std::max(*max_seq, k->second);
    }
    if (!it->status().ok()) return err("rocksdb: counting timers: " + it->status().ToString());
  }
  committed_timer_count_ = timer_count_ = *count;
  committed_max_seq_ = *max_seq;
  return init_views();
}

// ---- views ----

Result<bool> RocksStore::init_views() {
  rocksdb::PinnableSlice v;
  bool marked = false;
  if (!db_get(kMeta, kViewsKey, nullptr, &marked)) return *error_;
  if (!opts_.views || opts_.read_only) {
    // Commits without views would leave them behind the cases: the first one drops the
    // mark, so that opening with views again rebuilds them.
    unmark_views_ = marked;
    return true;
  }
  model_.emplace(engine_);
  views_batch_ = std::make_unique<rocksdb::WriteBatch>();
  bool found = false;
  if (!db_get(kMeta, kFeedHeadKey, &v, &found)) return *error_;
  if (found) {
    auto head = parse_u64(sv(v));
    if (!head) return err("rocksdb: bad " + std::string(kFeedHeadKey) + " '" + v.ToString() + "'");
    committed_feed_head_ = feed_head_ = *head;
  }
  views_marked_ = marked;
  if (marked) {
    v.Reset();
    if (!db_get(kMeta, kOpenLevelsKey, &v, &found)) return *error_;
    if (!found) return count_open_levels();  // a store from before the counts
    std::string_view text = sv(v);
    std::lock_guard lock(open_levels_mu_);
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      size_t eq = line.rfind('=');
      auto n = eq == std::string_view::npos ? std::nullopt : parse_u64(line.substr(eq + 1));
      if (!n) return err("rocksdb: bad " + std::string(kOpenLevelsKey) + " '" + v.ToString() + "'");
      open_levels_[std::string(line.substr(0, eq))] = static_cast<int64_t>(*n);
    }
    open_levels_stored_ = true;
    return true;
  }
  std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(h_->read, h_->cf[kCases]));
  it->SeekToFirst();
  if (!it->status().ok()) return err("rocksdb: reading cases: " + it->status().ToString());
  if (!it->Valid()) return true;  // nothing to rebuild: the first commit writes the mark
  it.reset();
  if (auto r = rebuild_views(); !r.ok()) return r;
  return count_open_levels();
}

// Counts the open cases per level from the summaries (once, for a store without the
// counts); the next commit stores them.
Result<bool> RocksStore::count_open_levels() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cf[kSummaries]));
  std::map<std::string, int64_t> counts;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto r = decode_record(sv(it->value()));
    if (!r.ok()) {
      return err("rocksdb: views: case '" + it->key().ToString() + "': " + r.error().message);
    }
    if (!r->summary.closed) ++counts[r->summary.level];
  }
  if (!it->status().ok()) return err("rocksdb: reading views: " + it->status().ToString());
  std::lock_guard lock(open_levels_mu_);
  open_levels_ = std::move(counts);
  open_levels_stored_ = false;
  return true;
}

std::map<std::string, int64_t> RocksStore::open_by_level() const {
  std::lock_guard lock(open_levels_mu_);
  return open_levels_;
}

Result<bool> RocksStore::rebuild_views() {
  // The derived families start empty; the feed and the timelines stay (they hold events,
  // which cannot be derived from the cases).
  for (int i : {kInbox, kSummaries, kByUnit, kOrigin}) {
    std::string name(kCfNames[i]);
    rocksdb::Status s = h_->db->DropColumnFamily(h_->cf[i]);
    if (s.ok()) s = h_->db->DestroyColumnFamilyHandle(h_->cf[i]);
    h_->cf[i] = nullptr;
    if (s.ok()) {
      s = h_->db->CreateColumnFamily(rocks_cf_options(opts_, name, h_->cache), name, &h_->cf[i]);
    }
    if (!s.ok()) return err("rocksdb: rebuilding views (" + name + "): " + s.ToString());
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cf[kCases]));
  rocksdb::WriteBatch b;
  BatchWriter w(b, h_->cf);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto c = decode_case(sv(it->value()), engine_);
    if (!c.ok()) {
      return err("rocksdb: rebuilding views: stored case '" + it->key().ToString() +
                 "': " + c.error().message);
    }
    model_->insert_record(model_->record_from_case(*c), w);
    if (b.Count() >= 10000) {
      if (auto s = h_->db->Write(h_->write, &b); !s.ok()) {
        return err("rocksdb: rebuilding views: " + s.ToString());
      }
      b.Clear();
    }
  }
  if (!it->status().ok()) return err("rocksdb: reading cases: " + it->status().ToString());
  b.Put(h_->cf[kMeta], sl(kViewsKey), sl("1")).PermitUncheckedError();
  // Written without views, the timers may now start before the stored floor: none until
  // the next commit writes it.
  b.Delete(h_->cf[kMeta], sl(kSlaFloorKey)).PermitUncheckedError();
  if (auto s = h_->db->Write(h_->write, &b); !s.ok()) {
    return err("rocksdb: rebuilding views: " + s.ToString());
  }
  views_marked_ = true;
  views_rebuilt_ = true;
  return true;
}

ViewModel::CaseUpdate* RocksStore::view_update(std::string_view id, bool opened_now) {
  if (auto it = view_updates_.find(id); it != view_updates_.end()) return &it->second;
  std::optional<std::string> old;
  if (!opened_now) {  // a case opened in this batch has no record yet: skip the read
    rocksdb::PinnableSlice v;
    bool found = false;
    if (!db_get(kSummaries, id, &v, &found)) return nullptr;  // latched in error_
    if (found) old = v.ToString();
  }
  auto u = model_->begin(id, old);
  if (!u.ok()) {
    if (!views_error_) views_error_ = u.error();
    return nullptr;
  }
  return &view_updates_.emplace(std::string(id), std::move(u).value()).first->second;
}

void RocksStore::record_event(const CaseEvent& e, std::string_view json) {
  if (!model_) return;
  // The feed goes straight into the batch (its keys only grow); history waits for commit().
  class FeedWriter final : public ViewWriter {
   public:
    FeedWriter(BatchWriter& batch, std::vector<std::pair<std::string, std::string>>& history)
        : batch_(batch), history_(history) {}
    void put(ViewCf cf, std::string_view key, std::string_view value) override {
      if (cf == ViewCf::History) {
        history_.emplace_back(key, value);
      } else {
        batch_.put(cf, key, value);
      }
    }
    void del(ViewCf cf, std::string_view key) override { batch_.del(cf, key); }

   private:
    BatchWriter& batch_;
    std::vector<std::pair<std::string, std::string>>& history_;
  };
  BatchWriter batch(*views_batch_, h_->cf);
  FeedWriter w(batch, pending_history_);
  model_->write_feed(model_->feed_entry(++feed_head_, e, json), w);
  if (ViewModel::CaseUpdate* u = view_update(e.case_id, e.type == "opened")) {
    model_->apply_event(u->record, e);
  }
}

namespace {

// Collects the views' commit-time changes and puts them into the batch family by family in
// key order: the memtable inserts then walk forward instead of searching from the top
// (see commit()).
class SortedWriter final : public ViewWriter {
 public:
  void put(ViewCf cf, std::string_view key, std::string_view value) override {
    // A case's inbox entries share one summary: kept once (compared by content, since the
    // caller's buffers are reused).
    if (values_.empty() || values_.back() != value) values_.emplace_back(value);
    ops_.push_back({cf, std::string(key), static_cast<uint32_t>(values_.size() - 1), false});
  }
  void del(ViewCf cf, std::string_view key) override {
    ops_.push_back({cf, std::string(key), 0, true});
  }
  // A key is written at most once per commit (one update per case, case ids in the keys).
  void flush(ViewWriter& out) {
    std::sort(ops_.begin(), ops_.end(),
              [](const Op& a, const Op& b) { return a.cf != b.cf ? a.cf < b.cf : a.key < b.key; });
    for (const Op& o : ops_) {
      if (o.del) {
        out.del(o.cf, o.key);
      } else {
        out.put(o.cf, o.key, values_[o.value]);
      }
    }
    ops_.clear();
    values_.clear();
  }

 private:
  struct Op {
    ViewCf cf;
    std::string key;
    uint32_t value;  // index into values_
    bool del;
  };
  std::vector<Op> ops_;
  std::vector<std::string> values_;
};

}  // namespace

Result<bool> RocksStore::commit_views(rocksdb::WriteBatch& b) {
  pending_sla_floor_.reset();
  if (views_error_) return *views_error_;
  // Cases saved without an event in this batch (none in practice) get their update too.
  for (const auto& [id, c] : overlay_.cases) {
    if (!view_update(id, false)) return views_error_ ? *views_error_ : *error_;
  }
  if (error_) return *error_;
  SortedWriter sorted;
  {
    std::lock_guard lock(open_levels_mu_);
    pending_open_levels_ = open_levels_;
  }
  bool open_changed = !open_levels_stored_;
  for (auto& [id, u] : view_updates_) {
    auto d = overlay_.cases.find(id);
    model_->finish(u, d == overlay_.cases.end() ? nullptr : &d->second, sorted);
    std::optional<std::string> after;
    if (!u.record.summary.closed) after = u.record.summary.level;
    if (after != u.open_level_before) {
      if (u.open_level_before) --pending_open_levels_[*u.open_level_before];
      if (after) ++pending_open_levels_[*after];
      open_changed = true;
    }
  }
  if (open_changed) {
    std::string text;
    for (const auto& [level, n] : pending_open_levels_) {
      text += (text.empty() ? "" : "\n") + level + "=" + std::to_string(std::max<int64_t>(0, n));
    }
    b.Put(h_->cf[kMeta], sl(kOpenLevelsKey), sl(text)).PermitUncheckedError();
  }
  for (const auto& [k, v] : pending_history_) sorted.put(ViewCf::History, k, v);
  BatchWriter w(b, h_->cf);
  sorted.flush(w);
  if (feed_head_ != committed_feed_head_) {
    b.Put(h_->cf[kMeta], sl(kFeedHeadKey), sl(std::to_string(feed_head_))).PermitUncheckedError();
  }
  if (!views_marked_) b.Put(h_->cf[kMeta], sl(kViewsKey), sl("1")).PermitUncheckedError();
  // Every SLA deadline of an open case is a pending timer's due: none lies before the
  // earliest timer after this batch (none at all: no case has a deadline).
  auto head = next_timer();
  if (error_) return *error_;
  int64_t floor = head ? head->due.ms : INT64_MAX;
  if (floor != committed_sla_floor_) {
    b.Put(h_->cf[kMeta], sl(kSlaFloorKey), sl(std::to_string(floor))).PermitUncheckedError();
    pending_sla_floor_ = floor;
  }
  return true;
}

std::unique_ptr<CaseViews> RocksStore::views() {
  if (!model_) return nullptr;
  rocksdb::DB* db = h_->db.get();
  RocksViewReader::Families cf;
  for (size_t i = 0; i < kViewCfCount; ++i) cf[i] = h_->cf[kFeed + i];
  rocksdb::ColumnFamilyHandle* meta = h_->cf[kMeta];
  return std::make_unique<ViewQueries>(
      engine_, [db, cf, meta] { return std::make_unique<RocksViewReader>(db, cf, meta); });
}

bool RocksStore::note(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return true;
  if (!error_) error_ = err("rocksdb: " + std::string(what) + ": " + s.ToString());
  return false;
}

RocksStore::KeyEstimates RocksStore::estimates() const {
  KeyEstimates e;
  h_->db->GetIntProperty(h_->cf[kCases], "rocksdb.estimate-num-keys", &e.cases);
  h_->db->GetIntProperty(h_->cf[kTimers], "rocksdb.estimate-num-keys", &e.timers);
  return e;
}

Result<bool> RocksStore::status() const {
  if (error_) return *error_;
  return true;
}

bool RocksStore::db_get(int cf, std::string_view key, rocksdb::PinnableSlice* value, bool* found) {
  ++stats_.db_gets;
  rocksdb::PinnableSlice scratch;
  rocksdb::Status s = h_->db->Get(h_->read, h_->cf[cf], sl(key), value ? value : &scratch);
  *found = s.ok();
  if (s.ok() || s.IsNotFound()) return true;
  return note(s, "read from " + std::string(kCfNames[cf]));
}

// ---- cases ----

const Case* RocksStore::cache_find(std::string_view id) {
  auto it = lru_index_.find(id);
  if (it == lru_index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

void RocksStore::cache_put(Case c) {
  if (opts_.case_cache_entries == 0) return;
  if (auto it = lru_index_.find(c.id); it != lru_index_.end()) {
    auto node = it->second;
    lru_index_.erase(it);  // the key views the node's id, which is about to change
    *node = std::move(c);
    lru_.splice(lru_.begin(), lru_, node);
    lru_index_.emplace(node->id, node);
    return;
  }
  lru_.push_front(std::move(c));
  lru_index_.emplace(lru_.front().id, lru_.begin());
  if (lru_.size() > opts_.case_cache_entries) {
    lru_index_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

Result<std::optional<Case>> RocksStore::load(std::string_view id) {
  if (auto it = overlay_.cases.find(id); it != overlay_.cases.end()) {
    return std::optional<Case>(it->second);
  }
  if (auto it = behind_.cases.find(id); it != behind_.cases.end()) {
    return std::optional<Case>(it->second);
  }
  ++stats_.case_reads;
  if (const Case* c = cache_find(id)) {
    ++stats_.cache_hits;
    return std::optional<Case>(*c);
  }
  rocksdb::PinnableSlice v;
  bool found = false;
  if (!db_get(kCases, id, &v, &found)) return *error_;
  if (!found) return std::optional<Case>();
  ++stats_.decodes;
  auto c = decode_case(sv(v), engine_);
  if (!c.ok()) return err("stored case '" + std::string(id) + "': " + c.error().message);
  if (opts_.case_cache_entries > 0) cache_put(c.value());
  return std::optional<Case>(std::move(c).value());
}

void RocksStore::save(const Case& c) {
  overlay_.cases.insert_or_assign(c.id, c);
}

void RocksStore::save_owned(Case&& c) {
  std::string id = c.id;
  overlay_.cases.insert_or_assign(std::move(id), std::move(c));
}

bool RocksStore::exists(std::string_view id) {
  if (overlay_.cases.find(id) != overlay_.cases.end()) return true;
  if (behind_.cases.find(id) != behind_.cases.end()) return true;
  ++stats_.case_reads;
  if (cache_find(id)) {
    ++stats_.cache_hits;
    return true;
  }
  rocksdb::PinnableSlice v;
  bool found = false;
  if (!db_get(kCases, id, &v, &found) || !found) return false;
  // The runtime loads a case right after asking whether it exists: decode it now, once.
  if (opts_.case_cache_entries > 0) {
    ++stats_.decodes;
    if (auto c = decode_case(sv(v), engine_); c.ok()) cache_put(std::move(c).value());
  }
  return true;
}

Result<bool> RocksStore::for_each_case(const std::function<void(const Case&)>& fn) {
  if (auto r = durable(); !r.ok()) return r;
  std::vector<const Case*> dirty;
  dirty.reserve(overlay_.cases.size());
  for (const auto& [id, c] : overlay_.cases) dirty.push_back(&c);
  std::sort(dirty.begin(), dirty.end(), [](const Case* a, const Case* b) { return a->id < b->id; });
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one pass over everything: do not evict the hot blocks
  std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(ro, h_->cf[kCases]));
  size_t di = 0;
  it->SeekToFirst();
  while (it->Valid() || di < dirty.size()) {
    if (it->Valid()) {
      std::string_view key = sv(it->key());
      if (di >= dirty.size() || key < dirty[di]->id) {
        ++stats_.decodes;
        auto c = decode_case(sv(it->value()), engine_);
        if (!c.ok()) return err("stored case '" + std::string(key) + "': " + c.error().message);
        fn(c.value());
        it->Next();
        continue;
      }
      if (key == dirty[di]->id) it->Next();  // the overlay's version replaces it
    }
    fn(*dirty[di++]);
  }
  if (!it->status().ok()) return err("rocksdb: reading cases: " + it->status().ToString());
  return true;
}

// ---- reports ----

bool RocksStore::report_seen(std::string_view grid, std::string_view report_id) {
  std::string k = report_key(grid, report_id);
  if (overlay_.reports.find(k) != overlay_.reports.end()) return true;
  if (behind_.reports.find(k) != behind_.reports.end()) return true;
  bool found = false;
  return db_get(kReports, k, nullptr, &found) && found;
}

void RocksStore::mark_report(std::string_view grid, std::string_view report_id) {
  overlay_.reports.insert(report_key(grid, report_id));
}

// ---- correlation ----

std::vector<std::string> RocksStore::correlated(std::string_view workflow, std::string_view grid,
                                                std::string_view key) {
  std::string prefix = correlation_prefix(workflow, grid, key);
  std::string& upper = corr_upper_;
  upper = prefix;
  upper.back() = '\x01';          // the prefix ends with the \0 separator
  corr_upper_slice_ = sl(upper);  // the iterator reads the bound through this, at each Seek
  std::vector<std::string> ids;
  if (!corr_it_) {
    // One iterator while the committed state stays as it is (until the next commit).
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &corr_upper_slice_;
    ro.prefix_same_as_start = true;  // the family's prefix filters answer a key nobody has
    ro.background_purge_on_iterator_cleanup = true;  // files it held go on RocksDB's threads
    corr_it_.reset(h_->db->NewIterator(ro, h_->cf[kCorrelation]));
  }
  rocksdb::Iterator* it = corr_it_.get();
  for (it->Seek(sl(prefix)); it->Valid(); it->Next()) {
    std::string_view k = sv(it->key());
    // The overlay decides, then the batch being written.
    if (overlay_.corr.find(k) != overlay_.corr.end()) continue;
    if (behind_.corr.find(k) != behind_.corr.end()) continue;
    ids.push_back(unescape_part(k.substr(prefix.size())));
  }
  note(it->status(), "scan of correlation");
  for (auto o = behind_.corr.lower_bound(prefix); o != behind_.corr.end() && o->first < upper;
       ++o) {
    if (o->second && overlay_.corr.find(o->first) == overlay_.corr.end()) {
      ids.push_back(unescape_part(std::string_view(o->first).substr(prefix.size())));
    }
  }
  for (auto o = overlay_.corr.lower_bound(prefix); o != overlay_.corr.end() && o->first < upper;
       ++o) {
    if (o->second) ids.push_back(unescape_part(std::string_view(o->first).substr(prefix.size())));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RocksStore::add_correlation(std::string_view workflow, std::string_view grid,
                                 std::string_view key, std::string_view case_id) {
  std::string k = correlation_prefix(workflow, grid, key);
  append_part(k, case_id);
  overlay_.corr.insert_or_assign(std::move(k), true);
}

void RocksStore::remove_correlation(std::string_view workflow, std::string_view grid,
                                    std::string_view key, std::string_view case_id) {
  std::string k = correlation_prefix(workflow, grid, key);
  append_part(k, case_id);
  overlay_.corr.insert_or_assign(std::move(k), false);
}

// ---- timers ----

const std::pair<std::string, std::string>* RocksStore::db_timer_head() {
  if (db_head_known_) return db_head_ ? &*db_head_ : nullptr;
  if (!timer_it_) {
    timer_it_.reset(h_->db->NewIterator(h_->read, h_->cf[kTimers]));
    timer_it_on_head_ = false;
    timer_it_parked_ = false;
  }
  if (timer_it_on_head_ && timer_it_->Valid()) {
    timer_it_->Next();  // the old head is gone: continue right after it
  } else if (!timer_it_parked_) {
    ++stats_.timer_seeks;
    timer_it_->Seek(sl(timer_low_));
  }
  timer_it_on_head_ = false;
  timer_it_parked_ = false;
  // The first live one of the batch being written (RocksDB may not show it yet).
  auto behind = behind_.timer_adds.lower_bound(timer_low_);
  while (behind != behind_.timer_adds.end() &&
         overlay_.timer_dels.find(behind->first) != overlay_.timer_dels.end()) {
    ++behind;
  }
  for (; timer_it_->Valid(); timer_it_->Next()) {
    std::string_view k = sv(timer_it_->key());
    if (overlay_.timer_dels.find(k) != overlay_.timer_dels.end()) continue;
    if (behind_.timer_dels.find(k) != behind_.timer_dels.end()) continue;
    if (behind != behind_.timer_adds.end() && behind->first <= k) break;  // parked here
    db_head_.emplace(std::string(k), std::string(sv(timer_it_->value())));
    timer_low_ = db_head_->first;
    db_head_known_ = true;
    timer_it_on_head_ = true;
    return &*db_head_;
  }
  if (!note(timer_it_->status(), "scan of timers")) return nullptr;  // retried next call
  db_head_known_ = true;
  if (behind != behind_.timer_adds.end()) {
    db_head_.emplace(behind->first, behind->second.case_id);
    timer_low_ = db_head_->first;
    // Nothing live in RocksDB comes before where the iterator stopped: the next scan goes on
    // from there instead of seeking over the same deleted keys again.
    timer_it_parked_ = true;
    return &*db_head_;
  }
  db_head_.reset();
  return nullptr;
}

bool RocksStore::timer_db_live(const std::string& key) {
  // Callers have checked overlay_.timer_dels. Below the known head nothing committed is live.
  if (db_head_known_) {
    if (!db_head_) return false;  // the last scan found nothing live at all
    if (key == db_head_->first) return true;
    if (key < db_head_->first) return false;
  } else if (key < timer_low_) {
    return false;
  }
  if (auto k = parse_timer_key(key); k && k->second > committed_max_seq_) return false;
  if (behind_.timer_adds.find(key) != behind_.timer_adds.end()) return true;
  if (behind_.timer_dels.find(key) != behind_.timer_dels.end()) return false;
  bool found = false;
  return db_get(kTimers, key, nullptr, &found) && found;
}

void RocksStore::add_timer(Timestamp due, uint64_t seq, std::string_view case_id) {
  std::string k = timer_key(due, seq);
  auto at = overlay_.timer_adds.lower_bound(k);  // one walk down the tree: found, or the hint
  if (at != overlay_.timer_adds.end() && at->first == k) {
    at->second.case_id.assign(case_id);
    return;
  }
  TimerAdd a{std::string(case_id), false};
  if (overlay_.timer_dels.erase(k) > 0) {
    a.replaces_db = true;  // live before this batch, removed by it, added back
    ++timer_count_;
  } else {
    a.replaces_db = timer_db_live(k);
    if (!a.replaces_db) ++timer_count_;
  }
  overlay_.timer_adds.emplace_hint(at, std::move(k), std::move(a));
}

void RocksStore::remove_timer(Timestamp due, uint64_t seq) {
  std::string k = timer_key(due, seq);
  bool in_db = false;
  if (auto it = overlay_.timer_adds.find(k); it != overlay_.timer_adds.end()) {
    in_db = it->second.replaces_db;
    overlay_.timer_adds.erase(it);
    --timer_count_;
  } else if (overlay_.timer_dels.find(k) == overlay_.timer_dels.end() && timer_db_live(k)) {
    in_db = true;
    --timer_count_;
  }
  if (!in_db) return;
  if (db_head_known_ && db_head_ && db_head_->first == k) {
    // The head goes: nothing committed at or below it stays live. The next scan resumes
    // right after it instead of walking the tombstones of earlier heads again.
    db_head_known_ = false;
    db_head_.reset();
    timer_low_ = k;
    timer_low_.push_back('\0');
  }
  overlay_.timer_dels.insert(std::move(k));
}

std::optional<TimerRef> RocksStore::next_timer() {
  const auto* db = db_timer_head();
  auto add = overlay_.timer_adds.begin();
  const std::string* key;
  const std::string* id;
  if (add != overlay_.timer_adds.end() && (!db || add->first <= db->first)) {
    key = &add->first;
    id = &add->second.case_id;
  } else if (db) {
    key = &db->first;
    id = &db->second;
  } else {
    return std::nullopt;
  }
  auto parsed = parse_timer_key(*key);
  if (!parsed) {
    note(rocksdb::Status::Corruption("timer key of " + std::to_string(key->size()) + " bytes"),
         "timers");
    return std::nullopt;
  }
  return TimerRef{parsed->first, parsed->second, *id};
}

// ---- meta ----

std::optional<std::string> RocksStore::get_meta(std::string_view key) {
  if (auto it = overlay_.meta.find(key); it != overlay_.meta.end()) return it->second;
  if (auto it = behind_.meta.find(key); it != behind_.meta.end()) return it->second;
  rocksdb::PinnableSlice v;
  bool found = false;
  if (!db_get(kMeta, key, &v, &found) || !found) return std::nullopt;
  return v.ToString();
}

void RocksStore::put_meta(std::string_view key, std::string_view value) {
  overlay_.meta.insert_or_assign(std::string(key), std::string(value));
}

// ---- outbox ----

namespace {

constexpr std::string_view kOutboxPrefix = "outbox/";

std::string outbox_key(uint64_t batch) {
  return std::string(kOutboxPrefix) + be64(batch);
}

// A stored outbox: the format byte, the size of the messages' bytes (a varint) and those
// bytes as one LZ4 block. Case event lines compress about eightfold, and every byte stored
// is copied into the WAL, the memtable and, if not yet deleted when the memtable is flushed,
// a table file (docs/design.md).
constexpr char kOutboxLz4 = 1;

std::string compress_outbox(std::string_view raw) {
  std::string out(1, kOutboxLz4);
  bytes::put_varint(raw.size(), out);
  size_t head = out.size();
  out.resize(head + static_cast<size_t>(LZ4_compressBound(static_cast<int>(raw.size()))));
  int n = LZ4_compress_default(raw.data(), out.data() + head, static_cast<int>(raw.size()),
                               static_cast<int>(out.size() - head));
  out.resize(head + static_cast<size_t>(n));
  return out;
}

Result<std::string> decompress_outbox(uint64_t batch, std::string_view stored) {
  bytes::Reader r{stored};  // advances `stored` to the block
  bool lz4 = r.byte() == kOutboxLz4;
  uint64_t size = r.varint();
  std::string out;
  if (r.ok && lz4 && size <= static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE)) {
    out.resize(size);
    int n = LZ4_decompress_safe(stored.data(), out.data(), static_cast<int>(stored.size()),
                                static_cast<int>(size));
    if (n >= 0 && static_cast<uint64_t>(n) == size) return out;
  }
  return err("rocksdb: the stored outbox of batch " + std::to_string(batch) + " is damaged");
}

}  // namespace

void RocksStore::put_outbox(uint64_t batch, std::string bytes) {
  if (bytes.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    // Never in practice (a batch is at most engine.max_batch records): kept as it is would
    // be unreadable, so the commit fails.
    if (!error_) error_ = err("rocksdb: an outbox of " + std::to_string(bytes.size()) + " bytes");
    return;
  }
  overlay_.outbox.emplace_back(batch, std::move(bytes));  // compressed when written
}

void RocksStore::drop_outbox(uint64_t batch) {
  outbox_drops_.push_back(batch);
}

Result<std::vector<std::pair<uint64_t, std::string>>> RocksStore::stored_outboxes() {
  if (auto r = durable(); !r.ok()) return r.error();
  std::vector<std::pair<uint64_t, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(h_->db->NewIterator(h_->read, h_->cf[kMeta]));
  for (it->Seek(sl(kOutboxPrefix)); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(kOutboxPrefix)) break;
    key.remove_prefix(kOutboxPrefix.size());
    if (key.size() != 8) return err("rocksdb: a damaged outbox key in meta");
    uint64_t batch = read_be64(key);
    auto bytes = decompress_outbox(batch, it->value().ToStringView());
    if (!bytes.ok()) return bytes.error();
    out.emplace_back(batch, std::move(bytes).value());
  }
  if (!it->status().ok()) return err("rocksdb: reading the outbox: " + it->status().ToString());
  return out;
}

// ---- commit ----

Result<bool> RocksStore::commit() {
  if (auto r = write_batch(false); !r.ok()) return r;
  return true;
}

Result<bool> RocksStore::commit_behind() {
  return write_batch(!model_);
}

void RocksStore::start_writer() {
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "gc-store");  // as top -H, perf and gdb show it
    std::unique_lock lock(writer_mu_);
    for (;;) {
      writer_cv_.wait(lock, [this] { return writer_stop_ || writer_job_; });
      if (!writer_job_) return;  // stopping, nothing to write
      lock.unlock();
      if (opts_.before_write) opts_.before_write();
      // behind_ stays as it is until durable() has seen this job done. Nothing may escape
      // this thread (that would end the process): a throw is a failed write.
      std::unique_ptr<rocksdb::Status> status;
      try {
        put_changes(*behind_batch_, behind_);
        status = std::make_unique<rocksdb::Status>(h_->db->Write(h_->write, behind_batch_.get()));
      } catch (const std::exception& e) {
        status = std::make_unique<rocksdb::Status>(rocksdb::Status::Aborted(e.what()));
      }
      lock.lock();
      writer_status_ = std::move(status);
      writer_job_ = false;
      writer_cv_.notify_all();
    }
  });
}

void RocksStore::drop_iterators() {
  timer_it_.reset();
  timer_it_on_head_ = false;
  corr_it_.reset();
}

Result<bool> RocksStore::durable() {
  if (!behind_.active) return error_ ? Result<bool>(*error_) : Result<bool>(true);
  std::unique_ptr<rocksdb::Status> status;
  {
    std::unique_lock lock(writer_mu_);
    writer_cv_.wait(lock, [this] { return !writer_job_; });
    status = std::move(writer_status_);
  }
  behind_.active = false;
  // The iterators may read the state from before the write: the next scans open new ones.
  drop_iterators();
  if (!status->ok()) {
    // What was handed over is lost; what was built on it must not be committed either.
    error_ = err("rocksdb: commit: " + status->ToString());
    return *error_;
  }
  ++stats_.commits;
  behind_batch_->Clear();
  for (auto& [id, c] : behind_.cases) cache_put(std::move(c));
  behind_ = {};
  return true;
}

bool RocksStore::written() {
  if (!behind_.active) return true;
  std::lock_guard lock(writer_mu_);
  return !writer_job_;
}

namespace {

// The keys of a set or map in order: each family's entries go into a WriteBatch in key
// order, so the memtable skip list can start each search from the previous insert position
// (memtable inserts are most of a commit's cost; sorted batches insert about 12% faster).
template <typename Container>
const std::vector<std::string_view>& sorted_keys(const Container& c,
                                                 std::vector<std::string_view>& keys) {
  keys.clear();
  for (const auto& e : c) {
    if constexpr (std::is_convertible_v<decltype(e), std::string_view>) {
      keys.emplace_back(e);
    } else {
      keys.emplace_back(e.first);
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

// Cases, timers, report ids, correlation keys and outboxes: on the writer thread for a
// batch written behind.
void RocksStore::put_changes(rocksdb::WriteBatch& b, const Changes& c) {
  const auto& cf = h_->cf;
  std::vector<std::string_view> keys;
  std::string bytes;
  for (std::string_view id : sorted_keys(c.cases, keys)) {
    bytes = encode_case(c.cases.find(id)->second, engine_);
    b.Put(cf[kCases], sl(id), sl(bytes));
  }
  for (const auto& [k, a] : c.timer_adds) b.Put(cf[kTimers], sl(k), sl(a.case_id));
  for (std::string_view k : sorted_keys(c.timer_dels, keys)) b.Delete(cf[kTimers], sl(k));
  for (std::string_view k : sorted_keys(c.reports, keys)) {
    b.Put(cf[kReports], sl(k), rocksdb::Slice());
  }
  for (const auto& [k, present] : c.corr) {
    if (present) {
      b.Put(cf[kCorrelation], sl(k), rocksdb::Slice());
    } else {
      b.Delete(cf[kCorrelation], sl(k));
    }
  }
  for (const auto& [n, raw] : c.outbox) {
    b.Put(cf[kMeta], sl(outbox_key(n)), sl(compress_outbox(raw)));
  }
}

// Ok(true): handed to the writer thread; Ok(false): written here (or nothing to write).
Result<bool> RocksStore::write_batch(bool behind) {
  // One batch in the writer's hands at a time, and in order.
  if (auto r = durable(); !r.ok()) return r;
  if (opts_.read_only) return err("rocksdb: the store is open for reading only");
  // With views the batch already holds this batch's feed and history entries.
  if (!model_ && !plain_batch_) plain_batch_ = std::make_unique<rocksdb::WriteBatch>();
  rocksdb::WriteBatch& b = model_ ? *views_batch_ : *plain_batch_;
  b.SetSavePoint();
  // Nothing of a failed commit stays in the views' batch; the overlay is kept.
  auto fail = [&b](Error e) -> Result<bool> {
    b.RollbackToSavePoint().PermitUncheckedError();
    return e;
  };
  const auto& cf = h_->cf;
  // Cases, timers, report ids, correlation keys and outboxes of a batch written behind are
  // encoded and put in on the writer thread (put_changes); the cases' encoding reads the
  // engine's workflows, which therefore stay as they are until durable() (see the header).
  const bool for_writer = behind && (!overlay_.cases.empty() || !overlay_.timer_adds.empty() ||
                                     !overlay_.timer_dels.empty() || !overlay_.reports.empty() ||
                                     !overlay_.corr.empty() || !overlay_.outbox.empty());
  for (const auto& [k, v] : overlay_.meta) b.Put(cf[kMeta], sl(k), sl(v));
  if (timer_count_ != committed_timer_count_) {
    b.Put(cf[kMeta], sl(kPendingTimersKey), sl(std::to_string(timer_count_)));
  }
  uint64_t max_seq = committed_max_seq_;
  for (const auto& [k, a] : overlay_.timer_adds)
    max_seq = std::max(max_seq, parse_timer_key(k)->second);
  if (max_seq != committed_max_seq_) {
    b.Put(cf[kMeta], sl(kMaxTimerSeqKey), sl(std::to_string(max_seq)));
  }
  for (uint64_t n : outbox_drops_) b.Delete(cf[kMeta], sl(outbox_key(n)));
  if (!behind) {
    put_changes(b, overlay_);
  }
  if (model_) {
    if (auto r = commit_views(b); !r.ok()) return fail(r.error());
  } else if (unmark_views_ && (b.Count() > 0 || for_writer)) {
    b.Delete(cf[kMeta], sl(kViewsKey));
  }
  if (b.Count() == 0 && !for_writer) {
    b.RollbackToSavePoint().PermitUncheckedError();
    return false;
  }
  if (behind) {
    // The writer takes this batch (started below); the next one is built in the other.
    if (!behind_batch_) behind_batch_ = std::make_unique<rocksdb::WriteBatch>();
    std::swap(plain_batch_, behind_batch_);
    behind_.active = true;
  } else {
    rocksdb::Status s = h_->db->Write(h_->write, &b);
    if (!s.ok()) return fail(err("rocksdb: commit: " + s.ToString()));
    ++stats_.commits;
    if (!model_) b.Clear();  // (the views' batch is cleared below)
  }
  outbox_drops_.clear();

  // The committed state changed under the iterators; the new timers may come before the
  // cached head.
  drop_iterators();
  if (!overlay_.timer_adds.empty()) {
    const auto& [first_key, first] = *overlay_.timer_adds.begin();
    if (first_key < timer_low_) timer_low_ = first_key;
    if (db_head_known_ && (!db_head_ || first_key <= db_head_->first)) {
      db_head_.emplace(first_key, first.case_id);
      timer_low_ = first_key;
    }
  }
  committed_timer_count_ = timer_count_;
  committed_max_seq_ = max_seq;
  committed_feed_head_ = feed_head_;
  if (pending_sla_floor_) committed_sla_floor_ = pending_sla_floor_;
  pending_sla_floor_.reset();
  if (model_) {
    views_batch_->Clear();
    view_updates_.clear();
    pending_history_.clear();
    std::lock_guard lock(open_levels_mu_);
    open_levels_ = pending_open_levels_;
    open_levels_stored_ = true;
  }
  if (model_) views_marked_ = true;
  unmark_views_ = false;
  if (behind) {
    // Readable from behind_ until the write is known to be done (durable()).
    static_cast<Changes&>(behind_) = std::move(overlay_);
    if (!writer_.joinable()) start_writer();
    {
      std::lock_guard lock(writer_mu_);
      writer_job_ = true;
    }
    writer_cv_.notify_all();
  } else {
    for (auto& [id, c] : overlay_.cases) cache_put(std::move(c));
  }
  overlay_ = {};
  return behind;
}

}  // namespace gridcase
