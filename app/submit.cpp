#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/commands.hpp"
#include "connectors/json_events.hpp"
#include "connectors/kafka.hpp"
#include "storage/local_log.hpp"

namespace gridcase::app {

int run_submit(const SubmitOptions& opt) {
  std::string content;
  if (opt.file == "-") {
    content.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(opt.file, std::ios::binary);
    if (!in) {
      std::cerr << "gridcase submit: cannot read " << opt.file << '\n';
      return 2;
    }
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!content.empty() && content.back() != '\n') content.push_back('\n');
  size_t lines = std::count(content.begin(), content.end(), '\n');
  if (!opt.kafka.empty()) {
    // Key = the origin grid, so all events of one grid share a partition (and stay in order).
    std::vector<std::pair<std::string, std::string>> records;
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      std::string line = content.substr(start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      records.emplace_back(json::grid_of_event(line), line);
    }
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.input_topic = opt.topic;
    ko.partitions = opt.partitions;
    if (auto r = kafka::ensure_topics(ko); !r.ok()) {
      std::cerr << "gridcase submit: Kafka " << opt.kafka << ": " << r.error().message << '\n';
      return 2;
    }
    if (auto r = kafka::produce_lines(ko, records, ko.input_topic); !r.ok()) {
      std::cerr << "gridcase submit: " << r.error().message << '\n';
      return 2;
    }
    std::cerr << "已提交 submitted " << records.size() << " 行 lines to " << ko.input_topic << '\n';
    return 0;
  }
  auto r = spool_write((std::filesystem::path(opt.state_dir) / "spool").string(), content);
  if (!r.ok()) {
    std::cerr << "gridcase submit: " << r.error().message << '\n';
    return 2;
  }
  std::cerr << "已提交 submitted " << lines << " 行 lines to " << opt.state_dir << '\n';
  return 0;
}

}  // namespace gridcase::app
