#include "connectors/http/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace gridcase::http {

namespace {

// Label values are route templates and methods: no quotes or backslashes, but be safe.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void metric_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void metric_line(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += number(value);
  out += '\n';
}

namespace {

const std::string& counter_key(std::string_view method, std::string_view route, int status) {
  thread_local std::string key;
  key.assign(method);
  key += '\n';
  key += route;
  key += '\n';
  key += std::to_string(status);
  return key;
}

}  // namespace

void RequestCounters::count(std::string_view method, std::string_view route, int status) {
  const std::string& key = counter_key(method, route, status);
  std::lock_guard g(mu_);
  auto it = counts_.find(key);
  if (it != counts_.end()) {
    ++it->second;
    return;
  }
  counts_.emplace(key, 1);
}

uint64_t RequestCounters::get(std::string_view method, std::string_view route, int status) const {
  const std::string& key = counter_key(method, route, status);
  std::lock_guard g(mu_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

void RequestCounters::render(std::string& out) const {
  std::lock_guard g(mu_);
  metric_header(out, "gridcase_http_requests_total", "counter",
                "HTTP requests by method, route template and status");
  for (const auto& [k, n] : counts_) {
    size_t a = k.find('\n'), b = k.rfind('\n');
    std::string_view key = k;
    metric_line(out, "gridcase_http_requests_total",
                "method=\"" + escape_label(key.substr(0, a)) + "\",route=\"" +
                    escape_label(key.substr(a + 1, b - a - 1)) + "\",status=\"" +
                    std::string(key.substr(b + 1)) + "\"",
                static_cast<double>(n));
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard g(mu_);
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++buckets_[i];
  ++count_;
  sum_ += value;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  std::lock_guard g(mu_);
  metric_header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    metric_line(out, bucket, "le=\"" + number(bounds_[i]) + "\"", static_cast<double>(cumulative));
  }
  cumulative += buckets_.back();
  metric_line(out, bucket, "le=\"+Inf\"", static_cast<double>(cumulative));
  metric_line(out, std::string(name) + "_sum", "", sum_);
  metric_line(out, std::string(name) + "_count", "", static_cast<double>(count_));
}

}  // namespace gridcase::http
