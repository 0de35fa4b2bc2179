#include "engine/parse_ahead.hpp"

#include <pthread.h>

namespace gridcase {

ParseAhead::~ParseAhead() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void ParseAhead::start(const std::vector<SourceRecord>& records) {
  records_ = &records;
  out_.clear();
  out_.resize(records.size());
  parallel_ = records.size() >= kMinParallel;
  if (!parallel_) return;
  ready_ = std::make_unique<std::atomic<bool>[]>(records.size());
  claim_.store(0, std::memory_order_relaxed);
  if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
  {
    std::lock_guard lock(mu_);
    ++job_;
    busy_ = true;
  }
  cv_.notify_one();
}

bool ParseAhead::parse_one() {
  size_t i = claim_.fetch_add(1, std::memory_order_relaxed);
  if (i >= out_.size()) return false;
  out_[i].emplace(parse_((*records_)[i].payload));
  ready_[i].store(true, std::memory_order_release);
  ready_[i].notify_one();
  return true;
}

Result<InputEvent>& ParseAhead::get(size_t i) {
  if (!parallel_) {
    out_[i].emplace(parse_((*records_)[i].payload));
    return *out_[i];
  }
  while (!ready_[i].load(std::memory_order_acquire)) {
    // Not ready: the worker has it in hand, or has not got to it. Parse the next unclaimed
    // one meanwhile; when none is left, the worker is on this one: wait for it.
    if (!parse_one()) ready_[i].wait(false, std::memory_order_acquire);
  }
  return *out_[i];
}

void ParseAhead::finish() {
  if (!parallel_) return;
  parallel_ = false;
  claim_.store(out_.size());  // what is left (a batch given up half-way) is not parsed
  std::unique_lock lock(mu_);
  // Not taken by the worker yet: withdrawn (it skips it), so a worker not scheduled in the
  // meantime costs no wait.
  if (taken_ != job_) {
    busy_ = false;
    return;
  }
  cv_.wait(lock, [this] { return !busy_; });
}

void ParseAhead::work() {
  pthread_setname_np(pthread_self(), "gc-parse");  // as top -H, perf and gdb show it
  uint64_t done = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || job_ != done; });
    if (stopping_) return;
    done = job_;
    if (!busy_) continue;  // withdrawn by finish()
    taken_ = job_;
    lock.unlock();
    while (parse_one()) {
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace gridcase
