#include "engine/parse_ahead.hpp"

#include <gtest/gtest.h>

#include <atomic>
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

// The worker thread runs on_start first, once, on itself (serve names it there); a batch
// too small for the worker starts no thread.
TEST(ParseAhead, RunsOnStartOnceOnItsWorkerThread) {
  std::atomic<size_t> calls{0};
  std::atomic<int> started{0};
  std::thread::id started_on;
  bool wait_for_worker = false;  // parses wait until the worker has started (else it may not)
  ParseAhead pa(
      [&](std::string_view p) {
        if (wait_for_worker) started.wait(0);
        return fake_parse(p, calls);
      },
      [&] {
        started_on = std::this_thread::get_id();
        started.fetch_add(1);
        started.notify_all();
      });
  for (size_t n : {size_t{5}, ParseAhead::kMinParallel * 4, ParseAhead::kMinParallel * 8}) {
    auto recs = records(n, n);
    wait_for_worker = n > 5;
    pa.start(recs);
    for (size_t i = 0; i < n; ++i) (void)pa.get(i);
    pa.finish();
    if (n == 5) {
      EXPECT_EQ(started.load(), 0);
    }
  }
  EXPECT_EQ(started.load(), 1);
  EXPECT_NE(started_on, std::this_thread::get_id());
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
