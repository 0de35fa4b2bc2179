// The CaseStore contract, run against every adapter; then what only a durable store can show
// (reopen, crash before commit, corrupt data).
#include <gtest/gtest.h>
#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <stdlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/codec.hpp"
#include "engine/engine.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/fixtures/contract_example.hpp"
#include "tests/fixtures/forwarding_store.hpp"

namespace gridcase {
namespace {

using namespace std::string_literals;

constexpr const char* kOrgYaml = fixtures::kContractOrgYaml;
constexpr const char* kWorkflowYaml = fixtures::kContractWorkflowYaml;

// Throws (a clean test failure, temp dirs still removed) if the sample texts stop loading.
const Engine& engine() {
  static const std::unique_ptr<Engine> e = [] {
    Diagnostics d;
    auto first_error = [&d] { return d.all().empty() ? std::string() : d.all().front().format(); };
    auto org = load_org_text(kOrgYaml, "org.yaml", d);
    if (!org) throw std::runtime_error("sample org does not load: " + first_error());
    auto shared = std::make_shared<const Org>(std::move(*org));
    auto wf = load_workflow_text(kWorkflowYaml, "grid-escalation.yaml", shared.get(), d);
    if (!wf) throw std::runtime_error("sample workflow does not load: " + first_error());
    std::vector<Workflow> wfs;
    wfs.push_back(std::move(*wf));
    return std::make_unique<Engine>(shared, std::move(wfs));
  }();
  return *e;
}

// ---- strict comparison (the language's == would let 1 equal 1.0) ----

::testing::AssertionResult same_value(const Value& a, const Value& b, const std::string& path) {
  if (a.kind() != b.kind()) {
    return ::testing::AssertionFailure()
           << path << ": " << a.type_name() << " vs " << b.type_name();
  }
  bool eq = true;
  switch (a.kind()) {
    case Value::Kind::Null:
      break;
    case Value::Kind::Bool:
      eq = a.as_bool() == b.as_bool();
      break;
    case Value::Kind::Int:
      eq = a.as_int() == b.as_int();
      break;
    case Value::Kind::Double: {
      double x = a.as_double(), y = b.as_double();
      eq = std::memcmp(&x, &y, sizeof x) == 0;  // bit for bit: -0.0 is not 0.0
      break;
    }
    case Value::Kind::String:
      eq = a.as_string() == b.as_string();
      break;
    case Value::Kind::Timestamp:
      eq = a.as_timestamp() == b.as_timestamp();
      break;
    case Value::Kind::Duration:
      eq = a.as_duration() == b.as_duration();
      break;
    case Value::Kind::List: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size())
        return ::testing::AssertionFailure() << path << ": list sizes differ";
      for (size_t i = 0; i < x.size(); ++i) {
        if (auto r = same_value(x[i], y[i], path + "[" + std::to_string(i) + "]"); !r) return r;
      }
      break;
    }
    case Value::Kind::Map: {
      const Map &x = a.as_map(), &y = b.as_map();
      if (x.size() != y.size())
        return ::testing::AssertionFailure() << path << ": map sizes differ";
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first) {
          return ::testing::AssertionFailure()
                 << path << ": key " << i->first << " vs " << j->first;
        }
        if (auto r = same_value(i->second, j->second, path + "." + i->first); !r) return r;
      }
      break;
    }
  }
  if (!eq) {
    return ::testing::AssertionFailure()
           << path << ": " << a.debug_string() << " vs " << b.debug_string();
  }
  return ::testing::AssertionSuccess();
}

void expect_same_case(const Case& a, const Case& b) {
  SCOPED_TRACE("case " + a.id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.workflow, b.workflow);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.level, b.level);
  EXPECT_EQ(a.unit, b.unit);
  EXPECT_EQ(a.grid, b.grid);
  EXPECT_EQ(a.closed, b.closed);
  EXPECT_EQ(a.report_count, b.report_count);
  EXPECT_EQ(a.co_handlers, b.co_handlers);
  ASSERT_EQ(a.vars.size(), b.vars.size());
  for (size_t i = 0; i < a.vars.size(); ++i) {
    EXPECT_TRUE(same_value(a.vars[i], b.vars[i], "vars[" + std::to_string(i) + "]"));
  }
  EXPECT_TRUE(same_value(a.report, b.report, "report"));
  EXPECT_EQ(a.opened_at, b.opened_at);
  EXPECT_EQ(a.level_since, b.level_since);
  EXPECT_EQ(a.last_report_at, b.last_report_at);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_TRUE(same_value(a.corr_key, b.corr_key, "corr_key"));
  ASSERT_EQ(a.timers.size(), b.timers.size());
  for (size_t i = 0; i < a.timers.size(); ++i) {
    EXPECT_EQ(a.timers[i].seq, b.timers[i].seq);
    EXPECT_EQ(a.timers[i].due, b.timers[i].due);
    EXPECT_EQ(a.timers[i].kind, b.timers[i].kind);
    EXPECT_EQ(a.timers[i].index, b.timers[i].index);
    EXPECT_EQ(a.timers[i].sla_due, b.timers[i].sla_due);
  }
  EXPECT_EQ(a.action_ids, b.action_ids);
}

// A value of every kind, nested.
Value every_kind() {
  Map inner{{"n", Value()}, {"list", Value(List{Value(int64_t{1}), Value("two"), Value(3.5)})}};
  return Value(Map{
      {"null", Value()},
      {"false", Value(false)},
      {"true", Value(true)},
      {"int", Value(int64_t{-42})},
      {"int_min", Value(int64_t{INT64_MIN})},
      {"int_max", Value(int64_t{INT64_MAX})},
      {"double", Value(3.25)},
      {"neg_zero", Value(-0.0)},
      {"tiny", Value(5e-324)},
      {"string", Value("水 \x01 tab\t"s + '\0' + "end")},
      {"empty", Value("")},
      {"ts", Value(Timestamp{1'781'000'000'123})},
      {"ts_neg", Value(Timestamp{-86'400'000})},
      {"dur", Value(Duration{90'000})},
      {"dur_neg", Value(Duration{-1})},
      {"list", Value(List{Value(), Value(true), Value(int64_t{7}), Value(Map{})})},
      {"empty_list", Value(List{})},
      {"map", Value(std::move(inner))},
  });
}

Case full_case(std::string id) {
  const Engine& e = engine();
  const Org& org = e.org();
  const Workflow& wf = e.workflows()[0];
  Case c;
  c.id = std::move(id);
  c.workflow = 0;
  c.state = wf.state_index("handling");
  c.level = wf.level_index("village");
  c.unit = org.find_unit("jjbl-c1");
  c.grid = org.find_unit("jjbl-c1-g01");
  c.closed = false;
  c.report_count = 3;
  c.co_handlers = {org.find_unit("jiajiboluo"), org.find_unit("dc-v1")};
  c.vars.assign(wf.vars.size(), Value());
  c.vars[wf.var_index("tier")] = every_kind();
  c.vars[wf.var_index("reopened")] = Value(List{Value(int64_t{2}), Value(2.0), Value("2")});
  c.report = every_kind();
  c.opened_at = Timestamp{1'781'000'000'000};
  c.level_since = Timestamp{-5};
  c.last_report_at = Timestamp{0};
  c.seq = 17;
  c.corr_key = Value("flood@h-12");
  c.timers = {
      {41, Timestamp{1'781'000'100'000}, PendingTimer::Kind::SlaWarning, 0,
       Timestamp{1'781'000'200'000}},
      {42, Timestamp{1'781'000'200'000}, PendingTimer::Kind::SlaExpiry, 0,
       Timestamp{1'781'000'200'000}},
      {uint64_t{1} << 40, Timestamp{-1}, PendingTimer::Kind::State, 3, Timestamp{}},
  };
  c.action_ids = {"a-1", "", "a-3 \xe6\xb0\xb4"};
  return c;
}

Case bare_case(std::string id) {
  const Engine& e = engine();
  const Workflow& wf = e.workflows()[0];
  Case c;
  c.id = std::move(id);
  c.workflow = 0;
  c.state = wf.state_index("closed");
  c.level = 0;
  c.unit = kNoUnit;
  c.grid = e.org().find_unit("dc-v1-g01");
  c.closed = true;
  c.report_count = 1;
  for (const auto& v : wf.vars) c.vars.push_back(v.second);
  return c;
}

// ---- the stores under test ----

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gridcase-store-XXXXXX").string();
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr) << std::strerror(errno);
  return tmpl;
}

struct MemoryFactory {
  std::unique_ptr<CaseStore> open() { return std::make_unique<MemoryStore>(); }
  // Nothing survives the process in memory: "reopening" keeps the store.
  void reopen(std::unique_ptr<CaseStore>& store) { ASSERT_TRUE(store->commit().ok()); }
  void cleanup() {}
};

template <size_t CacheEntries>
struct RocksFactoryT {
  std::string dir;
  std::unique_ptr<CaseStore> open() {
    const Engine& e = engine();  // before the temp dir: a throw here leaves nothing behind
    if (dir.empty()) dir = make_temp_dir();
    RocksOptions o;
    o.block_cache_bytes = 4 << 20;
    o.write_buffer_bytes = 1 << 20;
    o.case_cache_entries = CacheEntries;
    auto s = RocksStore::open(dir + "/db", e, o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Commits, closes and opens again: every read afterwards comes from disk.
  void reopen(std::unique_ptr<CaseStore>& store) {
    ASSERT_TRUE(store->commit().ok());
    store.reset();
    store = open();
    ASSERT_NE(store, nullptr);
  }
  void cleanup() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};
using RocksFactory = RocksFactoryT<10000>;
using RocksUncachedFactory = RocksFactoryT<0>;

// RocksDB with every commit written behind (CaseStore::commit_behind) and never waited for:
// each read then runs while the last batch may or may not be in RocksDB yet, and must give
// the same answers. (Closing the store waits for the write.)
// With `settle_on_reads`, the write behind is also waited for before every read, as the
// service does when the store says it is written while the next batch is being built.
template <bool settle_on_reads>
class CommitsBehind final : public testing::ForwardingStore {
 public:
  explicit CommitsBehind(std::unique_ptr<CaseStore> s)
      : ForwardingStore(*s), owned_(std::move(s)) {}
  Result<bool> commit() override {
    if (auto r = s_.commit_behind(); !r.ok()) return r;
    return true;
  }
  Result<std::optional<Case>> load(std::string_view id) override {
    settle();
    return s_.load(id);
  }
  bool report_seen(std::string_view g, std::string_view r) override {
    settle();
    return s_.report_seen(g, r);
  }
  std::vector<std::string> correlated(std::string_view w, std::string_view g,
                                      std::string_view k) override {
    settle();
    return s_.correlated(w, g, k);
  }
  std::optional<TimerRef> next_timer() override {
    settle();
    return s_.next_timer();
  }
  std::optional<std::string> get_meta(std::string_view k) override {
    settle();
    return s_.get_meta(k);
  }

 private:
  void settle() {
    if (settle_on_reads) {
      EXPECT_TRUE(s_.durable().ok());
    }
  }
  std::unique_ptr<CaseStore> owned_;
};

template <bool settle_on_reads>
struct RocksBehindFactoryT {
  RocksFactoryT<0> rocks;  // uncached: every case read that misses the batches goes to RocksDB
  std::unique_ptr<CaseStore> open() {
    auto s = rocks.open();
    return s ? std::make_unique<CommitsBehind<settle_on_reads>>(std::move(s)) : nullptr;
  }
  void reopen(std::unique_ptr<CaseStore>& store) {
    ASSERT_TRUE(store->commit().ok());
    store.reset();
    store = open();
    ASSERT_NE(store, nullptr);
  }
  void cleanup() { rocks.cleanup(); }
};
using RocksBehindFactory = RocksBehindFactoryT<false>;
using RocksSettledFactory = RocksBehindFactoryT<true>;

template <typename Factory>
class StoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    factory_.cleanup();
  }
  CaseStore& store() { return *store_; }

  // Runs `check` on the writes as they are (uncommitted), after commit(), and after a
  // reopen: the answers must not change.
  void in_every_phase(const std::function<void()>& check) {
    {
      SCOPED_TRACE("before commit");
      check();
    }
    ASSERT_TRUE(store_->commit().ok());
    {
      SCOPED_TRACE("after commit");
      check();
    }
    factory_.reopen(store_);
    {
      SCOPED_TRACE("after reopen");
      check();
    }
  }

  Factory factory_;
  std::unique_ptr<CaseStore> store_;
};

class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if (std::is_same_v<T, MemoryFactory>) return "Memory";
    if (std::is_same_v<T, RocksFactory>) return "Rocks";
    if (std::is_same_v<T, RocksBehindFactory>) return "RocksBehind";
    if (std::is_same_v<T, RocksSettledFactory>) return "RocksBehindSettledOnReads";
    return "RocksUncached";
  }
};

using Stores = ::testing::Types<MemoryFactory, RocksFactory, RocksUncachedFactory,
                                RocksBehindFactory, RocksSettledFactory>;
TYPED_TEST_SUITE(StoreContract, Stores, StoreNames);

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// ---- cases ----

TYPED_TEST(StoreContract, UnknownCaseIsNullopt) {
  this->store().save(full_case("known"));
  this->in_every_phase([&] {
    auto r = this->store().load("unknown");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r.value().has_value());
    EXPECT_FALSE(this->store().exists("unknown"));
    EXPECT_FALSE(this->store().exists("know"));  // a prefix of a stored id
    EXPECT_FALSE(this->store().exists("known2"));
    EXPECT_FALSE(this->store().exists(""));
  });
}

TYPED_TEST(StoreContract, CaseRoundTripKeepsEveryField) {
  const Case full = full_case("r-0001");
  const Case bare = bare_case("r-0002");
  this->store().save(full);
  this->store().save(bare);
  this->in_every_phase([&] {
    for (const Case* want : {&full, &bare}) {
      EXPECT_TRUE(this->store().exists(want->id));
      auto r = this->store().load(want->id);
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_TRUE(r.value().has_value());
      expect_same_case(*r.value(), *want);
    }
  });
}

TYPED_TEST(StoreContract, SaveReplacesAndLoadReturnsACopy) {
  Case c = full_case("r-1");
  this->store().save(c);
  ASSERT_TRUE(this->store().commit().ok());
  c.state = engine().workflows()[0].state_index("verifying");
  c.seq = 18;
  c.action_ids.push_back("a-4");
  c.timers.clear();
  this->store().save(c);
  this->in_every_phase([&] {
    auto r = this->store().load("r-1");
    ASSERT_TRUE(r.ok() && r.value());
    expect_same_case(*r.value(), c);
    r.value()->seq = 99;  // changing a loaded copy changes nothing stored
    r.value()->action_ids.clear();
    auto again = this->store().load("r-1");
    ASSERT_TRUE(again.ok() && again.value());
    expect_same_case(*again.value(), c);
  });
}

TYPED_TEST(StoreContract, SaveTwiceInOneBatchKeepsTheLast) {
  Case c = bare_case("r-2");
  for (int i = 1; i <= 5; ++i) {
    c.seq = i;
    this->store().save(c);
  }
  this->in_every_phase([&] {
    auto r = this->store().load("r-2");
    ASSERT_TRUE(r.ok() && r.value());
    EXPECT_EQ(r.value()->seq, 5);
  });
}

TYPED_TEST(StoreContract, ForEachCaseVisitsCommittedAndPendingInIdOrder) {
  for (const char* id : {"c", "a", "b", "b0"}) this->store().save(bare_case(id));
  ASSERT_TRUE(this->store().commit().ok());
  Case b = bare_case("b");
  b.seq = 7;
  this->store().save(b);
  this->store().save(bare_case("ab"));
  this->store().save(bare_case("d"));
  this->in_every_phase([&] {
    std::vector<std::string> ids;
    int64_t b_seq = -1;
    auto r = this->store().for_each_case([&](const Case& c) {
      ids.push_back(c.id);
      if (c.id == "b") b_seq = c.seq;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(ids, (std::vector<std::string>{"a", "ab", "b", "b0", "c", "d"}));
    EXPECT_EQ(b_seq, 7);
  });
}

// ---- reports ----

TYPED_TEST(StoreContract, ReportMarksArePerGrid) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  S().mark_report("jjbl-c1-g01", "r-1");
  S().mark_report("jjbl-c1-g02", "r-2");
  S().mark_report("jjbl-c1-g01", "x"s + '\0' + "y");
  S().mark_report("jjbl-c1-g01", "r-1");  // twice is fine
  this->in_every_phase([&] {
    EXPECT_TRUE(S().report_seen("jjbl-c1-g01", "r-1"));
    EXPECT_TRUE(S().report_seen("jjbl-c1-g02", "r-2"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g02", "r-1"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g01", "r-2"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g01", "r-"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g01", "r-10"));
    EXPECT_TRUE(S().report_seen("jjbl-c1-g01", "x"s + '\0' + "y"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g01", "x"));
    EXPECT_FALSE(S().report_seen("jjbl-c1-g0", "1r-1"));
  });
}

// ---- correlation ----

TYPED_TEST(StoreContract, CorrelationKeysThatArePrefixesDoNotMix) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  const std::string wf = "grid-escalation", g1 = "jjbl-c1-g01", g2 = "jjbl-c1-g02";
  S().add_correlation(wf, g1, "s:a", "c1");
  S().add_correlation(wf, g1, "s:ab", "c2");
  S().add_correlation(wf, g1, "s:a", "c3");
  S().add_correlation(wf, g2, "s:a", "c4");
  S().add_correlation("grid-escalation-2", g1, "s:a", "c5");
  S().add_correlation(wf, g1, "s:a"s + '\0' + "b", "c6");
  S().add_correlation(wf, g1, "s:", "c7");
  S().add_correlation(wf, g1, "s:a", "c1");  // twice is fine
  using V = std::vector<std::string>;
  this->in_every_phase([&] {
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:a")), (V{"c1", "c3"}));
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:ab")), (V{"c2"}));
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:a"s + '\0' + "b")), (V{"c6"}));
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:")), (V{"c7"}));
    EXPECT_EQ(sorted(S().correlated(wf, g2, "s:a")), (V{"c4"}));
    EXPECT_EQ(sorted(S().correlated("grid-escalation-2", g1, "s:a")), (V{"c5"}));
    EXPECT_EQ(S().correlated(wf, g1, "s:abc"), V{});
    EXPECT_EQ(S().correlated(wf, g1, "s"), V{});
    EXPECT_EQ(S().correlated("grid", g1, "s:a"), V{});
  });
  S().remove_correlation(wf, g1, "s:a", "c1");
  S().remove_correlation(wf, g1, "s:a", "nope");  // unknown: no effect
  S().remove_correlation(wf, g1, "s:ab", "c2");
  S().add_correlation(wf, g1, "s:ab", "c8");
  S().add_correlation(wf, g1, "s:ab", "c9");  // added and removed in one batch
  S().remove_correlation(wf, g1, "s:ab", "c9");
  this->in_every_phase([&] {
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:a")), (V{"c3"}));
    EXPECT_EQ(sorted(S().correlated(wf, g1, "s:ab")), (V{"c8"}));
    EXPECT_EQ(sorted(S().correlated(wf, g2, "s:a")), (V{"c4"}));
  });
  S().remove_correlation(wf, g1, "s:a", "c3");
  S().add_correlation(wf, g1, "s:a", "c3");  // removed and added back in one batch
  this->in_every_phase([&] { EXPECT_EQ(sorted(S().correlated(wf, g1, "s:a")), (V{"c3"})); });
}

// ---- timers ----

struct T {
  int64_t due;
  uint64_t seq;
  std::string id;
};

// Pops every timer in order, as the runtime's advance_to does.
std::vector<std::pair<int64_t, uint64_t>> drain(CaseStore& s) {
  std::vector<std::pair<int64_t, uint64_t>> out;
  while (auto t = s.next_timer()) {
    out.emplace_back(t->due.ms, t->seq);
    s.remove_timer(t->due, t->seq);
    s.remove_timer(t->due, t->seq);  // fire() removes it once more: no effect
    if (out.size() > 10000) break;
  }
  return out;
}

TYPED_TEST(StoreContract, TimersOrderByDueThenSeq) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  std::vector<T> timers = {
      {5, 9, "a"},
      {-3, 1, "b"},
      {0, 4, "c"},
      {5, 2, "d"},
      {INT64_MAX, 3, "e"},
      {INT64_MIN, 8, "f"},
      {-1, 7, "g"},
      {1, 6, "h"},
      {5, 256, "i"},
      {5, 255, "j"},
      {0, uint64_t{1} << 40, "k"},
      {0, 0, "l"},
      {-256, 5, "m"},
      {256, 5, "n"},
      {5, UINT64_MAX, "o"},
  };
  for (const T& t : timers) S().add_timer(Timestamp{t.due}, t.seq, t.id);
  std::vector<std::pair<int64_t, uint64_t>> want;
  for (const T& t : timers) want.emplace_back(t.due, t.seq);
  std::sort(want.begin(), want.end());
  this->in_every_phase([&] {
    EXPECT_EQ(S().pending_timers(), timers.size());
    auto head = S().next_timer();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->due.ms, INT64_MIN);
    EXPECT_EQ(head->seq, 8u);
    EXPECT_EQ(head->case_id, "f");
  });
  EXPECT_EQ(drain(S()), want);
  EXPECT_EQ(S().pending_timers(), 0u);
  this->in_every_phase([&] {
    EXPECT_FALSE(S().next_timer());
    EXPECT_EQ(S().pending_timers(), 0u);
  });
}

TYPED_TEST(StoreContract, RemovingHeadAndMiddleTimers) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  for (uint64_t i = 1; i <= 10; ++i)
    S().add_timer(Timestamp{int64_t(i) * 1000}, i, "c" + std::to_string(i));
  ASSERT_TRUE(S().commit().ok());
  S().remove_timer(Timestamp{1000}, 1);    // head
  S().remove_timer(Timestamp{5000}, 5);    // middle
  S().remove_timer(Timestamp{5000}, 6);    // no such timer (wrong due)
  S().remove_timer(Timestamp{99000}, 99);  // no such timer
  this->in_every_phase([&] {
    auto t = S().next_timer();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->seq, 2u);
    EXPECT_EQ(t->case_id, "c2");
    EXPECT_EQ(S().pending_timers(), 8u);
  });
  S().remove_timer(Timestamp{2000}, 2);
  S().remove_timer(Timestamp{4000}, 4);
  this->in_every_phase([&] {
    auto t = S().next_timer();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->seq, 3u);
    EXPECT_EQ(S().pending_timers(), 6u);
  });
  S().remove_timer(Timestamp{3000}, 3);
  // Added back after removal, and a new one before every other.
  S().add_timer(Timestamp{5000}, 5, "c5-again");
  S().add_timer(Timestamp{-7}, 11, "c11");
  this->in_every_phase([&] {
    auto t = S().next_timer();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->seq, 11u);
    EXPECT_EQ(S().pending_timers(), 7u);
  });
  auto order = drain(S());
  std::vector<std::pair<int64_t, uint64_t>> want = {{-7, 11},  {5000, 5}, {6000, 6},  {7000, 7},
                                                    {8000, 8}, {9000, 9}, {10000, 10}};
  EXPECT_EQ(order, want);
  EXPECT_EQ(S().pending_timers(), 0u);
}

TYPED_TEST(StoreContract, AddingAnExistingTimerReplacesItsCase) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  S().add_timer(Timestamp{10}, 1, "x");
  S().add_timer(Timestamp{10}, 1, "y");
  this->in_every_phase([&] {
    EXPECT_EQ(S().pending_timers(), 1u);
    EXPECT_EQ(S().next_timer()->case_id, "y");
  });
  S().add_timer(Timestamp{10}, 1, "z");  // over a committed one
  this->in_every_phase([&] {
    EXPECT_EQ(S().pending_timers(), 1u);
    EXPECT_EQ(S().next_timer()->case_id, "z");
  });
  S().add_timer(Timestamp{10}, 2, "w");
  S().remove_timer(Timestamp{10}, 2);  // added and removed in one batch
  this->in_every_phase([&] {
    EXPECT_EQ(S().pending_timers(), 1u);
    EXPECT_EQ(S().next_timer()->seq, 1u);
  });
}

// Random adds, head pops, middle removals and commits, checked against a plain map.
TYPED_TEST(StoreContract, TimersMatchAModelUnderAQueueWorkload) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  std::map<std::pair<int64_t, uint64_t>, std::string> model;
  std::mt19937_64 rng(20260612);
  uint64_t seq = 0;
  int64_t now = 0;
  for (int step = 0; step < 6000; ++step) {
    if (step % 1000 == 999) this->factory_.reopen(this->store_);
    int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      // Mostly in the future, sometimes before the head (timers set in the past).
      int64_t due = now + static_cast<int64_t>(rng() % 5000) - (op < 5 ? 3000 : 0);
      ++seq;
      std::string id = "c" + std::to_string(rng() % 300);
      S().add_timer(Timestamp{due}, seq, id);
      model[{due, seq}] = id;
    } else if (op < 80) {
      auto t = S().next_timer();
      ASSERT_EQ(t.has_value(), !model.empty()) << "step " << step;
      if (!t) continue;
      auto& [k, id] = *model.begin();
      ASSERT_EQ(t->due.ms, k.first) << "step " << step;
      ASSERT_EQ(t->seq, k.second) << "step " << step;
      ASSERT_EQ(t->case_id, id) << "step " << step;
      now = std::max(now, t->due.ms);
      S().remove_timer(t->due, t->seq);
      S().remove_timer(t->due, t->seq);
      model.erase(model.begin());
    } else if (op < 92) {
      if (model.empty()) continue;
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      S().remove_timer(Timestamp{it->first.first}, it->first.second);
      model.erase(it);
    } else {
      ASSERT_TRUE(S().commit().ok());
    }
    ASSERT_EQ(this->store().pending_timers(), model.size()) << "step " << step;
  }
  this->in_every_phase([&] { EXPECT_EQ(this->store().pending_timers(), model.size()); });
  auto order = drain(S());
  ASSERT_EQ(order.size(), model.size());
  size_t i = 0;
  for (const auto& [k, id] : model) EXPECT_EQ(order[i++], k);
}

// ---- meta ----

TYPED_TEST(StoreContract, MetaPutAndGet) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  EXPECT_FALSE(S().get_meta("clock"));
  S().put_meta("clock", "1781000000000");
  S().put_meta("timer_seq", "1");
  S().put_meta("timer_seq", "2");
  S().put_meta("empty", "");
  S().put_meta("offset.gridcase.input.0", "123");
  this->in_every_phase([&] {
    EXPECT_EQ(S().get_meta("clock"), "1781000000000");
    EXPECT_EQ(S().get_meta("timer_seq"), "2");
    EXPECT_EQ(S().get_meta("empty"), "");
    EXPECT_EQ(S().get_meta("offset.gridcase.input.0"), "123");
    EXPECT_FALSE(S().get_meta("offset.gridcase.input"));
    EXPECT_FALSE(S().get_meta("clock2"));
  });
  S().put_meta("clock", "1781000000001");
  this->in_every_phase([&] { EXPECT_EQ(S().get_meta("clock"), "1781000000001"); });
}

// Each batch's outbox is kept under its number, in batch order, exactly as given (whatever
// the store does to it on disk), until it is dropped.
TYPED_TEST(StoreContract, OutboxesAreKeptPerBatchUntilDropped) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  std::string lines;
  for (int i = 0; i < 2000; ++i) {
    lines += R"({"case_id":"r-)" + std::to_string(i) + R"(","seq":1,"type":"opened"})";
  }
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  S().put_outbox(2, binary);
  S().put_outbox(1, lines);
  S().put_outbox(300, "");
  this->factory_.reopen(this->store_);  // commits
  using Stored = std::vector<std::pair<uint64_t, std::string>>;
  auto stored = S().stored_outboxes();
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(*stored, (Stored{{1, lines}, {2, binary}, {300, ""}}));
  S().drop_outbox(1);
  S().drop_outbox(300);
  this->factory_.reopen(this->store_);
  stored = S().stored_outboxes();
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(*stored, (Stored{{2, binary}}));
}

TEST(RocksStoreOutbox, ADamagedStoredOutboxIsAnErrorNamingItsBatch) {
  RocksFactory f;
  auto s = f.open();
  ASSERT_NE(s, nullptr);
  s->put_meta(std::string("outbox/") + std::string(7, '\0') + "\x05", "not an LZ4 block");
  ASSERT_TRUE(s->commit().ok());
  auto stored = s->stored_outboxes();
  ASSERT_FALSE(stored.ok());
  EXPECT_NE(stored.error().message.find("outbox of batch 5 is damaged"), std::string::npos)
      << stored.error().message;
  s.reset();
  f.cleanup();
}

// ---- read-your-writes ----

TYPED_TEST(StoreContract, ReadsSeeUncommittedWrites) {
  auto S = [this]() -> CaseStore& { return this->store(); };
  S().save(bare_case("old"));
  S().add_timer(Timestamp{100}, 1, "old");
  S().add_correlation("wf", "g", "k", "old");
  S().put_meta("m", "1");
  ASSERT_TRUE(S().commit().ok());

  // Nothing below is committed: every read must still see it.
  Case c = full_case("new");
  S().save(c);
  S().mark_report("jjbl-c1-g01", "new");
  S().add_correlation("wf", "g", "k", "new");
  S().remove_correlation("wf", "g", "k", "old");
  S().add_timer(Timestamp{50}, 2, "new");
  S().remove_timer(Timestamp{100}, 1);
  S().put_meta("m", "2");
  EXPECT_TRUE(S().exists("new"));
  auto r = S().load("new");
  ASSERT_TRUE(r.ok() && r.value());
  expect_same_case(*r.value(), c);
  EXPECT_TRUE(S().report_seen("jjbl-c1-g01", "new"));
  EXPECT_EQ(S().correlated("wf", "g", "k"), std::vector<std::string>{"new"});
  auto t = S().next_timer();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->case_id, "new");
  EXPECT_EQ(S().pending_timers(), 1u);
  EXPECT_EQ(S().get_meta("m"), "2");
  int n = 0;
  ASSERT_TRUE(S().for_each_case([&](const Case&) { ++n; }).ok());
  EXPECT_EQ(n, 2);
}

// ---- the runtime over the store ----

class CollectSink final : public EventSink {
 public:
  void emit(const CaseEvent& e) override {
    lines.push_back(e.case_id + "#" + std::to_string(e.seq) + " " + e.type + " " + e.state + " " +
                    e.level + " " + e.unit + " @" + std::to_string(e.at.ms));
  }
  std::vector<std::string> lines;
};

InputEvent report(int64_t at, const std::string& id, const std::string& grid,
                  const std::string& category, const std::string& household, int severity) {
  InputEvent ev;
  ev.type = InputEvent::Type::Report;
  ev.at = Timestamp{at};
  ev.report_id = id;
  ev.grid = grid;
  ev.category = category;
  ev.report = Value(Map{{"report_id", Value(id)},
                        {"grid", Value(grid)},
                        {"category", Value(category)},
                        {"household", Value(household)},
                        {"severity", Value(int64_t{severity})}});
  return ev;
}

InputEvent action(int64_t at, const std::string& case_id, const std::string& name,
                  const std::string& actor) {
  InputEvent ev;
  ev.type = InputEvent::Type::Action;
  ev.at = Timestamp{at};
  ev.case_id = case_id;
  ev.action = name;
  ev.actor = Value(actor);
  return ev;
}

std::vector<InputEvent> story() {
  constexpr int64_t h = 3'600'000, t0 = 1'781'000'000'000;
  return {
      report(t0, "r-1", "jjbl-c1-g01", "garbage", "h-1", 2),
      report(t0 + h / 2, "r-2", "jjbl-c1-g01", "garbage", "h-1", 2),  // correlates with r-1
      report(t0 + h, "r-3", "jjbl-c1-g02", "flood", "h-9", 3),
      report(t0 + h, "r-3", "jjbl-c1-g02", "flood", "h-9", 3),  // duplicate
      report(t0 + 2 * h, "r-4", "dc-v1-g01", "road", "h-4", 5),
      action(t0 + 3 * h, "r-1", "resolve", "w-0001"),
      action(t0 + 4 * h, "r-1", "verify", "s-0101"),
      report(t0 + 30 * h, "r-5", "jjbl-c1-g01", "garbage", "h-1", 1),  // window passed
      action(t0 + 80 * h, "r-4", "escalate", "s-0101"),
      report(t0 + 200 * h, "r-6", "jjbl-c1-g02", "noise", "h-2", 1),
  };
}

// Runs the story through a Processor on `s`, committing (and reopening) after every event.
template <typename Reopen>
std::vector<std::string> run_story(std::unique_ptr<CaseStore>& s, Reopen reopen) {
  CollectSink sink;
  for (const InputEvent& ev : story()) {
    Processor p(engine(), *s, sink);
    EXPECT_TRUE(p.init().ok());
    auto v = p.process(ev);
    EXPECT_NE(v.outcome, Processor::Outcome::Bad) << v.error;
    EXPECT_TRUE(p.commit().ok());
    reopen(s);
  }
  return sink.lines;
}

TYPED_TEST(StoreContract, TheRuntimeGivesTheSameEventsAsInMemory) {
  std::unique_ptr<CaseStore> mem = std::make_unique<MemoryStore>();
  auto want = run_story(mem, [](std::unique_ptr<CaseStore>&) {});
  ASSERT_GT(want.size(), 10u);
  auto got =
      run_story(this->store_, [&](std::unique_ptr<CaseStore>& s) { this->factory_.reopen(s); });
  EXPECT_EQ(got, want);
  EXPECT_EQ(this->store().pending_timers(), mem->pending_timers());
}

// ---- RocksDB only ----

class RocksStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine();  // before the temp dir: a throw here leaves nothing behind
    dir_ = make_temp_dir() + "/db";
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  std::unique_ptr<RocksStore> open(RocksOptions o = {}) {
    auto s = RocksStore::open(dir_, engine(), o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Writes raw bytes under the cases column family, bypassing the store.
  void put_raw_case(const std::string& id, const std::string& bytes) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {"default", "cases", "timers", "reports", "correlation", "meta"}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir_, cfs, &handles, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], id, bytes).ok());
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
    delete db;
  }
  std::string dir_;
};

TEST_F(RocksStoreTest, CommittedStateSurvivesReopen) {
  Case c = full_case("r-1");
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    s->save(c);
    s->mark_report("jjbl-c1-g01", "r-1");
    s->add_correlation("grid-escalation", "jjbl-c1-g01", "s:garbage@h-1", "r-1");
    for (uint64_t i = 1; i <= 100; ++i) s->add_timer(Timestamp{int64_t(i)}, i, "r-1");
    for (uint64_t i = 1; i <= 40; ++i) s->remove_timer(Timestamp{int64_t(i)}, i);
    s->put_meta("clock", "42");
    ASSERT_TRUE(s->commit().ok());
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  auto r = s->load("r-1");
  ASSERT_TRUE(r.ok() && r.value());
  expect_same_case(*r.value(), c);
  EXPECT_TRUE(s->report_seen("jjbl-c1-g01", "r-1"));
  EXPECT_EQ(s->correlated("grid-escalation", "jjbl-c1-g01", "s:garbage@h-1"),
            std::vector<std::string>{"r-1"});
  EXPECT_EQ(s->pending_timers(), 60u);
  EXPECT_EQ(s->next_timer()->seq, 41u);
  EXPECT_EQ(s->get_meta("clock"), "42");
  EXPECT_EQ(s->get_meta(RocksStore::kPendingTimersKey), "60");
}

// `migrate --dry-run` beside a running engine: a read-only store reads what the writer
// had committed when it opened, needs no lock, and refuses to commit.
// `--state-dir a/b/engine` on a fresh machine: the missing parents are made too; a store
// opened for reading only makes nothing.
TEST_F(RocksStoreTest, ANewStoreMakesItsMissingParentDirectories) {
  std::string nested = dir_ + "/a/b/engine";
  RocksOptions ro;
  ro.read_only = true;
  EXPECT_FALSE(RocksStore::open(nested, engine(), ro).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a"));
  auto s = RocksStore::open(nested, engine());
  ASSERT_TRUE(s.ok()) << s.error().message;
  s.value()->save(full_case("r-1"));
  ASSERT_TRUE(s.value()->commit().ok());
  EXPECT_TRUE(std::filesystem::is_directory(nested));
}

TEST_F(RocksStoreTest, ReadOnlyOpensBesideAWriterAndNeverWrites) {
  auto writer = open();
  ASSERT_NE(writer, nullptr);
  writer->save(full_case("r-1"));
  writer->put_meta("clock", "42");
  ASSERT_TRUE(writer->commit().ok());
  RocksOptions ro;
  ro.read_only = true;
  auto reader = open(ro);
  ASSERT_NE(reader, nullptr);
  auto r = reader->load("r-1");
  ASSERT_TRUE(r.ok() && r.value());
  EXPECT_EQ(reader->get_meta("clock"), "42");
  auto again = RocksStore::open(dir_, engine());  // a second writer is still refused
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("lock"), std::string::npos) << again.error().message;
  reader->put_meta("clock", "43");
  auto c = reader->commit();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("reading only"), std::string::npos) << c.error().message;
  EXPECT_EQ(writer->get_meta("clock"), "42");
  auto views = RocksStore::keeps_views(dir_, engine());
  ASSERT_TRUE(views.ok()) << views.error().message;
  EXPECT_FALSE(views.value());
}

TEST_F(RocksStoreTest, UncommittedWritesAreLostWhenClosedWithoutCommit) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    s->save(bare_case("kept"));
    s->add_timer(Timestamp{10}, 1, "kept");
    s->put_meta("clock", "1");
    ASSERT_TRUE(s->commit().ok());
    // A crash before the next commit: none of this may survive, not even in part.
    Case changed = bare_case("kept");
    changed.seq = 9;
    s->save(changed);
    s->save(bare_case("lost"));
    s->mark_report("jjbl-c1-g01", "lost");
    s->add_correlation("wf", "g", "k", "lost");
    s->add_timer(Timestamp{5}, 2, "lost");
    s->remove_timer(Timestamp{10}, 1);
    s->put_meta("clock", "2");
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->exists("kept"));
  EXPECT_EQ(s->load("kept").value()->seq, 0);
  EXPECT_FALSE(s->exists("lost"));
  EXPECT_FALSE(s->report_seen("jjbl-c1-g01", "lost"));
  EXPECT_TRUE(s->correlated("wf", "g", "k").empty());
  EXPECT_EQ(s->pending_timers(), 1u);
  auto t = s->next_timer();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->case_id, "kept");
  EXPECT_EQ(s->get_meta("clock"), "1");
}

TEST_F(RocksStoreTest, CorruptCaseIsAnErrorNotACrash) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    s->save(bare_case("good"));
    s->save(full_case("truncated"));
    ASSERT_TRUE(s->commit().ok());
  }
  put_raw_case("bad", "\x01\x07garbage\xff\xff\xff");
  put_raw_case("empty", "");
  std::string enc = encode_case(full_case("truncated"), engine());
  put_raw_case("truncated", enc.substr(0, enc.size() / 2));
  auto s = open();
  ASSERT_NE(s, nullptr);
  for (const char* id : {"bad", "empty", "truncated"}) {
    auto r = s->load(id);
    EXPECT_FALSE(r.ok()) << id;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find(id), std::string::npos) << r.error().message;
    }
  }
  auto good = s->load("good");
  ASSERT_TRUE(good.ok() && good.value());
  EXPECT_EQ(good.value()->id, "good");
  auto all = s->for_each_case([](const Case&) {});
  EXPECT_FALSE(all.ok());
  EXPECT_TRUE(s->status().ok());  // a bad value is the caller's to handle, not a store fault
}

TEST_F(RocksStoreTest, OpenReportsErrorsAsValues) {
  std::filesystem::create_directories(std::filesystem::path(dir_).parent_path());
  std::ofstream(dir_) << "not a directory";
  auto s = RocksStore::open(dir_, engine());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(dir_), std::string::npos) << s.error().message;
  RocksOptions o;
  o.create_if_missing = false;
  auto missing = RocksStore::open(dir_ + "-none", engine(), o);
  EXPECT_FALSE(missing.ok());
}

// The head of the timer queue keeps being deleted: next_timer() must not walk the tombstones
// of earlier heads again (one seek per batch at most), nor read to learn the head is live.
TEST_F(RocksStoreTest, QueueWorkloadDoesNotRescanTombstones) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  for (uint64_t i = 1; i <= 20000; ++i) s->add_timer(Timestamp{int64_t(i)}, i, "c");
  ASSERT_TRUE(s->commit().ok());
  RocksStoreStats before = s->stats();
  uint64_t popped = 0;
  while (auto t = s->next_timer()) {
    s->remove_timer(t->due, t->seq);
    s->remove_timer(t->due, t->seq);
    if (++popped % 500 == 0) {
      ASSERT_TRUE(s->commit().ok());
    }
  }
  ASSERT_TRUE(s->commit().ok());
  EXPECT_EQ(popped, 20000u);
  EXPECT_LE(s->stats().timer_seeks - before.timer_seeks, s->stats().commits - before.commits + 1);
  EXPECT_EQ(s->stats().db_gets, before.db_gets);
  EXPECT_EQ(s->pending_timers(), 0u);
}

TEST_F(RocksStoreTest, HotCasesComeFromTheCache) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  s->save(full_case("hot"));
  ASSERT_TRUE(s->commit().ok());
  RocksStoreStats before = s->stats();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s->exists("hot"));
    ASSERT_TRUE(s->load("hot").ok());
  }
  EXPECT_EQ(s->stats().decodes, before.decodes);
  EXPECT_EQ(s->stats().db_gets, before.db_gets);
  EXPECT_EQ(s->stats().cache_hits - before.cache_hits, 20u);
}

// A store whose correlation family was written before it had a prefix extractor (table
// files with whole-key filters and no prefix filters, as the store wrote them then) reads
// the same: the lookups find every entry, in and out of the new memtable, and no other
// key's.
TEST_F(RocksStoreTest, CorrelationWrittenWithoutThePrefixFiltersReadsTheSame) {
  { auto s = open(); }  // the families exist
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {"default", "cases", "timers", "reports", "correlation", "meta"}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::BlockBasedTableOptions t;  // the store's filters before: whole keys, 10 bits
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.whole_key_filtering = true;
    cfs[4].options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions dbo;
    rocksdb::Status st = rocksdb::DB::Open(dbo, dir_, cfs, &handles, &db);
    ASSERT_TRUE(st.ok()) << st.ToString();
    // workflow \0 grid \0 key \0 case id, as the store writes them
    auto key = [](std::string k, const std::string& id) {
      return "wf"s + '\0' + "g1" + '\0' + k + '\0' + id;
    };
    for (const auto& [k, id] : std::vector<std::pair<std::string, std::string>>{
             {"s:a", "c1"}, {"s:a", "c2"}, {"s:ab", "c3"}, {"s:", "c4"}}) {
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[4], key(k, id), "").ok());
    }
    EXPECT_TRUE(db->Flush(rocksdb::FlushOptions(), handles[4]).ok());
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
    delete db;
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  using V = std::vector<std::string>;
  EXPECT_EQ(s->correlated("wf", "g1", "s:a"), (V{"c1", "c2"}));
  EXPECT_EQ(s->correlated("wf", "g1", "s:ab"), (V{"c3"}));
  EXPECT_EQ(s->correlated("wf", "g1", "s:"), (V{"c4"}));
  EXPECT_EQ(s->correlated("wf", "g1", "s"), V{});
  EXPECT_EQ(s->correlated("wf", "g2", "s:a"), V{});
  // A new entry of an old key (in the memtable, with its filter) beside the old ones.
  s->add_correlation("wf", "g1", "s:a", "c5");
  s->remove_correlation("wf", "g1", "s:a", "c1");
  ASSERT_TRUE(s->commit().ok());
  EXPECT_EQ(s->correlated("wf", "g1", "s:a"), (V{"c2", "c5"}));
  s.reset();
  s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->correlated("wf", "g1", "s:a"), (V{"c2", "c5"}));
}

// The writer thread is named "gc-store" (as top -H, perf and gdb show it).
TEST_F(RocksStoreTest, TheWriterThreadIsNamed) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::thread::id>> writes;  // thread name and id
  RocksOptions o;
  o.before_write = [&] {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::lock_guard lock(mu);
    writes.emplace_back(name, std::this_thread::get_id());
  };
  auto s = open(o);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 3; ++i) {
    s->save(bare_case("c" + std::to_string(i)));
    auto behind = s->commit_behind();
    ASSERT_TRUE(behind.ok()) << behind.error().message;
    ASSERT_TRUE(s->durable().ok());
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(writes.size(), 3u);
  for (const auto& [name, id] : writes) {
    EXPECT_EQ(name, "gc-store");
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

// A batch written behind while RocksDB does not show it yet (the writer is held back): every
// read answers from the batch behind and the overlay, merged with RocksDB's older state,
// and keeps answering the same once the write is done and after a reopen.
TEST_F(RocksStoreTest, ReadsAreRightWhileTheBatchBehindIsNotInRocksDbYet) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  RocksOptions o;
  o.case_cache_entries = 0;  // every case read that misses the layers goes to RocksDB
  o.before_write = [released] { released.wait(); };
  auto s = open(o);
  ASSERT_NE(s, nullptr);
  // Committed in place: the older state RocksDB shows.
  s->save(bare_case("old"));
  s->add_timer(Timestamp{100}, 1, "old");
  s->add_timer(Timestamp{300}, 2, "old");
  s->add_correlation("wf", "g", "k", "old");
  s->mark_report("g", "r-old");
  s->put_meta("m", "1");
  ASSERT_TRUE(s->commit().ok());

  // The batch behind: a new case and report, timers added before and after the old ones,
  // the old head removed, correlation swapped, meta changed.
  Case c = full_case("new");
  s->save(c);
  s->mark_report("g", "r-new");
  s->add_correlation("wf", "g", "k", "new");
  s->remove_correlation("wf", "g", "k", "old");
  s->add_timer(Timestamp{50}, 3, "new");
  s->add_timer(Timestamp{200}, 4, "new");
  s->remove_timer(Timestamp{100}, 1);
  s->put_meta("m", "2");
  auto behind = s->commit_behind();
  ASSERT_TRUE(behind.ok()) << behind.error().message;
  ASSERT_TRUE(behind.value());  // handed over, and held back: RocksDB shows none of it

  auto check = [&](const char* phase, std::vector<std::pair<int64_t, std::string>> timers) {
    SCOPED_TRACE(phase);
    EXPECT_TRUE(s->exists("new"));
    EXPECT_TRUE(s->exists("old"));
    auto got = s->load("new");
    ASSERT_TRUE(got.ok() && got.value());
    expect_same_case(*got.value(), c);
    EXPECT_TRUE(s->report_seen("g", "r-new"));
    EXPECT_TRUE(s->report_seen("g", "r-old"));
    EXPECT_FALSE(s->report_seen("g", "r-none"));
    EXPECT_EQ(s->correlated("wf", "g", "k"), std::vector<std::string>{"new"});
    EXPECT_EQ(s->get_meta("m"), "2");
    EXPECT_EQ(s->pending_timers(), timers.size());
    auto t = s->next_timer();
    ASSERT_EQ(t.has_value(), !timers.empty());
    if (t) {
      EXPECT_EQ(t->due.ms, timers.front().first);
      EXPECT_EQ(t->case_id, timers.front().second);
    }
  };
  check("held back", {{50, "new"}, {200, "new"}, {300, "old"}});
  // The next batch, built on it: the head of the batch behind fires, then the next one
  // (also the batch behind's), then a timer of the older state is removed.
  s->remove_timer(Timestamp{50}, 3);
  check("head of the batch behind removed", {{200, "new"}, {300, "old"}});
  s->remove_timer(Timestamp{200}, 4);
  check("both of its timers removed", {{300, "old"}});
  s->add_timer(Timestamp{200}, 4, "again");  // added back after its removal
  s->remove_timer(Timestamp{300}, 2);
  check("a timer of the older state removed", {{200, "again"}});
  s->mark_report("g", "r-next");
  EXPECT_TRUE(s->report_seen("g", "r-next"));

  release.set_value();
  ASSERT_TRUE(s->durable().ok());
  check("written", {{200, "again"}});
  ASSERT_TRUE(s->commit().ok());
  check("next batch committed", {{200, "again"}});
  s.reset();
  s = open();
  ASSERT_NE(s, nullptr);
  check("reopened", {{200, "again"}});
  EXPECT_TRUE(s->report_seen("g", "r-next"));
}

}  // namespace
}  // namespace gridcase
