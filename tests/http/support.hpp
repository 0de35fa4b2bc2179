#pragma once
// Shared by the HTTP tests: a small org with every role, a CaseViews fake, an HTTP client.
#include <utility>  // before Asio: 1.74 needs it for std::exchange in C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/org.hpp"
#include "engine/views.hpp"

namespace gridcase::http::testing {

// county zhiduo
//   township t1: village v1 (grids g1, g2), village v2 (grid g3)
//   township t2: village v3 (grid g4)
inline constexpr const char* kOrgYaml = R"yaml(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: zhiduo
    name: 治多县
    level: county
    children:
      - id: t1
        name: 一镇
        level: township
        children:
          - id: v1
            name: 一村
            level: village
            children:
              - { id: g1, name: 一网格, level: grid }
              - { id: g2, name: 二网格, level: grid }
          - id: v2
            name: 二村
            level: village
            children:
              - { id: g3, name: 三网格, level: grid }
      - id: t2
        name: 二乡
        level: township
        children:
          - id: v3
            name: 三村
            level: village
            children:
              - { id: g4, name: 四网格, level: grid }
people:
  - { id: w1, name: 才仁, unit: g1, role: grid_worker, phone: "138-0000-0001" }
  - { id: gh2, name: 卓玛, unit: g2, role: grid_head }
  - { id: gi1, name: 拉毛, unit: v1, role: grid_instructor }
  - { id: vo1, name: 索南, unit: v1, role: village_officer }
  - { id: co2, name: 尼玛, unit: v2, role: community_officer }
  - { id: to1, name: 央金, unit: t1, role: township_officer }
  - { id: cty, name: 扎西, unit: zhiduo, role: county_officer }
  - { id: adm, name: 多杰, unit: zhiduo, role: admin, phone: "+86 13800000009" }
  - { id: w4, name: 白玛, unit: g4, role: grid_worker, phone: "13800000004" }
  - { id: vis, name: 访客, unit: g1, role: visitor, phone: "13800000007" }
)yaml";

inline Org load_test_org() {
  Diagnostics d;
  auto org = load_org_text(kOrgYaml, "test-org.yaml", d);
  if (!org) std::abort();
  return std::move(*org);
}

// CaseViews over a list of cases and a feed, enough to check the API's scoping.
class FakeViews final : public CaseViews {
 public:
  explicit FakeViews(const Org& org) : org_(org) {}

  void add_case(CaseSummary c, std::vector<std::string> timeline = {}) {
    std::lock_guard g(mu_);
    timelines_[c.case_id] = std::move(timeline);
    cases_.push_back(std::move(c));
  }
  uint64_t add_feed(std::string case_id, std::vector<std::string> units, std::string json,
                    std::string type = "transition") {
    std::lock_guard g(mu_);
    FeedEntry e;
    e.id = feed_.size() + 1;
    e.case_id = std::move(case_id);
    e.seq = 1;
    e.type = std::move(type);
    e.units = std::move(units);
    e.json = std::move(json);
    feed_.push_back(std::move(e));
    return feed_.size();
  }
  // What detail() adds to a case's summary: its workflow version and opening report.
  void set_detail(const std::string& case_id, int64_t version, std::optional<CaseReport> report) {
    std::lock_guard g(mu_);
    details_[case_id] = {version, std::move(report)};
  }
  Result<std::optional<CaseDetail>> detail(std::string_view id) override {
    auto s = summary(id);
    if (!s.ok()) return s.error();
    if (!s.value()) return std::optional<CaseDetail>();
    CaseDetail d;
    d.summary = *s.value();
    std::lock_guard g(mu_);
    if (auto it = details_.find(std::string(id)); it != details_.end()) {
      d.workflow_version = it->second.first;
      d.report = it->second.second;
    }
    return std::optional<CaseDetail>(std::move(d));
  }
  CaseQuery last_query() {
    std::lock_guard g(mu_);
    return last_;
  }

  Result<CasePage> inbox(const CaseQuery& q) override { return page(q, true); }
  Result<CasePage> cases(const CaseQuery& q) override { return page(q, false); }
  Result<std::optional<CaseSummary>> summary(std::string_view id) override {
    std::lock_guard g(mu_);
    for (const auto& c : cases_) {
      if (c.case_id == id) return std::optional<CaseSummary>(c);
    }
    return std::optional<CaseSummary>();
  }
  Result<std::vector<std::string>> timeline(std::string_view id) override {
    std::lock_guard g(mu_);
    auto it = timelines_.find(std::string(id));
    if (it == timelines_.end()) return std::vector<std::string>{};
    return it->second;
  }
  Result<std::vector<FeedEntry>> feed(uint64_t after, size_t max) override {
    std::lock_guard g(mu_);
    std::vector<FeedEntry> out;
    for (const auto& e : feed_) {
      if (e.id > after && out.size() < max) out.push_back(e);
    }
    return out;
  }
  uint64_t feed_head() override {
    std::lock_guard g(mu_);
    return feed_.size();
  }
  Result<UnitStats> stats(std::string_view unit, Timestamp, Timestamp) override {
    UnitStats s;
    s.unit = std::string(unit);
    s.opened = 3;
    s.closed = 2;
    s.closed_at_grid_share = 0.5;
    s.open_by_level = {{"grid", 1}};
    return s;
  }

 private:
  Result<CasePage> page(const CaseQuery& q, bool open_only) {
    std::lock_guard g(mu_);
    last_ = q;
    CasePage p;
    UnitIdx root = org_.find_unit(q.unit);
    for (const auto& c : cases_) {
      if (open_only && c.closed) continue;
      if (!org_.in_subtree(org_.find_unit(c.unit), root)) continue;
      if (!q.level.empty() && c.level != q.level) continue;
      p.items.push_back(c);
    }
    return p;
  }
  const Org& org_;
  std::mutex mu_;
  std::vector<CaseSummary> cases_;
  std::map<std::string, std::vector<std::string>> timelines_;
  std::map<std::string, std::pair<int64_t, std::optional<CaseReport>>> details_;
  std::vector<FeedEntry> feed_;
  CaseQuery last_;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = false;
};

// A keep-alive HTTP/1.1 client (Beast, synchronous) with a receive timeout so that a
// broken server fails the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    namespace net = boost::asio;
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{30, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response request(const std::string& method, const std::string& target,
                   const std::string& body = "",
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    if (req.method() == bhttp::verb::unknown) req.method_string(method);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST") {
      req.body() = body;
      req.prepare_payload();
    }
    bhttp::write(socket_, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(method == "HEAD");  // no body follows the headers of a HEAD answer
    bhttp::read(socket_, buffer_, parser);
    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string().data(), f.name_string().size());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      out.headers[name] = std::string(f.value().data(), f.value().size());
    }
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    return out;
  }

  // Raw bytes out; everything the server sends until it closes.
  std::string raw(const std::string& bytes, bool close_write = false) {
    boost::asio::write(socket_, boost::asio::buffer(bytes));
    if (close_write) socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send);
    return read_to_end();
  }
  std::string read_to_end() {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
  // Reads until `needle` has appeared `times` times (SSE).
  std::string read_until_count(const std::string& needle, size_t times) {
    std::string out;
    char buf[4096];
    auto count = [&] {
      size_t n = 0, p = 0;
      while ((p = out.find(needle, p)) != std::string::npos) {
        ++n;
        p += needle.size();
      }
      return n;
    };
    while (count() < times) {
      boost::system::error_code ec;
      size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
  void send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace gridcase::http::testing
