#pragma once
// How the read models of engine/views.hpp are kept, independent of any database: the
// records, their keys, the changes one batch makes, and the queries over a sorted
// key-value snapshot. MemoryStore applies the changes to std::maps, RocksStore to its
// WriteBatch (column families of the same names); both answer CaseViews through
// ViewQueries, so the two stores cannot drift apart in what a view means.
//
// Families ("column families" in RocksDB):
//   feed       BE(id)                                 -> FeedEntry without its id
//   history    case_id \0 BE(seq)                     -> BE(feed id)
//   inbox      unit \0 BE(sla_due or max) case_id     -> CaseSummary   (open cases only)
//   summaries  case_id                                -> CaseRecord
//   by_unit    unit \0 BE(newest first) case_id       -> ""            (every case)
//   origin     grid \0 BE(opened_at) case_id          -> ""            (every case, for stats)
// inbox and by_unit hold one entry per unit on the path from the case's unit up to the
// root, and the same for each co-handler: a unit's subtree is one prefix scan. Unit and
// case-id key parts before a separator are escaped as in the store (\0 -> \1\1, \1 -> \1\2).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/case.hpp"
#include "engine/engine.hpp"
#include "engine/views.hpp"

namespace gridcase {

enum class ViewCf : uint8_t { Feed = 0, History, Inbox, Summaries, ByUnit, Origin };
inline constexpr size_t kViewCfCount = 6;
// The family names, by ViewCf (RocksDB column family names too).
inline constexpr std::string_view kViewCfNames[kViewCfCount] = {"feed",      "history", "inbox",
                                                                "summaries", "by_unit", "origin"};

// What the summaries family keeps per case: the list row plus what stats() needs and the
// events alone can tell (the Case does not remember when or where it closed).
struct CaseRecord {
  CaseSummary summary;
  std::optional<Timestamp> closed_at;  // `at` of the last `closed`, while closed
  std::string closed_level;            // level of the last `closed`, while closed
  // The level as the events tell it (opened, level_changed): case events carry the values
  // after their step, so an `sla_breached` is counted at the level held before its step.
  std::string event_level;
  std::vector<LevelCount> sla_breaches;  // per level, in order of first breach
  bool reopened = false;                 // left a final state, or handled a `reopen`
  // Kept since the second record format (a record of format 1 decodes with -1 and none).
  int64_t workflow_version = -1;
  std::optional<CaseReport> report;
};

// Where the changes of a batch go (a WriteBatch, or maps).
class ViewWriter {
 public:
  virtual ~ViewWriter() = default;
  virtual void put(ViewCf cf, std::string_view key, std::string_view value) = 0;
  virtual void del(ViewCf cf, std::string_view key) = 0;
};

// One consistent, read-only state of the families (a RocksDB snapshot, or maps).
class ViewReader {
 public:
  virtual ~ViewReader() = default;
  virtual Result<std::optional<std::string>> get(ViewCf cf, std::string_view key) = 0;
  // Several point reads at once (RocksDB: MultiGet); one answer per key, in order.
  virtual Result<std::vector<std::optional<std::string>>> multi_get(
      ViewCf cf, const std::vector<std::string>& keys);
  // Up to `max` entries with from <= key < to, in key order (`to` empty: no upper bound).
  virtual Result<std::vector<std::pair<std::string, std::string>>> range(ViewCf cf,
                                                                         std::string_view from,
                                                                         std::string_view to,
                                                                         size_t max) = 0;
  virtual uint64_t feed_head() = 0;
  // A time before which no open case's SLA ends (nullopt: unknown). Deadlines that have
  // passed have fired: an escalation deletes the case's inbox keys at its old deadline, so
  // the head of every unit's range is a run of deleted keys, which a scan from here skips.
  virtual std::optional<Timestamp> sla_floor() { return std::nullopt; }
};

// ---- encodings (exposed for tests and the stores) ----

std::string encode_summary(const CaseSummary& s);
Result<CaseSummary> decode_summary(std::string_view bytes);
std::string encode_record(const CaseRecord& r);
Result<CaseRecord> decode_record(std::string_view bytes);
// The report fields a CaseReport keeps, from a report object.
CaseReport case_report_from(const Value& report);
std::string encode_feed_entry(const FeedEntry& e);  // without its id (the key holds it)
Result<FeedEntry> decode_feed_entry(uint64_t id, std::string_view bytes);

std::string be64(uint64_t v);
uint64_t read_be64(std::string_view eight);
std::string feed_key(uint64_t id);
std::string history_prefix(std::string_view case_id);
// Keys of one unit's entries in inbox / by_unit / origin start with this.
std::string unit_prefix(std::string_view unit);
// The smallest key greater than every key starting with `prefix` (prefixes end in \0).
std::string prefix_end(std::string_view prefix);

// The rules: how a case and its events become records and index entries.
class ViewModel {
 public:
  explicit ViewModel(const Engine& engine) : engine_(engine) {}
  const Engine& engine() const { return engine_; }

  // The units an event concerns: unit, from_unit, to_unit, target_unit, co_unit (no
  // duplicates, no empty names), in that order.
  static std::vector<std::string> event_units(const CaseEvent& e);
  FeedEntry feed_entry(uint64_t id, const CaseEvent& e, std::string_view json) const;
  // feed and history entries of one event.
  void write_feed(const FeedEntry& entry, ViewWriter& w) const;

  // One case's update within a batch: begin() from what the summaries family holds now
  // (nullopt: nothing yet), apply_event() for each of the batch's events of the case in
  // order, finish() with its state after them (null when it was not saved in the batch)
  // to write the record and the index entries that changed.
  struct CaseUpdate {
    CaseRecord record;
    std::vector<std::string> inbox_before, by_unit_before;  // the stored record's keys
    std::string origin_before;                              // "" when there was none
    std::optional<std::string> open_level_before;           // the stored record's level if open
  };
  // Fails only when the stored record cannot be read.
  Result<CaseUpdate> begin(std::string_view case_id,
                           const std::optional<std::string>& old_record) const;
  void finish(CaseUpdate& u, const Case* c, ViewWriter& w) const;
  // All three at once.
  Result<bool> update_case(const std::optional<std::string>& old_record, const Case* c,
                           const std::vector<const CaseEvent*>& events, ViewWriter& w) const;

  // A record for a case whose events are unknown (views turned on for an existing store):
  // updated_at is the latest time the case itself remembers.
  CaseRecord record_from_case(const Case& c) const;
  // Index entries and the summaries record of a case the families do not hold yet.
  void insert_record(const CaseRecord& r, ViewWriter& w) const;

  void apply_event(CaseRecord& r, const CaseEvent& e) const;
  void refresh(CaseRecord& r, const Case& c) const;

  // The units whose inbox / by_unit entries a case has: every unit on the path from its
  // unit (its origin grid when it has none) to the root, and from each co-handler.
  std::vector<std::string> index_units(const CaseSummary& s) const;
  static std::string inbox_key(std::string_view unit, const CaseSummary& s);
  static std::string by_unit_key(std::string_view unit, const CaseSummary& s);
  static std::string origin_key(const CaseSummary& s);

 private:
  const Engine& engine_;
};

// CaseViews over any ViewReader: `open` gives a fresh snapshot per call, so a
// RocksDB-backed instance may be used from other threads while the engine commits.
class ViewQueries final : public CaseViews {
 public:
  using OpenReader = std::function<std::unique_ptr<ViewReader>()>;
  ViewQueries(const Engine& engine, OpenReader open) : model_(engine), open_(std::move(open)) {}

  Result<CasePage> inbox(const CaseQuery& q) override;
  Result<CasePage> cases(const CaseQuery& q) override;
  Result<std::optional<CaseSummary>> summary(std::string_view case_id) override;
  Result<std::optional<CaseDetail>> detail(std::string_view case_id) override;
  Result<std::vector<std::string>> timeline(std::string_view case_id) override;
  Result<std::vector<FeedEntry>> feed(uint64_t after, size_t max) override;
  uint64_t feed_head() override;
  Result<UnitStats> stats(std::string_view unit, Timestamp from, Timestamp to) override;

  // Page sizes: 0 means the default, larger values are cut to the maximum.
  static constexpr size_t kDefaultLimit = 50;
  static constexpr size_t kMaxLimit = 1000;
  static constexpr size_t kMaxFeed = 10000;

 private:
  Result<UnitIdx> resolve_unit(std::string_view unit) const;
  ViewModel model_;
  OpenReader open_;
};

}  // namespace gridcase
