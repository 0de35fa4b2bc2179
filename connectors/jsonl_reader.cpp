#include "connectors/jsonl_reader.hpp"

#include "connectors/json_events.hpp"

namespace gridcase::json {

JsonlReader::JsonlReader(std::istream& in, const Org& org, size_t batch_lines, size_t max_batches)
    : in_(in), org_(org), batch_lines_(batch_lines), max_batches_(max_batches) {
  thread_ = std::thread([this] { run(); });
}

JsonlReader::~JsonlReader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void JsonlReader::run() {
  std::string line;
  uint64_t lineno = 0, bytes = 0;
  std::vector<ParsedLine> batch;
  auto hand_over = [&]() -> bool {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || queue_.size() < max_batches_; });
    if (stop_) return false;
    lines_ = lineno;
    queue_.push_back(std::move(batch));
    batch.clear();
    cv_.notify_all();
    return true;
  };
  while (std::getline(in_, line)) {
    ++lineno;
    bytes += line.size() + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ParsedLine p;
    p.lineno = lineno;
    p.bytes_end = bytes;
    p.event = parse_input_event(line, org_);
    batch.push_back(std::move(p));
    if (batch.size() >= batch_lines_ && !hand_over()) return;
  }
  if (!batch.empty() && !hand_over()) return;
  std::lock_guard lock(mu_);
  lines_ = lineno;
  done_ = true;
  cv_.notify_all();
}

std::vector<ParsedLine> JsonlReader::next() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  std::vector<ParsedLine> b = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  return b;
}

uint64_t JsonlReader::lines_read() const {
  std::lock_guard lock(mu_);
  return lines_;
}

}  // namespace gridcase::json
