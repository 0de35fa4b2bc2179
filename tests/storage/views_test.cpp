// The read models (engine/views.hpp) as the HTTP API will see them: driven through the real
// Service (JSON in, case events published), against MemoryStore and RocksStore with views
// on; then what only RocksDB can show (reopen, crash before commit, rebuild, readers on
// another thread).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "connectors/json_events.hpp"
#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "engine/service.hpp"
#include "engine/view_model.hpp"
#include "storage/memory_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/fixtures/contract_example.hpp"
#include "tests/fixtures/forwarding_store.hpp"

namespace gridcase {

// Readable times in failure messages (found by argument-dependent lookup).
void PrintTo(const Timestamp& t, std::ostream* os) {
  *os << format_timestamp(t);
}

namespace {

// A second workflow beside the contract's: a case held by a village and co-handled by
// another township (as relocated herders' matters are).
constexpr const char* kCoHandleWorkflowYaml = R"yaml(apiVersion: gridcase/v1
kind: Workflow
name: relocation
match: 'report.category == "relocation"'
priority: 10
levels: [grid, village, township, county]
sla:
  village: 48h
initial: new
states:
  new:
    on:
      opened:
        - level: village
          co_handle: 'report.hukou_township'
          goto: handling
  handling:
    sla: true
    on:
      resolve: { goto: done }
  done:
    final: true
)yaml";

const Engine& engine() {
  static const std::unique_ptr<Engine> e = [] {
    Diagnostics d;
    auto first_error = [&d] { return d.all().empty() ? std::string() : d.all().front().format(); };
    auto org = load_org_text(fixtures::kContractOrgYaml, "org.yaml", d);
    if (!org) throw std::runtime_error("sample org does not load: " + first_error());
    auto shared = std::make_shared<const Org>(std::move(*org));
    std::vector<Workflow> wfs;
    for (auto [text, file] : {std::pair{fixtures::kContractWorkflowYaml, "grid-escalation.yaml"},
                              std::pair{kCoHandleWorkflowYaml, "relocation.yaml"}}) {
      auto wf = load_workflow_text(text, file, shared.get(), d);
      if (!wf) throw std::runtime_error(std::string(file) + " does not load: " + first_error());
      wfs.push_back(std::move(*wf));
    }
    return std::make_unique<Engine>(shared, std::move(wfs));
  }();
  return *e;
}

constexpr int64_t kMin = 60'000, kHour = 3'600'000, kDay = 24 * kHour;
constexpr int64_t kT0 = 1'780'272'000'000;  // 2026-06-01T00:00:00Z

Timestamp at(int64_t offset_ms) {
  return Timestamp{kT0 + offset_ms};
}

std::string report(int64_t t, const std::string& id, const std::string& grid,
                   const std::string& category, const std::string& household, int severity,
                   const std::string& extra = "") {
  return R"({"type":"report","at":")" + format_timestamp(at(t)) + R"(","report":{"report_id":")" +
         id + R"(","grid":")" + grid + R"(","category":")" + category + R"(","household":")" +
         household + R"(","severity":)" + std::to_string(severity) + R"(,"title":"title of )" + id +
         "\"" + extra + "}}";
}

std::string action(int64_t t, const std::string& case_id, const std::string& name,
                   const std::string& actor, const std::string& action_id = "") {
  std::string line = R"({"type":"action","at":")" + format_timestamp(at(t)) + R"(","case_id":")" +
                     case_id + R"(","action":")" + name + R"(","actor":")" + actor + "\"";
  if (!action_id.empty()) line += R"(,"action_id":")" + action_id + "\"";
  return line + "}";
}

// ---- the service's ports, in memory ----

class FakeSource final : public EventSource {
 public:
  void add(std::string payload) {
    SourceRecord r;
    r.topic = "in";
    r.offset = static_cast<int64_t>(log_.size());
    r.payload = std::move(payload);
    log_.push_back(std::move(r));
  }
  Result<bool> seek(const std::vector<SourcePosition>& positions) override {
    pos_ = 0;
    for (const auto& p : positions) {
      if (p.topic == "in") pos_ = static_cast<size_t>(p.next_offset);
    }
    return true;
  }
  Result<std::vector<SourceRecord>> poll(size_t max, int) override {
    std::vector<SourceRecord> out;
    while (pos_ < log_.size() && out.size() < max) out.push_back(log_[pos_++]);
    return out;
  }
  void committed(const std::vector<SourcePosition>&) override {}

 private:
  std::vector<SourceRecord> log_;
  size_t pos_ = 0;
};

class FakeSink final : public MessageSink {
 public:
  Result<bool> publish(const std::vector<OutMessage>& messages) override {
    published.insert(published.end(), messages.begin(), messages.end());
    return true;
  }
  std::vector<OutMessage> published;
};

class FakeClock final : public Clock {
 public:
  Timestamp now() override { return t; }
  Timestamp t = at(0);
};

// ---- the stores under test ----

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gridcase-views-XXXXXX").string();
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr) << std::strerror(errno);
  return tmpl;
}

struct MemoryFactory {
  static constexpr bool kDurable = false;
  std::unique_ptr<CaseStore> open() { return std::make_unique<MemoryStore>(engine()); }
  static std::unique_ptr<CaseViews> views(CaseStore& s) {
    return static_cast<MemoryStore&>(s).views();
  }
  void cleanup() {}
};

struct RocksFactory {
  static constexpr bool kDurable = true;
  std::string dir;
  bool views_on = true;
  std::unique_ptr<CaseStore> open() {
    const Engine& e = engine();  // before the temp dir: a throw here leaves nothing behind
    if (dir.empty()) dir = make_temp_dir();
    RocksOptions o;
    o.block_cache_bytes = 4 << 20;
    o.write_buffer_bytes = 1 << 20;
    o.views = views_on;
    auto s = RocksStore::open(dir + "/db", e, o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::unique_ptr<CaseViews> views(CaseStore& s) {
    return static_cast<RocksStore&>(s).views();
  }
  void cleanup() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

template <typename Factory>
class ViewsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start()); }
  void TearDown() override {
    stop();
    factory_.cleanup();
  }

  void start() {
    store_ = factory_.open();
    ASSERT_NE(store_, nullptr);
    views_ = Factory::views(*store_);
    ServiceCodecs codecs;
    codecs.parse = [](std::string_view p) { return json::parse_input_event(p, engine().org()); };
    codecs.format = [](const CaseEvent& e) { return json::case_event_line(e); };
    codecs.dead_letter = [](const SourceRecord& r, const std::string& reason,
                            const std::string& error) {
      return json::dead_letter_json(reason, error, r.topic, r.partition, r.offset, r.payload);
    };
    ServiceOptions o;
    o.poll_timeout_ms = 0;
    o.on_batch = [this](const BatchOutcome& b) { batches_.push_back(b); };
    service_ =
        std::make_unique<Service>(engine(), *store_, source_, sink_, clock_, std::move(codecs), o);
    auto r = service_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void stop() {
    service_.reset();
    views_.reset();
    store_.reset();
  }
  // Closes the store and opens it again with or without the read models (RocksDB only).
  void restart_with_views(bool on) {
    stop();
    factory_.views_on = on;
    ASSERT_NO_FATAL_FAILURE(start());
  }
  // Closes and opens the store again (a no-op for memory, which cannot).
  void reopen() {
    if (!Factory::kDurable) return;
    stop();
    ASSERT_NO_FATAL_FAILURE(start());
  }

  // Everything submitted so far, as one batch with the wall clock at `t`.
  void run(int64_t t) {
    clock_.t = at(t);
    auto r = service_->run_once();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void submit(std::string line) { source_.add(std::move(line)); }
  // One line in a batch of its own, with the wall clock at `t` (the engine clock is the
  // later of the wall clock and the line's `at`).
  void apply(int64_t t, std::string line) {
    submit(std::move(line));
    run(t);
  }

  CaseQuery query(const std::string& unit) {
    CaseQuery q;
    q.unit = unit;
    q.limit = 1000;
    return q;
  }
  static std::vector<std::string> ids(const CasePage& p) {
    std::vector<std::string> out;
    for (const auto& s : p.items) out.push_back(s.case_id);
    return out;
  }
  std::vector<std::string> inbox(const std::string& unit) { return inbox(query(unit)); }
  std::vector<std::string> inbox(const CaseQuery& q) {
    auto p = views_->inbox(q);
    EXPECT_TRUE(p.ok()) << p.error().message;
    if (!p.ok()) return {};
    EXPECT_EQ(p->next_cursor, "");
    return ids(*p);
  }
  std::vector<std::string> cases(const CaseQuery& q) {
    auto p = views_->cases(q);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? ids(*p) : std::vector<std::string>{};
  }
  CaseSummary summary(const std::string& id) {
    auto s = views_->summary(id);
    EXPECT_TRUE(s.ok() && s.value()) << id;
    return s.ok() && s.value() ? *s.value() : CaseSummary{};
  }
  // Every page of `fetch` with the given limit, concatenated; fails on a repeated id.
  template <typename Fetch>
  std::vector<std::string> all_pages(CaseQuery q, size_t limit, Fetch fetch) {
    q.limit = limit;
    std::vector<std::string> out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto p = fetch(q);
      EXPECT_TRUE(p.ok()) << p.error().message;
      if (!p.ok()) break;
      EXPECT_LE(p->items.size(), limit);
      for (const auto& s : p->items) out.push_back(s.case_id);
      if (p->next_cursor.empty()) break;
      EXPECT_EQ(p->items.size(), limit);  // only the last page may be short
      q.cursor = p->next_cursor;
    }
    return out;
  }
  // The published case events, in publish order. A restart publishes the last batch's
  // outbox again (at least once), identical: only the first copy counts.
  std::vector<OutMessage> published_events() {
    std::vector<OutMessage> out;
    std::set<std::string> seen;
    for (const auto& m : sink_.published) {
      if (m.topic == "gridcase.case-events" && seen.insert(m.value).second) out.push_back(m);
    }
    return out;
  }

  // The inbox scenario: four cases at four levels of urgency.
  void open_four() {
    apply(0, report(0, "r-1", "jjbl-c1-g01", "garbage", "h-1", 2));                // grid, due +24h
    apply(kHour, report(kHour, "r-2", "jjbl-c1-g02", "road", "h-2", 2));           // grid, due +25h
    apply(2 * kHour, report(2 * kHour, "r-3", "dc-v1-g01", "noise", "h-3", 5));    // village, +50h
    apply(3 * kHour, report(3 * kHour, "r-4", "jjbl-c1-g01", "flood", "h-4", 3));  // township
  }

  Factory factory_;
  std::unique_ptr<CaseStore> store_;
  std::unique_ptr<CaseViews> views_;
  FakeSource source_;
  FakeSink sink_;
  FakeClock clock_;
  std::unique_ptr<Service> service_;
  std::vector<BatchOutcome> batches_;
};

class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryFactory> ? "Memory" : "Rocks";
  }
};

using Stores = ::testing::Types<MemoryFactory, RocksFactory>;
TYPED_TEST_SUITE(ViewsTest, Stores, StoreNames);

using V = std::vector<std::string>;

TYPED_TEST(ViewsTest, InboxShowsEachUnitsSubtreeInSlaOrder) {
  this->open_four();
  EXPECT_EQ(this->inbox("jjbl-c1-g01"), V{"r-1"});  // r-4 went straight to the township
  EXPECT_EQ(this->inbox("jjbl-c1-g02"), V{"r-2"});
  EXPECT_EQ(this->inbox("jjbl-c1"), (V{"r-1", "r-2"}));
  EXPECT_EQ(this->inbox("jiajiboluo"), (V{"r-1", "r-2", "r-4"}));
  EXPECT_EQ(this->inbox("dc-v1-g01"), V{});  // r-3 is held by its village
  EXPECT_EQ(this->inbox("dc-v1"), V{"r-3"});
  EXPECT_EQ(this->inbox("duocai"), V{"r-3"});
  EXPECT_EQ(this->inbox("zhiduo"), (V{"r-1", "r-2", "r-3", "r-4"}));
  EXPECT_EQ(this->inbox(""), (V{"r-1", "r-2", "r-3", "r-4"}));  // the root

  CaseSummary s = this->summary("r-1");
  EXPECT_EQ(s.workflow, "grid-escalation");
  EXPECT_EQ(s.state, "handling");
  EXPECT_EQ(s.level, "grid");
  EXPECT_EQ(s.unit, "jjbl-c1-g01");
  EXPECT_EQ(s.grid, "jjbl-c1-g01");
  EXPECT_EQ(s.category, "garbage");
  EXPECT_EQ(s.title, "title of r-1");
  EXPECT_EQ(s.severity, 2);
  EXPECT_FALSE(s.closed);
  EXPECT_EQ(s.opened_at, at(0));
  EXPECT_EQ(s.updated_at, at(0));
  ASSERT_TRUE(s.sla_due);
  EXPECT_EQ(*s.sla_due, at(24 * kHour));
  EXPECT_EQ(s.seq, 2);  // opened, transition
  EXPECT_EQ(this->summary("r-4").level, "township");
  EXPECT_EQ(*this->summary("r-4").sla_due, at(75 * kHour));

  // The grids' SLAs run out: both cases climb to their village, with new deadlines.
  this->run(25 * kHour + kMin);
  EXPECT_EQ(this->inbox("jjbl-c1-g01"), V{});
  EXPECT_EQ(this->inbox("jjbl-c1-g02"), V{});
  EXPECT_EQ(this->inbox("jjbl-c1"), (V{"r-1", "r-2"}));
  EXPECT_EQ(this->inbox("zhiduo"), (V{"r-3", "r-1", "r-2", "r-4"}));  // 50h, 72h, 73h, 75h
  s = this->summary("r-1");
  EXPECT_EQ(s.level, "village");
  EXPECT_EQ(s.unit, "jjbl-c1");
  EXPECT_EQ(*s.sla_due, at(72 * kHour));
  EXPECT_EQ(s.updated_at, at(24 * kHour));

  // Filters.
  CaseQuery q = this->query("zhiduo");
  q.level = "village";
  EXPECT_EQ(this->inbox(q), (V{"r-3", "r-1", "r-2"}));
  q = this->query("zhiduo");
  q.now = at(60 * kHour);
  q.overdue = true;
  EXPECT_EQ(this->inbox(q), V{"r-3"});
  q.overdue = false;
  EXPECT_EQ(this->inbox(q), (V{"r-1", "r-2", "r-4"}));
  q = this->query("zhiduo");
  q.category = "road";
  EXPECT_EQ(this->inbox(q), V{"r-2"});
  q = this->query("zhiduo");
  q.grid = "jjbl-c1-g01";
  EXPECT_EQ(this->inbox(q), (V{"r-1", "r-4"}));

  // Resolved: no SLA runs while it is checked, so it goes last; closed: it leaves.
  this->apply(26 * kHour, action(26 * kHour, "r-1", "resolve", "s-0101"));
  EXPECT_EQ(this->inbox("zhiduo"), (V{"r-3", "r-2", "r-4", "r-1"}));
  EXPECT_FALSE(this->summary("r-1").sla_due);
  this->apply(27 * kHour, action(27 * kHour, "r-1", "verify", "s-0201"));
  EXPECT_EQ(this->inbox("zhiduo"), (V{"r-3", "r-2", "r-4"}));
  EXPECT_EQ(this->inbox("jjbl-c1"), V{"r-2"});
  EXPECT_TRUE(this->summary("r-1").closed);
  EXPECT_EQ(this->summary("r-1").state, "closed");

  // cases(): every case of the subtree, newest first; closed ones too.
  EXPECT_EQ(this->cases(this->query("zhiduo")), (V{"r-4", "r-3", "r-2", "r-1"}));
  EXPECT_EQ(this->cases(this->query("jjbl-c1")), (V{"r-2", "r-1"}));
  q = this->query("zhiduo");
  q.open = false;
  EXPECT_EQ(this->cases(q), V{"r-1"});
  q.open = true;
  EXPECT_EQ(this->cases(q), (V{"r-4", "r-3", "r-2"}));
  q = this->query("zhiduo");
  q.open = false;
  EXPECT_EQ(this->inbox(q), V{});  // the inbox holds open cases only

  // The same after a reopen (from disk).
  this->reopen();
  EXPECT_EQ(this->inbox("zhiduo"), (V{"r-3", "r-2", "r-4"}));
  EXPECT_EQ(this->cases(this->query("zhiduo")), (V{"r-4", "r-3", "r-2", "r-1"}));
}

TYPED_TEST(ViewsTest, CoHandlersSeeTheCaseOnce) {
  this->submit(
      report(0, "x-1", "jjbl-c1-g01", "relocation", "h-1", 1,
             R"(,"hukou_township":"duocai","description":"牧民搬迁补助未到账",)"
             R"("households_affected":3,"location":{"lat":33.85,"lon":95.6},)"
             R"("reporter":"w-0001","channel":"app","occurred_at":"2026-06-12T07:55:00Z")"));
  this->run(0);
  // The case's own page: the opening report and the version the case runs on.
  auto d = this->views_->detail("x-1");
  ASSERT_TRUE(d.ok() && d.value());
  EXPECT_EQ(d.value()->summary.case_id, "x-1");
  EXPECT_EQ(d.value()->workflow_version, 0);  // loaded from a file, not deployed
  ASSERT_TRUE(d.value()->report);
  const CaseReport& rep = *d.value()->report;
  EXPECT_EQ(rep.report_id, "x-1");
  EXPECT_EQ(rep.description, "牧民搬迁补助未到账");
  EXPECT_EQ(rep.household, "h-1");
  EXPECT_EQ(rep.hukou_township, "duocai");
  EXPECT_EQ(rep.reporter, "w-0001");
  EXPECT_EQ(rep.channel, "app");
  EXPECT_EQ(rep.occurred_at, "2026-06-12T07:55:00Z");
  EXPECT_EQ(rep.households_affected, std::optional<int64_t>(3));
  EXPECT_EQ(rep.lat, std::optional<double>(33.85));
  EXPECT_EQ(rep.lon, std::optional<double>(95.6));
  auto none = this->views_->detail("x-404");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value());
  CaseSummary s = this->summary("x-1");
  EXPECT_EQ(s.unit, "jjbl-c1");
  EXPECT_EQ(s.co_handlers, V{"duocai"});
  EXPECT_EQ(this->inbox("jjbl-c1"), V{"x-1"});
  EXPECT_EQ(this->inbox("duocai"), V{"x-1"});
  EXPECT_EQ(this->inbox("dc-v1"), V{});
  EXPECT_EQ(this->inbox("zhiduo"), V{"x-1"});  // both paths meet at the root: one entry
  EXPECT_EQ(this->cases(this->query("duocai")), V{"x-1"});
  auto feed = this->views_->feed(0, 100);
  ASSERT_TRUE(feed.ok());
  bool seen = false;
  for (const FeedEntry& e : *feed) {
    if (e.type != "co_handler_added") continue;
    seen = true;
    EXPECT_EQ(e.units, (V{"jjbl-c1", "duocai"}));
  }
  EXPECT_TRUE(seen);
  this->apply(kHour, action(kHour, "x-1", "resolve", "s-0101"));
  EXPECT_EQ(this->inbox("duocai"), V{});
  EXPECT_EQ(this->inbox("zhiduo"), V{});
  EXPECT_EQ(this->cases(this->query("duocai")), V{"x-1"});
}

TYPED_TEST(ViewsTest, PagingReturnsEveryCaseExactlyOnce) {
  const char* grids[] = {"jjbl-c1-g01", "jjbl-c1-g02", "dc-v1-g01"};
  const char* cats[] = {"garbage", "road", "noise"};
  V all;
  for (int i = 0; i < 37; ++i) {
    std::string id = "p-" + std::to_string(100 + i);
    // Groups of three share a report time (and so an SLA deadline): ties go by case id.
    this->submit(report((i / 3) * kMin, id, grids[i % 3], cats[i % 3], "h-" + id, 1 + i % 5));
    all.push_back(id);
  }
  this->run(13 * kMin);
  auto whole = this->views_->inbox(this->query("zhiduo"));
  ASSERT_TRUE(whole.ok());
  V expected = this->ids(*whole);
  ASSERT_EQ(expected.size(), all.size());
  EXPECT_EQ(std::set<std::string>(expected.begin(), expected.end()),
            std::set<std::string>(all.begin(), all.end()));
  // Most urgent first, by deadline then id.
  for (size_t i = 1; i < whole->items.size(); ++i) {
    const auto &a = whole->items[i - 1], &b = whole->items[i];
    ASSERT_TRUE(a.sla_due && b.sla_due);
    EXPECT_TRUE(*a.sla_due < *b.sla_due || (*a.sla_due == *b.sla_due && a.case_id < b.case_id))
        << a.case_id << " before " << b.case_id;
  }
  auto inbox = [this](const CaseQuery& q) { return this->views_->inbox(q); };
  auto cases = [this](const CaseQuery& q) { return this->views_->cases(q); };
  for (size_t limit : {1, 4, 7, 36, 37, 50}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    EXPECT_EQ(this->all_pages(this->query("zhiduo"), limit, inbox), expected);
    V by_age = this->all_pages(this->query("zhiduo"), limit, cases);
    EXPECT_EQ(by_age.size(), all.size());
    EXPECT_EQ(std::set<std::string>(by_age.begin(), by_age.end()),
              std::set<std::string>(all.begin(), all.end()));
  }
  // With a filter that drops most entries of each page.
  CaseQuery q = this->query("zhiduo");
  q.category = "road";
  auto one = this->views_->inbox(q);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->items.size(), 12u);
  EXPECT_EQ(this->all_pages(q, 5, inbox), this->ids(*one));
  // Newest first in cases(): opened later comes first.
  auto c = this->views_->cases(this->query("zhiduo"));
  ASSERT_TRUE(c.ok());
  for (size_t i = 1; i < c->items.size(); ++i) {
    EXPECT_GE(c->items[i - 1].opened_at, c->items[i].opened_at);
  }

  // A cursor that is not one, an unknown unit: errors as values, naming the culprit.
  q = this->query("zhiduo");
  q.cursor = "not-hex!";
  auto bad = this->views_->inbox(q);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("cursor"), std::string::npos);
  for (auto r :
       {this->views_->inbox(this->query("nowhere")), this->views_->cases(this->query("nowhere"))}) {
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("'nowhere'"), std::string::npos) << r.error().message;
  }
  auto st = this->views_->stats("nowhere", at(0), at(kDay));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("'nowhere'"), std::string::npos);
}

TYPED_TEST(ViewsTest, TimelineAndFeedAreThePublishedLines) {
  this->open_four();
  // The same household and category as r-1, after the correlation window: a case of its own.
  this->submit(report(30 * kMin, "r-1b", "jjbl-c1-g01", "garbage", "h-1", 2));
  this->submit(action(4 * kHour, "r-1", "resolve", "w-0001"));
  this->run(4 * kHour);
  this->run(25 * kHour + kMin);  // timers only
  this->reopen();
  this->submit(action(26 * kHour, "r-2", "escalate", "w-0002"));
  this->submit(action(26 * kHour, "r-1", "verify", "s-0101"));
  this->run(26 * kHour);
  this->reopen();
  this->submit(report(27 * kHour, "r-5", "dc-v1-g01", "garbage", "h-9", 1));
  this->run(27 * kHour);

  auto published = this->published_events();
  ASSERT_GT(published.size(), 20u);
  // The feed: every published case event, in order, ids 1, 2, 3... without gaps.
  EXPECT_EQ(this->views_->feed_head(), published.size());
  EXPECT_EQ(this->store_->feed_head(), published.size());
  auto feed = this->views_->feed(0, 100000);
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed->size(), published.size());
  for (size_t i = 0; i < feed->size(); ++i) {
    const FeedEntry& e = (*feed)[i];
    EXPECT_EQ(e.id, i + 1);
    EXPECT_EQ(e.json, published[i].value);
    EXPECT_EQ(e.case_id, published[i].key);
    EXPECT_FALSE(e.units.empty());
  }
  // Resuming after an id.
  auto tail = this->views_->feed(5, 3);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ((*tail)[0].id, 6u);
  EXPECT_EQ((*tail)[2].json, published[7].value);
  auto none = this->views_->feed(published.size(), 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A timeline: the case's published lines, in seq order.
  std::map<std::string, V> by_case;
  for (const auto& m : published) by_case[m.key].push_back(m.value);
  for (const auto& [id, lines] : by_case) {
    auto t = this->views_->timeline(id);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t, lines) << id;
    EXPECT_EQ(this->summary(id).seq, static_cast<int64_t>(lines.size())) << id;
  }
  auto unknown = this->views_->timeline("r-404");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());
  auto no_summary = this->views_->summary("r-404");
  ASSERT_TRUE(no_summary.ok());
  EXPECT_FALSE(no_summary.value());

  // A level change concerns both units (r-2's first: grid to village).
  auto first = std::find_if(feed->begin(), feed->end(), [](const FeedEntry& e) {
    return e.case_id == "r-2" && e.type == "level_changed";
  });
  ASSERT_NE(first, feed->end());
  EXPECT_EQ(first->units, (V{"jjbl-c1", "jjbl-c1-g02"}));
}

// The observer gets, per record, what it came to: the HTTP layer's answer to a POST.
TYPED_TEST(ViewsTest, BatchObserverReportsEachRecord) {
  this->open_four();
  ASSERT_EQ(this->batches_.size(), 4u);
  for (const BatchOutcome& b : this->batches_) {
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_EQ(b.records[0].outcome, RecordOutcome::Kind::Applied);
    EXPECT_EQ(b.records[0].events.size(), b.case_events);
  }
  EXPECT_EQ(this->batches_[0].records[0].case_id, "r-1");
  EXPECT_EQ(this->batches_[0].records[0].first_feed_id, 1u);
  EXPECT_EQ(this->batches_.back().feed_head, this->views_->feed_head());
  this->batches_.clear();

  this->submit(action(4 * kHour, "r-1", "resolve", "w-0001", "a-1"));
  this->submit(action(4 * kHour, "r-1", "resolve", "w-0001", "a-1"));  // again
  this->submit("{not json");
  this->submit(action(4 * kHour, "r-404", "resolve", "w-0001", "a-2"));
  this->submit(action(4 * kHour, "r-2", "verify", "w-0002", "a-3"));  // not in this state
  // r-2's 12-hour reminder falls due by then: it fires first, and is no record's answer.
  this->apply(13 * kHour, action(13 * kHour, "r-3", "accept", "w-0001"));
  ASSERT_EQ(this->batches_.size(), 1u);
  const BatchOutcome& b = this->batches_[0];
  ASSERT_EQ(b.records.size(), 6u);
  EXPECT_EQ(b.feed_head, this->views_->feed_head());
  auto feed = this->views_->feed(0, 100000);
  ASSERT_TRUE(feed.ok());
  auto line_of = [&](uint64_t id) { return (*feed)[id - 1].json; };

  const RecordOutcome& ok = b.records[0];
  EXPECT_EQ(ok.outcome, RecordOutcome::Kind::Applied);
  EXPECT_EQ(ok.case_id, "r-1");
  EXPECT_EQ(ok.action_id, "a-1");
  ASSERT_EQ(ok.events.size(), 1u);  // transition
  EXPECT_NE(ok.events[0].find(R"("type": "transition")"), std::string::npos) << ok.events[0];
  EXPECT_EQ(line_of(ok.first_feed_id), ok.events[0]);

  EXPECT_EQ(b.records[1].outcome, RecordOutcome::Kind::Duplicate);
  EXPECT_EQ(b.records[1].case_id, "r-1");
  EXPECT_TRUE(b.records[1].events.empty());
  EXPECT_EQ(b.records[2].outcome, RecordOutcome::Kind::Bad);
  EXPECT_EQ(b.records[2].reason, "bad_input");
  EXPECT_EQ(b.records[3].outcome, RecordOutcome::Kind::Bad);
  EXPECT_EQ(b.records[3].reason, "rejected");
  EXPECT_NE(b.records[3].error.find("r-404"), std::string::npos);
  EXPECT_EQ(b.records[3].offset, 7);

  const RecordOutcome& refused = b.records[4];  // applied: the case writes event_rejected
  EXPECT_EQ(refused.outcome, RecordOutcome::Kind::Applied);
  ASSERT_EQ(refused.events.size(), 1u);
  EXPECT_NE(refused.events[0].find("event_rejected"), std::string::npos);

  const RecordOutcome& late = b.records[5];
  EXPECT_FALSE(late.action_id);
  ASSERT_FALSE(late.events.empty());
  for (size_t i = 0; i < late.events.size(); ++i) {
    EXPECT_EQ(line_of(late.first_feed_id + i), late.events[i]);
    EXPECT_NE(late.events[i].find(R"("trigger": "accept")"), std::string::npos) << late.events[i];
  }
  // The reminders fired before it are in the batch but not in its answer.
  EXPECT_GT(b.case_events, refused.events.size() + ok.events.size() + late.events.size());
}

// Hand-checked figures. r-1 closes at the grid after 5h; r-2 breaches its grid SLA, goes to
// the village and closes there after 26h; r-3 stays open at its village; r-4 (a flood, at
// the township) is resolved, then reopened, and stays open.
TYPED_TEST(ViewsTest, StatsOnAHandCheckedScenario) {
  this->open_four();
  this->apply(4 * kHour, action(4 * kHour, "r-1", "resolve", "w-0001"));
  this->apply(5 * kHour, action(5 * kHour, "r-1", "verify", "s-0101"));
  this->run(25 * kHour + kMin);
  this->apply(26 * kHour, action(26 * kHour, "r-2", "resolve", "s-0101"));
  this->apply(27 * kHour, action(27 * kHour, "r-2", "verify", "s-0201"));
  this->apply(28 * kHour, action(28 * kHour, "r-4", "resolve", "s-0201"));
  this->apply(29 * kHour, action(29 * kHour, "r-4", "reopen", "s-0201"));
  ASSERT_TRUE(this->summary("r-1").closed);
  ASSERT_TRUE(this->summary("r-2").closed);
  ASSERT_EQ(this->summary("r-4").state, "handling");

  auto st = this->views_->stats("zhiduo", at(0), at(10 * kDay));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->unit, "zhiduo");
  EXPECT_EQ(st->opened, 4);
  EXPECT_EQ(st->closed, 2);
  EXPECT_DOUBLE_EQ(st->closed_at_grid_share, 0.25);
  EXPECT_DOUBLE_EQ(st->closed_in_village_share, 0.5);
  auto count = [](const std::vector<LevelCount>& v, const std::string& level) {
    for (const auto& c : v) {
      if (c.level == level) return c.count;
    }
    return int64_t{-1};
  };
  EXPECT_EQ(count(st->sla_breaches, "grid"), 1);
  EXPECT_EQ(count(st->sla_breaches, "village"), 0);
  EXPECT_EQ(count(st->sla_breaches, "county"), 0);
  EXPECT_EQ(count(st->open_by_level, "grid"), 0);
  EXPECT_EQ(count(st->open_by_level, "village"), 1);
  EXPECT_EQ(count(st->open_by_level, "township"), 1);
  ASSERT_TRUE(st->median_close_ms);
  EXPECT_EQ(*st->median_close_ms, 5 * kHour);  // the lower of 5h and 26h
  EXPECT_DOUBLE_EQ(st->reopen_rate, 0.5);

  st = this->views_->stats("jiajiboluo", at(0), at(10 * kDay));  // r-1, r-2, r-4
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->opened, 3);
  EXPECT_EQ(st->closed, 2);
  EXPECT_DOUBLE_EQ(st->closed_at_grid_share, 1.0 / 3);
  EXPECT_DOUBLE_EQ(st->closed_in_village_share, 2.0 / 3);
  EXPECT_EQ(count(st->open_by_level, "township"), 1);
  EXPECT_EQ(count(st->open_by_level, "village"), 0);

  st = this->views_->stats("dc-v1-g01", at(0), at(10 * kDay));  // r-3
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->opened, 1);
  EXPECT_EQ(st->closed, 0);
  EXPECT_DOUBLE_EQ(st->closed_at_grid_share, 0);
  EXPECT_FALSE(st->median_close_ms);
  EXPECT_DOUBLE_EQ(st->reopen_rate, 0);
  EXPECT_EQ(count(st->open_by_level, "village"), 1);

  // Only r-2 and r-3 were opened in [1h, 3h); what is open now counts whatever the period.
  st = this->views_->stats("zhiduo", at(kHour), at(3 * kHour));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->opened, 2);
  EXPECT_EQ(st->closed, 1);
  EXPECT_DOUBLE_EQ(st->closed_at_grid_share, 0);
  EXPECT_DOUBLE_EQ(st->closed_in_village_share, 0.5);
  EXPECT_EQ(*st->median_close_ms, 26 * kHour);
  EXPECT_EQ(count(st->sla_breaches, "grid"), 1);
  EXPECT_EQ(count(st->open_by_level, "village"), 1);
  EXPECT_EQ(count(st->open_by_level, "township"), 1);

  this->reopen();
  auto again = this->views_->stats("zhiduo", at(0), at(10 * kDay));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->opened, 4);
  EXPECT_EQ(*again->median_close_ms, 5 * kHour);
}

// ---- RocksDB only ----

using RocksViews = ViewsTest<RocksFactory>;

struct Snapshot {
  uint64_t head = 0;
  std::vector<std::string> feed, inbox, cases, timeline;
  std::vector<int64_t> seqs;
  bool operator==(const Snapshot&) const = default;
};

Snapshot take(CaseViews& v) {
  Snapshot s;
  s.head = v.feed_head();
  auto f = v.feed(0, 100000);
  EXPECT_TRUE(f.ok());
  for (const auto& e : *f) s.feed.push_back(std::to_string(e.id) + " " + e.json);
  CaseQuery q;
  q.unit = "zhiduo";
  q.limit = 1000;
  auto inbox = v.inbox(q);
  auto cases = v.cases(q);
  EXPECT_TRUE(inbox.ok() && cases.ok());
  if (!inbox.ok() || !cases.ok()) return s;
  for (const auto& c : inbox->items) {
    s.inbox.push_back(c.case_id + " " + c.state + " " + c.unit);
    s.seqs.push_back(c.seq);
  }
  for (const auto& c : cases->items) s.cases.push_back(c.case_id);
  for (const char* id : {"r-1", "r-2", "r-3", "r-4"}) {
    auto t = v.timeline(id);
    EXPECT_TRUE(t.ok());
    if (t.ok()) s.timeline.insert(s.timeline.end(), t->begin(), t->end());
  }
  return s;
}

// Everything a batch would do, then no commit: the process dies.
TEST_F(RocksViews, ACrashBetweenCommitsChangesNoView) {
  open_four();
  apply(4 * kHour, action(4 * kHour, "r-1", "resolve", "w-0001"));
  Snapshot before = take(*views_);
  ASSERT_FALSE(before.inbox.empty());
  {
    class Recording final : public EventSink {
     public:
      explicit Recording(CaseStore& s) : s_(s) {}
      void emit(const CaseEvent& e) override { s_.record_event(e, json::case_event_line(e)); }

     private:
      CaseStore& s_;
    } sink(*store_);
    Processor p(engine(), *store_, sink);
    ASSERT_TRUE(p.init().ok());
    for (const std::string& line : {action(5 * kHour, "r-1", "verify", "s-0101"),
                                    action(5 * kHour, "r-2", "escalate", "w-0002"),
                                    report(5 * kHour, "r-9", "jjbl-c1-g02", "road", "h-9", 1)}) {
      auto ev = json::parse_input_event(line, engine().org());
      ASSERT_TRUE(ev.ok()) << ev.error().message;
      EXPECT_EQ(p.process(*ev).outcome, Processor::Outcome::Applied);
    }
    ASSERT_TRUE(p.advance_to(at(30 * kHour)).ok());  // timers fire too
    EXPECT_GT(store_->feed_head(), before.head);
    // Not committed: other threads' views do not see any of it yet.
    EXPECT_EQ(take(*views_), before);
  }
  stop();  // no commit
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(take(*views_), before);
  auto r9 = views_->summary("r-9");
  ASSERT_TRUE(r9.ok());
  EXPECT_FALSE(r9.value());

  // The service takes the same input again: feed ids go on from the committed head.
  apply(5 * kHour, action(5 * kHour, "r-1", "verify", "s-0101"));
  auto feed = views_->feed(0, 100000);
  ASSERT_TRUE(feed.ok());
  for (size_t i = 0; i < feed->size(); ++i) EXPECT_EQ((*feed)[i].id, i + 1);
  EXPECT_GT(views_->feed_head(), before.head);
  EXPECT_TRUE(views_->summary("r-1")->value().closed);
}

// A store run without views, then opened with them: the summaries and indexes are rebuilt
// from the cases; the feed starts empty. Run without views again: rebuilt again.
TEST_F(RocksViews, TurningViewsOnRebuildsThemFromTheCases) {
  ASSERT_NO_FATAL_FAILURE(restart_with_views(false));
  EXPECT_EQ(views_, nullptr);
  open_four();
  ASSERT_NO_FATAL_FAILURE(restart_with_views(true));
  EXPECT_TRUE(static_cast<RocksStore&>(*store_).views_rebuilt());
  EXPECT_EQ(inbox("zhiduo"), (V{"r-1", "r-2", "r-3", "r-4"}));
  EXPECT_EQ(inbox("jjbl-c1"), (V{"r-1", "r-2"}));
  EXPECT_EQ(views_->feed_head(), 0u);
  EXPECT_EQ(summary("r-4").updated_at, at(3 * kHour));
  apply(4 * kHour, action(4 * kHour, "r-1", "resolve", "w-0001"));
  EXPECT_EQ(inbox("zhiduo"), (V{"r-2", "r-3", "r-4", "r-1"}));
  EXPECT_EQ(views_->feed_head(), 1u);
  EXPECT_EQ(views_->timeline("r-1")->size(), 1u);
  reopen();
  EXPECT_FALSE(static_cast<RocksStore&>(*store_).views_rebuilt());

  ASSERT_NO_FATAL_FAILURE(restart_with_views(false));
  submit(report(5 * kHour, "r-5", "dc-v1-g01", "garbage", "h-5", 1));
  run(5 * kHour);
  ASSERT_NO_FATAL_FAILURE(restart_with_views(true));
  EXPECT_TRUE(static_cast<RocksStore&>(*store_).views_rebuilt());
  EXPECT_EQ(inbox("dc-v1"), (V{"r-5", "r-3"}));  // r-5 is due in 24h, r-3 in 48h
  EXPECT_EQ(views_->feed_head(), 1u);            // the feed keeps what it had
}

// /metrics' open cases per level: kept exact by every commit, stored, and counted from the
// summaries when views are (re)built.
TEST_F(RocksViews, OpenCasesPerLevelAreExactAndSurviveRestarts) {
  auto levels = [this] {
    std::map<std::string, int64_t> out;
    for (const auto& [level, n] : static_cast<RocksStore&>(*store_).open_by_level()) {
      if (n != 0) out[level] = n;
    }
    return out;
  };
  using M = std::map<std::string, int64_t>;
  EXPECT_EQ(levels(), M{});
  open_four();
  EXPECT_EQ(levels(), (M{{"grid", 2}, {"village", 1}, {"township", 1}}));
  apply(4 * kHour, action(4 * kHour, "r-1", "resolve", "w-0001"));
  EXPECT_EQ(levels(), (M{{"grid", 2}, {"village", 1}, {"township", 1}}));
  apply(5 * kHour, action(5 * kHour, "r-1", "verify", "s-0101"));  // closed
  EXPECT_EQ(levels(), (M{{"grid", 1}, {"village", 1}, {"township", 1}}));
  // The same as the full scan of /v1/stats.
  auto st = views_->stats("zhiduo", at(0), at(10 * kDay));
  ASSERT_TRUE(st.ok());
  M scanned;
  for (const auto& l : st->open_by_level) {
    if (l.count != 0) scanned[l.level] = l.count;
  }
  EXPECT_EQ(levels(), scanned);
  reopen();
  EXPECT_EQ(levels(), (M{{"grid", 1}, {"village", 1}, {"township", 1}}));

  // Written without views, then opened with them: rebuilt and counted again.
  ASSERT_NO_FATAL_FAILURE(restart_with_views(false));
  submit(report(6 * kHour, "r-5", "dc-v1-g01", "garbage", "h-5", 1));
  run(6 * kHour);
  ASSERT_NO_FATAL_FAILURE(restart_with_views(true));
  EXPECT_TRUE(static_cast<RocksStore&>(*store_).views_rebuilt());
  EXPECT_EQ(levels(), (M{{"grid", 2}, {"village", 1}, {"township", 1}}));
  apply(7 * kHour, report(7 * kHour, "r-6", "dc-v1-g01", "road", "h-6", 1));
  reopen();
  EXPECT_EQ(levels(), (M{{"grid", 3}, {"village", 1}, {"township", 1}}));
}

// The inbox scan starts at the earliest pending timer (below it are only the deleted keys of
// deadlines that fired): no open case's deadline is earlier.
TEST_F(RocksViews, NoOpenCaseIsDueBeforeTheStoredSlaFloor) {
  open_four();
  for (int64_t t : {13 * kHour, 25 * kHour + kMin, 50 * kHour, 80 * kHour}) {
    run(t);
    auto floor = store_->get_meta(RocksStore::kSlaFloorKey);
    ASSERT_TRUE(floor);
    auto head = store_->next_timer();
    ASSERT_TRUE(head);
    EXPECT_EQ(*floor, std::to_string(head->due.ms));
    auto page = views_->inbox(query("zhiduo"));
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 4u);
    for (const auto& s : page->items) {
      if (s.sla_due) {
        EXPECT_GE(s.sla_due->ms, head->due.ms) << s.case_id;
      }
    }
  }
}

// Readers on another thread while the engine commits: every answer is one committed state.
TEST_F(RocksViews, ReadersOnAnotherThreadSeeWholeCommits) {
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string failure;
  std::thread reader([&] {
    CaseQuery q;
    q.unit = "zhiduo";
    q.limit = 50;
    while (!done.load() || reads.load() < 10) {
      uint64_t head = views_->feed_head();
      auto feed = views_->feed(0, 100000);
      auto page = views_->inbox(q);
      if (!feed.ok() || !page.ok()) {
        failure = "read error";
        break;
      }
      if (feed->size() < head) failure = "feed shorter than its head";
      for (size_t i = 0; i < feed->size(); ++i) {
        if ((*feed)[i].id != i + 1) failure = "gap in the feed";
      }
      // Each case opens with two events in the same commit: never one without the other.
      std::map<std::string, int> per_case;
      for (const auto& e : *feed) ++per_case[e.case_id];
      for (const auto& [id, n] : per_case) {
        if (n < 2) failure = "half a step of " + id;
      }
      if (!failure.empty()) break;
      ++reads;
    }
  });
  for (int i = 0; i < 60; ++i) {
    std::string id = "t-" + std::to_string(1000 + i);
    submit(report(i * kMin, id, i % 2 ? "jjbl-c1-g01" : "dc-v1-g01", "garbage", "h-" + id, 1));
    run(i * kMin);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(failure, "");
  EXPECT_EQ(inbox("zhiduo").size(), 60u);
}

TEST(ViewEncodings, RoundTripAndRejectTruncation) {
  CaseRecord r;
  r.summary.case_id = std::string("a\0b", 3);
  r.summary.workflow = "wf";
  r.summary.co_handlers = {"x", "y"};
  r.summary.sla_due = Timestamp{-5};
  r.summary.severity = 5;
  r.closed_at = Timestamp{7};
  r.sla_breaches = {{"grid", 2}, {"county", 1}};
  r.reopened = true;
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->summary.case_id, r.summary.case_id);
  EXPECT_EQ(back->summary.co_handlers, r.summary.co_handlers);
  EXPECT_EQ(back->summary.sla_due, r.summary.sla_due);
  EXPECT_EQ(back->closed_at, r.closed_at);
  EXPECT_EQ(back->sla_breaches.size(), 2u);
  EXPECT_TRUE(back->reopened);
  std::string bytes = encode_record(r);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_record(bytes.substr(0, n)).ok()) << n;
  }
  // The second format's report, and a record of the first format (no version, no report).
  r.workflow_version = 3;
  r.report = CaseReport{};
  r.report->description = "路面塌陷";
  r.report->hukou_township = "duocai";
  r.report->households_affected = 0;
  r.report->lat = -33.5;
  r.report->lon = 95.25;
  back = decode_record(encode_record(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->workflow_version, 3);
  ASSERT_TRUE(back->report);
  EXPECT_EQ(back->report->description, "路面塌陷");
  EXPECT_EQ(back->report->hukou_township, "duocai");
  EXPECT_EQ(back->report->households_affected, std::optional<int64_t>(0));
  EXPECT_EQ(back->report->lat, std::optional<double>(-33.5));
  EXPECT_EQ(back->report->lon, std::optional<double>(95.25));
  EXPECT_FALSE(back->report->occurred_at.size());
  bytes = encode_record(r);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_record(bytes.substr(0, n)).ok()) << n;
  }
  r.workflow_version = -1;
  r.report.reset();
  std::string v2 = encode_record(r);  // ends in the version (-1: one byte) and "no report"
  std::string v1 = "\x01" + v2.substr(1, v2.size() - 3);
  auto old = decode_record(v1);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->summary.case_id, r.summary.case_id);
  EXPECT_TRUE(old->reopened);
  EXPECT_EQ(old->workflow_version, -1);
  EXPECT_FALSE(old->report);
  // Unit prefixes never match a longer unit's entries.
  EXPECT_FALSE(unit_prefix("g1x").starts_with(unit_prefix("g1")));
  EXPECT_LT(unit_prefix("g1") + be64(UINT64_MAX) + "zzz", prefix_end(unit_prefix("g1")));
}

// ---- pipelined publishing (Service, default mode) ----

// A sink whose publishes travel until the test confirms them (or fails them).
class TravellingSink final : public MessageSink {
 public:
  Result<bool> publish(const std::vector<OutMessage>& messages) override {
    if (down) return err("broker away");
    if (fail_next) {
      fail_next = false;
      return err("broker away");
    }
    for (const auto& m : messages) confirmed.push_back(m.value);
    return true;
  }
  Result<bool> start_publish(const std::vector<OutMessage>& messages) override {
    travelling = messages;
    queue.push_back(messages);
    return true;
  }
  bool publish_done() override { return arrived; }
  Result<bool> finish_publish() override {
    if (queue.empty()) return true;
    auto msgs = std::move(queue.front());
    queue.pop_front();
    if (queue.empty()) travelling.clear();
    if (down) return err("delivery timed out");
    if (fail_next) {
      fail_next = false;
      return err("delivery timed out");
    }
    for (const auto& m : msgs) confirmed.push_back(m.value);
    return true;
  }
  std::vector<OutMessage> travelling;         // the newest publish handed over
  std::deque<std::vector<OutMessage>> queue;  // all those in flight, oldest first
  std::vector<std::string> confirmed;
  bool arrived = false;
  bool fail_next = false;
  bool down = false;  // every delivery fails
};

// A store whose commit (in place or behind) fails on demand; everything else goes to the
// real one.
class FailingCommitStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<bool> commit() override {
    if (fail) return err("disk full");
    return s_.commit();
  }
  Result<bool> commit_behind() override {
    if (fail) return err("disk full");
    return s_.commit_behind();
  }
  // The write handed over fails once it is done.
  Result<bool> durable() override {
    auto r = s_.durable();
    if (fail_write) return err("disk full (written behind)");
    return r;
  }
  bool fail = false;
  bool fail_write = false;
};

class ServicePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 6; ++i) {
      source_.add(report(i * kMin, "p-" + std::to_string(i), "g1", "sanitation",
                         "h" + std::to_string(i), 2));
    }
    open();
  }
  void TearDown() override {
    close();
    factory_.cleanup();
  }
  void open(MessageSink* sink = nullptr, size_t depth = 1, bool behind = false) {
    store_ = factory_.open();
    ASSERT_NE(store_, nullptr);
    service_ = std::make_unique<Service>(engine(), *store_, source_, sink ? *sink : sink_, clock_,
                                         codecs(), options(depth, behind));
    auto r = service_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  static ServiceCodecs codecs() {
    ServiceCodecs c;
    c.parse = [](std::string_view p) { return json::parse_input_event(p, engine().org()); };
    c.format = [](const CaseEvent& e) { return json::case_event_line(e); };
    c.dead_letter = [](const SourceRecord& r, const std::string& reason, const std::string& error) {
      return json::dead_letter_json(reason, error, r.topic, r.partition, r.offset, r.payload);
    };
    return c;
  }
  // Written in place unless `behind`: the tests of the publish pipeline see each batch
  // handed to the sink by its own run_once().
  static ServiceOptions options(size_t depth, bool behind = false) {
    ServiceOptions o;
    o.poll_timeout_ms = 0;
    o.max_batch = 2;
    o.publish_depth = depth;
    o.write_behind = behind;
    return o;
  }
  // Again, written behind (a store with views writes in place, so without them), at the
  // clock of the first records.
  void reopen_behind(size_t depth = 1) {
    close();
    factory_.views_on = false;
    open(nullptr, depth, true);
    clock_.t = at(10 * kMin);
  }
  // A service on `store` (a store over store_, which a test wraps), at the clock of the
  // first records.
  void start_on(CaseStore& store, ServiceOptions o, ServiceCodecs c = codecs()) {
    service_ = std::make_unique<Service>(engine(), store, source_, sink_, clock_, std::move(c), o);
    ASSERT_TRUE(service_->start().ok());
    clock_.t = at(10 * kMin);
  }
  // store_ again, with no service on it yet; without views, as a store writing behind is.
  void reopen_store(bool views = true) {
    close();
    factory_.views_on = views;
    store_ = factory_.open();
  }
  // A crash: no flush, nothing confirmed after this.
  void close() {
    service_.reset();
    store_.reset();
  }
  static std::vector<std::string> values(const std::vector<OutMessage>& m) {
    std::vector<std::string> out;
    for (const auto& x : m) out.push_back(x.value);
    return out;
  }
  // The six records' dead letters (each record of the set-up is one), once each, in order.
  static void expect_each_offset_in_order(const std::vector<std::string>& messages) {
    ASSERT_EQ(messages.size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_NE(messages[i].find("\"offset\":" + std::to_string(i)), std::string::npos)
          << messages[i];
    }
  }

  RocksFactory factory_;
  FakeSource source_;
  TravellingSink sink_;
  FakeClock clock_;
  std::unique_ptr<CaseStore> store_;
  std::unique_ptr<Service> service_;
};

// Batch 1 still travels when batch 2 commits: the stored outbox holds both, so a crash
// right after publishes both again on start; nothing of batch 1 can be lost.
TEST_F(ServicePipelineTest, UnconfirmedMessagesAreStoredWithTheNextBatch) {
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(sink_.confirmed.empty());
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 1 confirmed only after batch 2's commit
  EXPECT_EQ(sink_.confirmed, first);
  auto second = values(sink_.travelling);
  close();  // crash: batch 2 never confirmed
  TravellingSink after;
  open(&after);
  auto both = first;
  both.insert(both.end(), second.begin(), second.end());
  EXPECT_EQ(after.confirmed, both);  // start() publishes the stored outbox, in order
}

// Two publishes may travel: batches 1 and 2 both travel unconfirmed; batch 3 waits for
// batch 1 only, after its commit. That commit stored all three batches' messages (none was
// confirmed then), so a crash publishes all three again, in order.
TEST_F(ServicePipelineTest, SeveralPublishesTravelAndAllUnconfirmedAreStored) {
  close();
  open(nullptr, 2);
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto second = values(sink_.travelling);
  EXPECT_TRUE(sink_.confirmed.empty());  // both travel
  ASSERT_EQ(sink_.queue.size(), 2u);
  ASSERT_EQ(*service_->run_once(), 2u);
  EXPECT_EQ(sink_.confirmed, first);  // the oldest, to make room
  auto third = values(sink_.travelling);
  ASSERT_EQ(sink_.queue.size(), 2u);
  sink_.queue.clear();  // crash: 2 and 3 never confirmed
  close();
  TravellingSink after;
  open(&after);
  auto all = first;
  all.insert(all.end(), second.begin(), second.end());
  all.insert(all.end(), third.begin(), third.end());
  EXPECT_EQ(after.confirmed, all);
}

// A delivery that fails, then a commit that fails: the earlier batch's messages are kept
// (and sent), only the failed batch's go, and the service says it is broken (serve stops;
// a restart reads that batch's records again from the stored offsets).
TEST_F(ServicePipelineTest, AFailedCommitKeepsEarlierMessagesAndBreaksTheService) {
  reopen_store();
  FailingCommitStore failing(*store_);
  start_on(failing, options(1));
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  ASSERT_FALSE(first.empty());
  sink_.arrived = true;
  sink_.fail_next = true;  // batch 1's delivery fails...
  failing.fail = true;     // ...and batch 2's commit
  EXPECT_FALSE(service_->run_once().ok());
  EXPECT_TRUE(service_->broken());
  EXPECT_TRUE(service_->publish_pending());
  ASSERT_TRUE(service_->flush().ok());
  EXPECT_EQ(sink_.confirmed, first);  // batch 1 again, nothing of batch 2
  service_.reset();
}

// Batch 1 confirmed before batch 2 commits: the stored outbox holds batch 2 only.
TEST_F(ServicePipelineTest, ConfirmedMessagesAreNotStoredAgain) {
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  sink_.arrived = true;
  ASSERT_EQ(*service_->run_once(), 2u);
  EXPECT_EQ(sink_.confirmed, first);
  auto second = values(sink_.travelling);
  close();
  TravellingSink after;
  open(&after);
  EXPECT_EQ(after.confirmed, second);
}

// Each batch's messages are stored once, under the batch's number (not again with every
// later batch while they travel), and their key goes with the first commit after they are
// confirmed.
TEST_F(ServicePipelineTest, EachBatchIsStoredOnceAndForgottenOnceConfirmed) {
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 1 is confirmed after batch 2's commit
  auto second = values(sink_.travelling);
  auto stored = store_->stored_outboxes();
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].first, 1u);
  EXPECT_EQ(values(*decode_outbox((*stored)[0].second)), first);
  EXPECT_EQ((*stored)[1].first, 2u);
  EXPECT_EQ(values(*decode_outbox((*stored)[1].second)), second);
  sink_.arrived = true;  // batch 2 is out before batch 3 commits
  ASSERT_EQ(*service_->run_once(), 2u);
  auto third = values(sink_.travelling);
  stored = store_->stored_outboxes();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].first, 3u);
  EXPECT_EQ(values(*decode_outbox((*stored)[0].second)), third);
}

// A clean stop (flush) publishes what is pending and then forgets the stored copies: the
// next start publishes nothing again.
TEST_F(ServicePipelineTest, AfterACleanStopTheNextStartPublishesNothingAgain) {
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  ASSERT_EQ(*service_->run_once(), 2u);
  ASSERT_TRUE(service_->flush().ok());
  EXPECT_FALSE(sink_.confirmed.empty());
  EXPECT_TRUE(sink_.queue.empty());
  auto stored = store_->stored_outboxes();
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty());
  close();
  TravellingSink after;
  open(&after);
  EXPECT_TRUE(after.confirmed.empty());
  close();
}

// A state directory written before each batch's messages were stored on their own keeps
// them in one meta value: start publishes it, and the next commit clears it.
TEST_F(ServicePipelineTest, AnOutboxInTheOlderSingleValueIsPublishedOnceAtStart) {
  close();
  store_ = factory_.open();
  std::vector<OutMessage> old = {{"gridcase.case-events", "r-9", R"({"case_id":"r-9","seq":1})"}};
  store_->put_meta("outbox", encode_outbox(old));
  ASSERT_TRUE(store_->commit().ok());
  store_.reset();
  TravellingSink after;
  open(&after);
  EXPECT_EQ(after.confirmed, values(old));
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(after.travelling);
  EXPECT_EQ(store_->get_meta("outbox").value_or(""), "");
  close();  // batch 1 never confirmed
  TravellingSink again;
  open(&again);
  EXPECT_EQ(again.confirmed, first);  // the old value is not published a second time
  close();
}

// A failed delivery: the batch's messages and the next batch's are published again, in
// order, before any new input is taken; idle means everything is out.
TEST_F(ServicePipelineTest, AFailedDeliveryIsPublishedAgainBeforeNewInput) {
  clock_.t = at(10 * kMin);
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);
  sink_.fail_next = true;
  auto r = service_->run_once();  // batch 2 commits, then batch 1's delivery fails
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(service_->publish_pending());
  EXPECT_TRUE(sink_.confirmed.empty());
  sink_.fail_next = true;  // and the retry fails too: still nothing new is taken
  ASSERT_FALSE(service_->run_once().ok());
  ASSERT_EQ(*service_->run_once(), 2u);  // the retry gets through, then batch 3
  ASSERT_GT(sink_.confirmed.size(), first.size());
  EXPECT_TRUE(std::equal(first.begin(), first.end(), sink_.confirmed.begin()));
  size_t before_third = sink_.confirmed.size();
  auto third = values(sink_.travelling);
  EXPECT_EQ(*service_->run_once(), 0u);  // idle: batch 3 is confirmed
  EXPECT_EQ(sink_.confirmed.size(), before_third + third.size());
  EXPECT_FALSE(service_->publish_pending());
  EXPECT_EQ(service_->stats().published, sink_.confirmed.size());
}

// Written behind (the default): a batch's messages go to the sink only once the store says
// the batch is durable, which the next batch's commit (or idle, or a stop) waits for; in
// between, the next batch is polled and applied on what the first wrote.
TEST_F(ServicePipelineTest, ABatchWrittenBehindIsSentOnlyOnceDurable) {
  reopen_behind();
  ASSERT_EQ(*service_->run_once(), 2u);
  EXPECT_TRUE(sink_.queue.empty());  // batch 1 may still be being written: nothing sent
  ASSERT_EQ(*service_->run_once(), 2u);
  auto first = values(sink_.travelling);  // batch 2's commit saw batch 1 durable and sent it
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(sink_.queue.size(), 1u);
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 3: batch 2 goes after batch 1
  auto second = values(sink_.travelling);
  EXPECT_EQ(sink_.confirmed, first);
  EXPECT_NE(second, first);
  sink_.arrived = true;
  while (*service_->run_once() > 0) {
  }
  // Idle means everything is written and out, in order; so is a clean stop.
  ASSERT_TRUE(service_->flush().ok());
  EXPECT_TRUE(sink_.queue.empty());
  ASSERT_GE(sink_.confirmed.size(), first.size() + second.size());
  EXPECT_TRUE(std::equal(first.begin(), first.end(), sink_.confirmed.begin()));
  EXPECT_TRUE(std::equal(second.begin(), second.end(), sink_.confirmed.begin() + first.size()));
  EXPECT_EQ(service_->stats().records, 6u);
  EXPECT_EQ(service_->stats().published, sink_.confirmed.size());
  auto stored = store_->stored_outboxes();
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty());
  close();
  TravellingSink after;
  open(&after, 1, true);
  EXPECT_TRUE(after.confirmed.empty());
}

// The same messages, in the same order, as written in place: only when they go differs.
TEST_F(ServicePipelineTest, WritingBehindSendsWhatWritingInPlaceSends) {
  std::vector<std::string> got[2];
  for (bool behind : {false, true}) {
    close();
    factory_.cleanup();
    factory_.views_on = false;
    TravellingSink sink;
    sink.arrived = true;
    open(&sink, 2, behind);
    clock_.t = at(10 * kMin);
    while (*service_->run_once() > 0) {
    }
    ASSERT_TRUE(service_->flush().ok());
    got[behind] = sink.confirmed;
    close();
  }
  ASSERT_FALSE(got[0].empty());
  EXPECT_EQ(got[1], got[0]);
}

// A store whose write behind ends the moment the service asks whether it has.
class WrittenWhenAsked final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  bool written() override { return s_.durable().ok(); }
};

// The batch before goes to the sink as soon as the store says it is written, while the next
// batch is still being built: its messages do not wait for that batch's end.
TEST_F(ServicePipelineTest, ABatchWrittenBehindIsSentAsSoonAsItIsWritten) {
  reopen_store(false);
  WrittenWhenAsked store(*store_);
  std::vector<size_t> handed_over;  // publishes handed over when each dead letter was made
  ServiceCodecs c = codecs();
  c.dead_letter = [&, make = c.dead_letter](const SourceRecord& r, const std::string& reason,
                                            const std::string& error) {
    handed_over.push_back(sink_.queue.size());
    return make(r, reason, error);
  };
  ServiceOptions o = options(1, true);
  o.max_batch = 3;
  start_on(store, o, c);
  ASSERT_EQ(*service_->run_once(), 3u);  // batch 1, written behind
  ASSERT_EQ(*service_->run_once(), 3u);  // batch 2
  // Each record is a dead letter. Batch 1 went out right after batch 2's first record.
  EXPECT_EQ(handed_over, (std::vector<size_t>{0, 0, 0, 0, 1, 1}));
  ASSERT_EQ(sink_.queue.size(), 1u);
  EXPECT_EQ(sink_.queue.front().size(), 3u);
  sink_.arrived = true;
  ASSERT_TRUE(service_->flush().ok());
  expect_each_offset_in_order(sink_.confirmed);
  service_.reset();
}

// A hand-over that fails while the next batch is being built (an earlier delivery failed):
// what is unconfirmed waits before that batch's messages, and that batch stores only its
// own, so the stored outboxes hold each message once.
TEST_F(ServicePipelineTest, AFailedHandOverWhileABatchIsBuiltStoresEachMessageOnce) {
  reopen_store(false);
  WrittenWhenAsked store(*store_);
  start_on(store, options(1, true));
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 1, written behind
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 2; batch 1 travels
  ASSERT_EQ(sink_.queue.size(), 1u);
  sink_.down = true;  // batch 1's delivery fails as batch 2 is handed over, mid batch 3
  EXPECT_FALSE(service_->run_once().ok());
  EXPECT_TRUE(service_->publish_pending());
  EXPECT_FALSE(service_->broken());
  auto stored = store.stored_outboxes();
  ASSERT_TRUE(stored.ok());
  std::vector<std::string> kept;
  for (const auto& [batch, bytes] : *stored) {
    auto msgs = decode_outbox(bytes);
    ASSERT_TRUE(msgs.ok());
    for (const auto& m : *msgs) kept.push_back(m.value);
  }
  expect_each_offset_in_order(kept);
  sink_.down = false;  // the broker is back: all of it goes, once, in order
  sink_.arrived = true;
  ASSERT_TRUE(service_->flush().ok());
  expect_each_offset_in_order(sink_.confirmed);
  service_.reset();
}

// A crash while a batch is written behind: it was never sent, and what reached the disk is
// what the next start sends (the batch and its offsets are in one write, so either both or
// neither). Here the write completes (the store waits for it when closed): sent on start.
TEST_F(ServicePipelineTest, ABatchWrittenBehindAndNotSentIsSentOnStart) {
  reopen_behind();
  ASSERT_EQ(*service_->run_once(), 2u);
  EXPECT_TRUE(sink_.queue.empty());
  close();  // crash before batch 1 was seen durable
  TravellingSink after;
  open(&after, 1, true);
  ASSERT_FALSE(after.confirmed.empty());
  // And the restart goes on after batch 1: its records are not applied again.
  after.arrived = true;
  while (*service_->run_once() > 0) {
  }
  EXPECT_EQ(service_->stats().records, 4u);
  close();
}

// A write behind that fails: its messages are never sent, the batch built on it is not
// committed, and the service is broken (serve stops; a restart goes on from the store).
TEST_F(ServicePipelineTest, AFailedWriteBehindSendsNothingAndBreaksTheService) {
  reopen_store(false);
  FailingCommitStore failing(*store_);
  start_on(failing, options(1, true));
  ASSERT_EQ(*service_->run_once(), 2u);
  failing.fail_write = true;  // batch 1's write fails
  auto r = service_->run_once();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("written behind"), std::string::npos) << r.error().message;
  EXPECT_TRUE(service_->broken());
  EXPECT_TRUE(sink_.queue.empty());
  EXPECT_TRUE(sink_.confirmed.empty());
  EXPECT_EQ(service_->stats().records, 2u);  // batch 2 was not committed
  service_.reset();
}

// A delivery that fails while the batch written behind is handed over: the failed one, the
// batch behind and the batch being built go out together, in order, once the batch being
// built is committed (in place); nothing is lost, repeated or reordered, and the service
// goes on.
TEST_F(ServicePipelineTest, AFailedDeliveryWhileABatchIsWrittenBehindLosesNothing) {
  reopen_behind();
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 1, written behind
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 2; batch 1 travels
  ASSERT_EQ(sink_.queue.size(), 1u);
  sink_.fail_next = true;  // batch 1's delivery fails when batch 2 is handed over
  auto r = service_->run_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 2u);
  EXPECT_FALSE(service_->broken());
  EXPECT_FALSE(service_->publish_pending());
  EXPECT_EQ(service_->stats().records, 6u);
  // Each record here is a dead letter: one message per offset, all of them, in order.
  expect_each_offset_in_order(sink_.confirmed);
}

// Two publishes in flight and a batch written behind, when the oldest delivery fails: the
// batch behind goes after those in flight and the failed ones are sent again before it, so
// a crash right after loses nothing (every record's message reaches the sink, here or on the
// next start).
TEST_F(ServicePipelineTest, AFailedDeliveryBesideABatchWrittenBehindLosesNothingInACrash) {
  reopen_behind(2);
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 1, written behind
  ASSERT_EQ(*service_->run_once(), 2u);  // batch 2; batch 1 travels
  sink_.arrived = true;
  sink_.fail_next = true;  // batch 1's delivery fails, seen while batch 3 commits
  auto r = service_->run_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  sink_.queue.clear();  // crash: what travels now never arrives
  close();
  TravellingSink after;
  open(&after, 2, true);
  std::vector<std::string> all = sink_.confirmed;
  all.insert(all.end(), after.confirmed.begin(), after.confirmed.end());
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                            [&](const std::string& m) {
                              return m.find("\"offset\":" + std::to_string(i) + ",") !=
                                     std::string::npos;
                            }))
        << "record " << i << " never reached the sink";
  }
}

}  // namespace
}  // namespace gridcase
