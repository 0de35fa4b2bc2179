// gridcase export: the recorded input (the input topic of Kafka, or of the embedded log) as
// JSON Lines for `whatif` and `simulate`: the events whose `at` lies in [--from, --to), in
// the order of `at` (docs/lifecycle.md).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "connectors/kafka.hpp"
#include "engine/time.hpp"
#include "storage/local_log.hpp"

namespace gridcase::app {

namespace fs = std::filesystem;

namespace {

struct Line {
  int64_t at;
  std::string text;
};

}  // namespace

int run_export(const ExportOptions& opt) {
  std::optional<Timestamp> from, to;
  for (auto [text, into, flag] : {std::tuple{&opt.from, &from, "--from"}, {&opt.to, &to, "--to"}}) {
    if (!*text) continue;
    auto t = parse_timestamp(**text);
    if (!t.ok()) {
      std::cerr << "gridcase export: " << flag << " '" << **text << "': " << t.error().message
                << " (RFC 3339, e.g. 2026-06-01T00:00:00Z)\n";
      return 2;
    }
    *into = t.value();
  }
  std::vector<Line> lines;
  uint64_t read = 0, outside = 0, unreadable = 0;
  auto take = [&](std::string&& payload, const std::string& where) {
    ++read;
    if (read % 10000 == 0) std::cerr << "已读取 read " << read << " records\n";
    auto j = nlohmann::json::parse(payload, nullptr, false);
    std::optional<Timestamp> at;
    if (j.is_object() && j.contains("at") && j["at"].is_string()) {
      if (auto t = parse_timestamp(j["at"].get<std::string>()); t.ok()) at = t.value();
    }
    if (!at) {
      // Kept out: it has no time to be placed by (it went to the dead letters anyway).
      ++unreadable;
      if (unreadable <= 5) {
        std::cerr << where << ": 无法读取 \"at\"，已跳过 / no readable \"at\", skipped\n";
      }
      return;
    }
    if ((from && *at < *from) || (to && !(*at < *to))) {
      ++outside;
      return;
    }
    lines.push_back({at->ms, std::move(payload)});
  };
  if (!opt.kafka.empty()) {
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.client_id = "gridcase-export";
    // Records are written after what they report: nothing from before --from is needed.
    std::optional<int64_t> seek_ms;
    if (from) seek_ms = from->ms;
    auto reader = kafka::TopicReader::open(ko, opt.topic, seek_ms);
    if (!reader.ok()) {
      std::cerr << "gridcase export: " << reader.error().message << '\n';
      return 2;
    }
    auto done = reader.value()->read_to_end(ko.timeout_ms, [&](kafka::TopicRecord&& r) {
      take(std::move(r.value),
           opt.topic + " [" + std::to_string(r.partition) + "] offset " + std::to_string(r.offset));
    });
    if (!done.ok()) {
      std::cerr << "gridcase export: " << done.error().message << '\n';
      return 2;
    }
  } else {
    std::string scratch =
        (fs::temp_directory_path() / ("gridcase-export-" + std::to_string(::getpid()))).string();
    auto log = LocalLog::open_follower((fs::path(opt.state_dir) / "log").string(), scratch);
    if (!log.ok()) {
      std::cerr << "gridcase export: " << log.error().message << '\n';
      return 2;
    }
    for (int64_t next = 0;;) {
      auto recs = (*log)->read(opt.topic, next, 10000);
      if (!recs.ok()) {
        std::cerr << "gridcase export: " << recs.error().message << '\n';
        return 2;
      }
      if (recs->empty()) break;
      next = recs->back().offset + 1;
      for (auto& r : *recs) {
        take(std::move(r.payload), opt.topic + " offset " + std::to_string(r.offset));
      }
    }
    std::error_code ec;
    fs::remove_all(scratch, ec);
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.at < b.at; });
  std::ofstream file;
  if (opt.out != "-") {
    file.open(opt.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "gridcase export: cannot write " << opt.out << '\n';
      return 2;
    }
  }
  std::ostream& out = opt.out == "-" ? std::cout : file;
  for (const auto& l : lines) out << l.text << '\n';
  out.flush();
  if (!out) {
    std::cerr << "gridcase export: write error on " << opt.out << '\n';
    return 2;
  }
  std::cerr << "导出 exported " << lines.size() << " 条输入 events of " << read << " read ("
            << outside << " 在时间范围外 outside the range, " << unreadable
            << " 无时间 without a readable at)\n";
  return 0;
}

}  // namespace gridcase::app
