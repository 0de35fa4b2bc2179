#pragma once
// Prometheus text exposition: request counters by route template and status, and a
// histogram the service feeds (batch latency). Thread-safe; rendering copies under a lock.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace gridcase::http {

class RequestCounters {
 public:
  // `route` is the template ("/v1/cases/{id}"), never the raw path: bounded label values.
  void count(std::string_view method, std::string_view route, int status);
  uint64_t get(std::string_view method, std::string_view route, int status) const;
  void render(std::string& out) const;

 private:
  mutable std::mutex mu_;
  // Key "METHOD\nROUTE\nSTATUS", built in a per-thread buffer: no allocation per request.
  std::map<std::string, uint64_t> counts_;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // seconds, ascending
  void observe(double value);
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // non-cumulative; rendered cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// One sample line: name{labels} value.
void metric_line(std::string& out, std::string_view name, std::string_view labels, double value);
void metric_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help);

}  // namespace gridcase::http
