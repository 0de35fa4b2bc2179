// Latency of `gridcase serve` on Kafka: produces the input events of a JSON Lines file to
// the input topic at a fixed rate (key = grid, like gridcase submit) and reads the case
// events topic; the latency of a report is from just before its produce call to the arrival
// of the case event that names its report_id (`opened` or `report_merged`). Other events of
// the file (actions on the cases it opened) are produced at the same pace, as load, and not
// timed. Each event's `at` is set to the moment it is produced, as an event reaching a
// running system has it: the engine's clock then follows the wall clock (the dates in the
// file would move the clock, and with it every SLA timer, to them). Prints p50, p99, p99.9
// and max, and the p99 of each second. Past the first 2 s, each report's time is also split
// at the case event's Kafka timestamp (set when the engine produced it; both clocks are
// this machine's): the input's way in and the engine's work, then the case event's way out.
//   kafka_latency_bench BROKERS INPUT_TOPIC CASE_EVENTS_TOPIC EVENTS.jsonl RATE SECONDS
// RATE counts input events of any type. The topic read may also be a bare pipe's output
// (the input passed on as it is): then the report_id is found inside "report".
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/time.hpp"

using Clock = std::chrono::steady_clock;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The p-quantile of v (sorted here); 0 for none.
double quantile(std::vector<double>& v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s BROKERS INPUT CASE_EVENTS EVENTS.jsonl RATE SECONDS\n",
                 argv[0]);
    return 2;
  }
  const std::string brokers = argv[1], in = argv[2], out = argv[3];
  const double rate = std::atof(argv[5]);
  const double seconds = std::atof(argv[6]);
  const size_t total = static_cast<size_t>(rate * seconds);

  struct Line {
    std::string id;  // the report's id; "" for other events (not timed)
    std::string grid;
    std::string head, tail;  // the event's text before and after the value of "at"
  };
  std::vector<Line> lines;
  size_t reports = 0;
  {
    std::ifstream f(argv[4]);
    std::string s;
    while (lines.size() < total && std::getline(f, s)) {
      auto j = nlohmann::json::parse(s, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;
      bool report = j.value("type", "") == "report";
      std::string grid = report ? j["report"].value("grid", "") : j.value("grid", "");
      j["at"] = "@";  // replaced when it is produced
      std::string text = j.dump();
      size_t at = text.find("\"at\":\"@\"") + 6;
      std::string id = report ? j["report"].value("report_id", "") : "";
      if (!id.empty()) ++reports;
      lines.push_back({std::move(id), std::move(grid), text.substr(0, at), text.substr(at + 1)});
    }
  }
  if (lines.size() < total || reports == 0) {
    std::fprintf(stderr, "only %zu events (%zu reports) in the file, %zu needed\n", lines.size(),
                 reports, total);
    return 2;
  }

  char err[512];
  rd_kafka_conf_t* cc = rd_kafka_conf_new();
  rd_kafka_conf_set(cc, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(cc, "group.id",
                    ("latency-" + std::to_string(Clock::now().time_since_epoch().count())).c_str(),
                    err, sizeof err);
  rd_kafka_conf_set(cc, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_conf_set(cc, "isolation.level", "read_committed", err, sizeof err);
  rd_kafka_conf_set(cc, "fetch.wait.max.ms", "5", err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, out.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  // Wait until the consumer holds its partitions, so no latency includes the group join.
  for (;;) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (m) rd_kafka_message_destroy(m);
    rd_kafka_topic_partition_list_t* a = nullptr;
    rd_kafka_assignment(consumer, &a);
    bool assigned = a && a->cnt > 0;
    if (a) rd_kafka_topic_partition_list_destroy(a);
    if (assigned) break;
  }

  std::mutex mu;
  struct Sent {
    Clock::time_point at;
    int64_t wall_ms;  // the same moment on the system clock (to compare with Kafka timestamps)
  };
  std::unordered_map<std::string, Sent> sent;
  std::vector<double> latencies_ms;
  std::vector<std::vector<double>> by_second;  // latencies by the second they were sent in
  // Past the first 2 s: sent -> the case event produced, and produced -> received (ms).
  std::vector<double> to_produce_ms, produce_to_seen_ms;
  Clock::time_point start;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 50);
      if (!m) continue;
      // Only a message that names a report is parsed (about one case event in five): the
      // reader's own CPU is taken from the two cores the engine and the broker share.
      const std::string_view text(static_cast<const char*>(m->payload), m->len);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && text.find("\"report_id\"") != text.npos) {
        auto now = Clock::now();
        const int64_t now_wall = wall_ms();
        auto j = nlohmann::json::parse(text, nullptr, false);
        // A case event names its report at the top; a report passed on as it is (the bare
        // pipe, as a baseline) inside "report".
        std::string id;
        if (!j.is_discarded() && j.contains("report_id")) {
          id = j["report_id"].get<std::string>();
        } else if (!j.is_discarded() && j.contains("report")) {
          id = j["report"].value("report_id", "");
        }
        if (!id.empty()) {
          std::lock_guard lock(mu);
          auto it = sent.find(id);
          if (it != sent.end()) {
            double ms = std::chrono::duration<double, std::milli>(now - it->second.at).count();
            latencies_ms.push_back(ms);
            auto sec =
                static_cast<size_t>(std::chrono::duration<double>(it->second.at - start).count());
            if (by_second.size() <= sec) by_second.resize(sec + 1);
            by_second[sec].push_back(ms);
            rd_kafka_timestamp_type_t type;
            const int64_t produced = rd_kafka_message_timestamp(m, &type);
            if (sec >= 2 && type == RD_KAFKA_TIMESTAMP_CREATE_TIME) {
              to_produce_ms.push_back(static_cast<double>(produced - it->second.wall_ms));
              produce_to_seen_ms.push_back(static_cast<double>(now_wall - produced));
            }
            sent.erase(it);
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
  });

  rd_kafka_conf_t* pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(pc, "linger.ms", "1", err, sizeof err);
  rd_kafka_conf_set(pc, "partitioner", "murmur2_random", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  {
    std::lock_guard lock(mu);
    start = Clock::now();
  }
  for (size_t i = 0; i < total; ++i) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(i) / rate));
    std::this_thread::sleep_until(due);  // the load's pace, not a synchronisation
    auto now_ms = wall_ms();
    if (!lines[i].id.empty()) {
      std::lock_guard lock(mu);
      sent[lines[i].id] = {Clock::now(), now_ms};
    }
    std::string text = lines[i].head + gridcase::format_timestamp({now_ms}) + lines[i].tail;
    rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(in.c_str()),
                      RD_KAFKA_V_KEY(lines[i].grid.data(), lines[i].grid.size()),
                      RD_KAFKA_V_VALUE(text.data(), text.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 30000);
  // Give the last reports up to 30 s to come out.
  auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (sent.empty() || Clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  done = true;
  reader.join();
  // Where the tail is: p99 of each second's reports (the first second includes the first
  // produce to a new topic, its metadata and the engine's first batches).
  std::fprintf(stderr, "p99 by second sent:");
  for (auto& v : by_second) std::fprintf(stderr, " %.0f", quantile(v, 0.99));
  std::fprintf(stderr, " ms\n");
  // Past the start: the reports sent after the first two seconds (new topics' first
  // produce, the engine's first batches and the broker's warm-up are in those).
  std::vector<double> steady;
  for (size_t sec = 2; sec < by_second.size(); ++sec) {
    steady.insert(steady.end(), by_second[sec].begin(), by_second[sec].end());
  }
  const double p50 = quantile(latencies_ms, 0.5), p99 = quantile(latencies_ms, 0.99);
  std::printf(
      "latency: %zu reports among %zu input events at %.0f/s over %.0f s, %zu not seen: p50 "
      "%.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms; past the first 2 s: p50 %.1f ms, "
      "p99 %.1f ms\n",
      reports, total, rate, seconds, sent.size(), p50, p99, quantile(latencies_ms, 0.999),
      quantile(latencies_ms, 1.0), quantile(steady, 0.5), quantile(steady, 0.99));
  // Which way the time went (millisecond timestamps: ±1 ms each).
  std::printf(
      "split past the first 2 s: sent -> case event produced p50 %.0f ms, p99 %.0f ms; "
      "produced -> received p50 %.0f ms, p99 %.0f ms\n",
      quantile(to_produce_ms, 0.5), quantile(to_produce_ms, 0.99),
      quantile(produce_to_seen_ms, 0.5), quantile(produce_to_seen_ms, 0.99));
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  return sent.empty() ? 0 : 1;
}
