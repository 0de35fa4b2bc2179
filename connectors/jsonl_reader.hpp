#pragma once
// Reads a JSON Lines stream and parses each line into an input event on a background
// thread, handing over batches in input order, so parsing overlaps processing.
#include <condition_variable>
#include <deque>
#include <istream>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/case.hpp"
#include "engine/org.hpp"
#include "engine/result.hpp"

namespace gridcase::json {

struct ParsedLine {
  uint64_t lineno = 0;     // 1-based
  uint64_t bytes_end = 0;  // bytes read up to the end of this line
  Result<InputEvent> event = Error{};
};

class JsonlReader {
 public:
  // `in` and `org` must outlive the reader. Blank lines are skipped.
  JsonlReader(std::istream& in, const Org& org, size_t batch_lines = 512, size_t max_batches = 16);
  ~JsonlReader();
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // The next batch in input order; empty once the stream is exhausted.
  std::vector<ParsedLine> next();
  // Lines read so far, blank ones included (for the progress display).
  uint64_t lines_read() const;

 private:
  void run();

  std::istream& in_;
  const Org& org_;
  size_t batch_lines_;
  size_t max_batches_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<ParsedLine>> queue_;
  bool done_ = false;
  bool stop_ = false;
  uint64_t lines_ = 0;
  std::thread thread_;
};

}  // namespace gridcase::json
