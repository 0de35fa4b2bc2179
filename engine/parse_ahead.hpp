#pragma once
// Parses a batch's input records on a second thread while the first applies them in order.
//
// Parsing an input event is pure (payload and org tree in, InputEvent or error out), so it
// can run ahead of the engine: a worker parses from the front of the batch while the
// calling thread takes each parsed event in order as it applies them. The calling thread
// never just waits for an event it could parse itself: when the next one is not ready and
// some are still unclaimed, it parses the next unclaimed one. So a busy machine (the worker
// not scheduled) costs nothing, and the results are exactly those of parsing in a loop.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/ports.hpp"
#include "engine/runtime.hpp"

namespace gridcase {

class ParseAhead {
 public:
  using Parse = std::function<Result<InputEvent>(std::string_view payload)>;
  // Batches smaller than this are parsed in the calling thread (no hand-over at all).
  static constexpr size_t kMinParallel = 32;

  explicit ParseAhead(Parse parse) : parse_(std::move(parse)) {}
  ~ParseAhead();
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  // Starts on `records` (kept alive and unchanged until finish()).
  void start(const std::vector<SourceRecord>& records);
  // The parsed event of records[i]; i counts up from 0 by one.
  Result<InputEvent>& get(size_t i);
  // The worker has let go of the batch (called before the records go).
  void finish();

 private:
  void work();
  bool parse_one();  // claims and parses the next unclaimed record; false: none left

  Parse parse_;
  const std::vector<SourceRecord>* records_ = nullptr;
  std::vector<std::optional<Result<InputEvent>>> out_;
  std::unique_ptr<std::atomic<bool>[]> ready_;
  std::atomic<size_t> claim_{0};
  bool parallel_ = false;

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t job_ = 0;       // guarded by mu_: the batch number the worker is to take
  uint64_t taken_ = 0;     // guarded by mu_: the batch number the worker took last
  bool busy_ = false;      // guarded by mu_: the worker is on a batch
  bool stopping_ = false;  // guarded by mu_
};

}  // namespace gridcase
