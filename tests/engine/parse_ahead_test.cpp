#include "engine/parse_ahead.hpp"

#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gridcase {
namespace {

// A stand-in parser: "bad..." payloads fail, others become a report whose id is the payload.
Result<InputEvent> fake_parse(std::string_view payload, std::atomic<size_t>& calls) {
  calls.fetch_add(1);
  if (payload.starts_with("bad")) return err("cannot parse " + std::string(payload));
  InputEvent ev;
  ev.type = InputEvent::Type::Report;
  ev.report_id = std::string(payload);
  return ev;
}

std::vector<SourceRecord> records(size_t n, size_t batch) {
  std::vector<SourceRecord> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].offset = static_cast<int64_t>(i);
    out[i].payload = (i % 7 == 3 ? "bad-" : "r-") + std::to_string(batch) + "-" + std::to_string(i);
  }
  return out;
}

// Whatever the batch size (below and above the parallel threshold), each record's result is
// the one parsing it alone gives, in order, and each record is parsed exactly once.
TEST(ParseAhead, GivesEachRecordsOwnResultInOrderAndParsesEachOnce) {
  std::atomic<size_t> calls{0};
  ParseAhead pa([&](std::string_view p) { return fake_parse(p, calls); });
  size_t expected_calls = 0;
  for (size_t batch = 0; batch < 40; ++batch) {
    const size_t n = batch % 4 == 0 ? 5 : 100 + batch * 37;  // small ones in between
    auto recs = records(n, batch);
    pa.start(recs);
    for (size_t i = 0; i < n; ++i) {
      const Result<InputEvent>& got = pa.get(i);
      if (recs[i].payload.starts_with("bad")) {
        ASSERT_FALSE(got.ok()) << "batch " << batch << " record " << i;
        EXPECT_EQ(got.error().message, "cannot parse " + recs[i].payload);
      } else {
        ASSERT_TRUE(got.ok()) << "batch " << batch << " record " << i;
        EXPECT_EQ(got.value().report_id, recs[i].payload);
      }
    }
    pa.finish();
    expected_calls += n;
    EXPECT_EQ(calls.load(), expected_calls) << "batch " << batch;
  }
}

// The worker thread is named "gc-parse" (as top -H, perf and gdb show it); a batch too
// small for the worker parses on the calling thread only.
TEST(ParseAhead, TheWorkerThreadIsNamed) {
  std::atomic<size_t> calls{0};
  std::mutex mu;
  std::vector<std::string> worker_names;  // of threads other than this one that parsed
  std::atomic<int> on_worker{0};
  bool wait_for_worker = false;  // parses here wait until the worker has parsed one
  const std::thread::id main_id = std::this_thread::get_id();
  ParseAhead pa([&](std::string_view p) {
    if (std::this_thread::get_id() != main_id) {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      {
        std::lock_guard lock(mu);
        worker_names.emplace_back(name);
      }
      on_worker.fetch_add(1);
      on_worker.notify_all();
    } else if (wait_for_worker) {
      on_worker.wait(0);
    }
    return fake_parse(p, calls);
  });
  for (size_t n : {size_t{5}, ParseAhead::kMinParallel * 4, ParseAhead::kMinParallel * 8}) {
    auto recs = records(n, n);
    wait_for_worker = n > 5;
    pa.start(recs);
    for (size_t i = 0; i < n; ++i) (void)pa.get(i);
    pa.finish();
    if (n == 5) {
      EXPECT_EQ(on_worker.load(), 0);
    }
  }
  std::lock_guard lock(mu);
  ASSERT_FALSE(worker_names.empty());
  for (const auto& name : worker_names) EXPECT_EQ(name, "gc-parse");
}

// A batch can be left before its end (an error in the caller): finish() still waits for the
// worker, and the next batch is right.
TEST(ParseAhead, ABatchLeftHalfWayDoesNotSpillIntoTheNext) {
  std::atomic<size_t> calls{0};
  ParseAhead pa([&](std::string_view p) { return fake_parse(p, calls); });
  auto first = records(500, 1);
  pa.start(first);
  ASSERT_TRUE(pa.get(0).ok());
  pa.finish();
  first.clear();  // the worker has let go
  auto second = records(300, 2);
  pa.start(second);
  for (size_t i = 0; i < second.size(); ++i) {
    const auto& got = pa.get(i);
    ASSERT_EQ(got.ok(), !second[i].payload.starts_with("bad")) << i;
    if (got.ok()) {
      EXPECT_EQ(got.value().report_id, second[i].payload);
    }
  }
  pa.finish();
}

}  // namespace
}  // namespace gridcase
