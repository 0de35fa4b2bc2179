#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/commands.hpp"
#include "connectors/json_events.hpp"
#include "connectors/kafka.hpp"
#include "storage/local_log.hpp"

namespace gridcase::app {

int run_tail(const TailOptions& opt) {
  if (!opt.kafka.empty() && !opt.follow) {
    // Kafka, once: every partition from its first record to its end, outside any group.
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.client_id = "gridcase-tail";
    auto reader = kafka::TopicReader::open(ko, opt.topic);
    if (!reader.ok()) {
      std::cerr << "gridcase tail: " << reader.error().message << '\n';
      return 2;
    }
    auto done = reader.value()->read_to_end(
        ko.timeout_ms, [](kafka::TopicRecord&& r) { std::cout << r.value << '\n'; });
    if (!done.ok()) {
      std::cerr << "gridcase tail: " << done.error().message << '\n';
      return 2;
    }
    std::cout.flush();
    return 0;
  }
  if (!opt.kafka.empty()) {
    // Kafka, --follow: read the topic from the beginning with a throwaway group until
    // SIGINT.
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.input_topic = opt.topic;
    ko.group_id = "gridcase-tail-" + std::to_string(::getpid());
    ko.group_instance_id = "";
    auto src = kafka::KafkaSource::open(ko);
    if (!src.ok()) {
      std::cerr << "gridcase tail: " << src.error().message << '\n';
      return 2;
    }
    if (auto r = (*src)->seek({}); !r.ok()) {
      std::cerr << "gridcase tail: " << r.error().message << '\n';
      return 2;
    }
    install_stop_handlers();
    while (!g_stop.load()) {
      auto recs = (*src)->poll(1000, 200);
      if (!recs.ok()) {
        std::cerr << "gridcase tail: " << recs.error().message << '\n';
        return 2;
      }
      for (const auto& r : *recs) std::cout << r.payload << '\n';
      std::cout.flush();
    }
    std::cout.flush();
    return 0;
  }
  namespace fs = std::filesystem;
  std::string scratch =
      (fs::temp_directory_path() / ("gridcase-tail-" + std::to_string(::getpid()))).string();
  auto log = LocalLog::open_follower((fs::path(opt.state_dir) / "log").string(), scratch);
  if (!log.ok()) {
    std::cerr << "gridcase tail: " << log.error().message << '\n';
    return 2;
  }
  install_stop_handlers();
  int64_t next = opt.from_beginning ? 0 : (*log)->end_offset(opt.topic);
  do {
    if (auto r = (*log)->catch_up(); !r.ok()) {
      std::cerr << "gridcase tail: " << r.error().message << '\n';
      return 2;
    }
    for (;;) {
      auto recs = (*log)->read(opt.topic, next, 1000);
      if (!recs.ok()) {
        std::cerr << "gridcase tail: " << recs.error().message << '\n';
        return 2;
      }
      if (recs->empty()) break;
      for (const auto& r : *recs) std::cout << r.payload << '\n';
      next = recs->back().offset + 1;
    }
    std::cout.flush();
    if (opt.follow) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (opt.follow && !g_stop.load());
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return 0;
}

}  // namespace gridcase::app
