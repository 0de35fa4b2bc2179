#pragma once
// Read models for the people at both ends (the HTTP API): what reached a unit, a case's
// timeline, a feed of every case event in commit order, the county's figures. The store
// keeps them in the same commit as the cases (RocksDB: column families of their own, one
// WriteBatch), so a view never shows a state the engine has not committed, and nothing
// needs rebuilding after a crash.
//
// The writer side is CaseStore::record_event() (called by the Service for every case
// event of the batch) and CaseStore::save(); the reader side is CaseViews, which is
// safe to call from other threads while the engine runs (it reads committed state only).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.hpp"
#include "engine/time.hpp"

namespace gridcase {

// One case as a list row: what an inbox shows.
struct CaseSummary {
  std::string case_id;
  std::string workflow;
  std::string state;
  std::string level;
  std::string unit;  // the unit that holds it now
  std::string grid;  // origin grid
  std::string category;
  std::string title;  // report.title, "" if none
  int64_t severity = 1;
  bool closed = false;
  Timestamp opened_at;
  Timestamp updated_at;              // `at` of its last case event
  std::optional<Timestamp> sla_due;  // deadline of the running SLA period, if any
  int64_t seq = 0;                   // seq of its last case event
  std::vector<std::string> co_handlers;
};

// What the opening report said beyond the list row (title, category, severity, grid):
// GET /v1/cases/{id} shows it. Empty strings and nullopt: the report did not say.
struct CaseReport {
  std::string report_id;
  std::string description;  // the report's text
  std::string household;
  std::string hukou_township;  // registration (hukou) township, for dual management
  std::string reporter;
  std::string channel;
  std::string occurred_at;  // as the report gave it (RFC 3339)
  std::optional<int64_t> households_affected;
  std::optional<double> lat, lon;  // location: both or neither
};

// One case with what only its own page needs.
struct CaseDetail {
  CaseSummary summary;
  // The workflow version the case runs on (0: a workflow loaded from a file); -1 when the
  // record predates this field (the live version is meant then).
  int64_t workflow_version = -1;
  std::optional<CaseReport> report;  // nullopt: a record written before reports were kept
};

// Filters of GET /v1/inbox and GET /v1/cases. Empty strings and nullopt do not filter.
struct CaseQuery {
  std::string unit;  // the subtree root: cases held by it or below it, or co-handled there
  std::string level;
  std::string state;
  std::string category;
  std::string grid;
  std::optional<bool> open;     // inbox: true
  std::optional<bool> overdue;  // sla_due < now
  Timestamp now;                // for `overdue`
  std::string cursor;           // from the previous page's next_cursor; "" = first page
  size_t limit = 50;
};

struct CasePage {
  std::vector<CaseSummary> items;
  std::string next_cursor;  // "" when this was the last page
};

// One case event as committed, in commit order. `id` counts from 1 with no gaps; it is the
// SSE event id (Last-Event-ID resumes after it).
struct FeedEntry {
  uint64_t id = 0;
  std::string case_id;
  int64_t seq = 0;
  std::string type;
  // The units the event concerns (unit, from_unit, to_unit, target_unit, co_unit): a
  // supervisor sees it when any of them is in their subtree.
  std::vector<std::string> units;
  std::string json;  // the case event line, exactly as published
};

struct LevelCount {
  std::string level;
  int64_t count = 0;
};

// GET /v1/stats for one unit's subtree, over cases opened in [from, to).
struct UnitStats {
  std::string unit;
  int64_t opened = 0;
  int64_t closed = 0;
  double closed_at_grid_share = 0;     // closed at the lowest level / opened
  double closed_in_village_share = 0;  // closed at the two lowest levels / opened
  std::vector<LevelCount> sla_breaches;
  std::vector<LevelCount> open_by_level;  // now, whatever the period
  std::optional<int64_t> median_close_ms;
  double reopen_rate = 0;  // cases reopened at least once / cases closed
};

class CaseViews {
 public:
  virtual ~CaseViews() = default;
  // Open cases of the subtree, most urgent first: by sla_due (none last), then case id.
  virtual Result<CasePage> inbox(const CaseQuery& q) = 0;
  // Any cases of the subtree (open or closed), newest first.
  virtual Result<CasePage> cases(const CaseQuery& q) = 0;
  virtual Result<std::optional<CaseSummary>> summary(std::string_view case_id) = 0;
  // The summary with the opening report and the workflow version. By default the summary
  // alone (a view that keeps no more).
  virtual Result<std::optional<CaseDetail>> detail(std::string_view case_id) {
    auto s = summary(case_id);
    if (!s.ok()) return s.error();
    if (!s.value()) return std::optional<CaseDetail>();
    CaseDetail d;
    d.summary = std::move(*s.value());
    return std::optional<CaseDetail>(std::move(d));
  }
  // The case events of one case, seq order, as published.
  virtual Result<std::vector<std::string>> timeline(std::string_view case_id) = 0;
  // Up to `max` feed entries with id > after.
  virtual Result<std::vector<FeedEntry>> feed(uint64_t after, size_t max) = 0;
  // The id of the last committed feed entry (0: none yet).
  virtual uint64_t feed_head() = 0;
  virtual Result<UnitStats> stats(std::string_view unit, Timestamp from, Timestamp to) = 0;
};

}  // namespace gridcase
