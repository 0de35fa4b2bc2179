// The real server over real HTTP on 127.0.0.1, with the embedded log (RocksDB in a temp
// dir) behind the intake and a fake CaseViews. No sleeps: the tests wait on what they
// observe (responses, the intake's appends).
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "connectors/http/server.hpp"
#include "connectors/json_events.hpp"
#include "storage/local_log.hpp"
#include "tests/http/support.hpp"

namespace gridcase::http {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Client;
using testing::FakeViews;
using testing::Response;

constexpr const char* kTopic = "gridcase.input";

// A workflow for the actions of GET /v1/cases/{id}: `by` and `when` as the DSL writes them,
// a timer event and the engine's own events (never offered).
constexpr const char* kWorkflowYaml = R"yaml(apiVersion: gridcase/v1
kind: Workflow
name: grid-escalation
levels: [grid, village, township, county]
sla: { grid: 24h }
initial: triage
states:
  triage:
    on:
      opened: { goto: handling }
  handling:
    sla: true
    timers:
      - { after: 12h, event: remind, repeat: true }
    on:
      accept: { by: assignee }
      comment: { by: any }
      resolve: { by: [assignee, supervisor], goto: verifying }
      escalate: { level: up, by: assignee }
      return: { when: 'case.level != "grid" && size(event.note) > 0', level: down, by: supervisor }
      remind: { notify: [assignee] }
      sla_expired: { level: up }
  verifying:
    on:
      verify: { goto: closed, by: supervisor }
  closed:
    final: true
)yaml";

std::shared_ptr<WorkflowCatalog> make_catalog(const Org& org) {
  Diagnostics d;
  auto v1 = load_workflow_text(kWorkflowYaml, "workflows/grid-escalation.yaml", &org, d);
  if (!v1) std::abort();
  v1->version = 1;
  v1->hash = "aaaa";
  // Version 2 lets the co-handlers comment only, and adds `suspend`.
  std::string text2 = kWorkflowYaml;
  text2.replace(text2.find("comment: { by: any }"), 20,
                "comment: { by: co_handler }\n      suspend: { by: supervisor }");
  auto v2 = load_workflow_text(text2, "workflows/grid-escalation.yaml", &org, d);
  if (!v2) std::abort();
  v2->version = 2;
  v2->hash = "bbbb";
  auto catalog = std::make_shared<WorkflowCatalog>();
  std::vector<Workflow> all;
  all.push_back(std::move(*v1));
  all.push_back(std::move(*v2));
  catalog->sync(all, [&](const std::string& name, int64_t version) {
    WorkflowInfo i;
    i.deployed_at = "2026-06-0" + std::to_string(version) + "T08:00:00Z";
    i.actor = "adm";
    i.text = version == 1 ? std::string(kWorkflowYaml) : text2;
    (void)name;
    return std::optional<WorkflowInfo>(i);
  });
  return catalog;
}
const Timestamp kNow{1781253000000};  // 2026-06-12T08:30:00Z

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gridcase-http-" + random_hex(6));
    fs::create_directories(dir_);
    log_ = std::move(LocalLog::open((dir_ / "log").string())).value();
    tokens_ = std::move(TokenStore::open((dir_ / "tokens.json").string())).value();
    for (const char* p : {"w1", "gh2", "gi1", "vo1", "co2", "to1", "cty", "adm", "w4", "vis"}) {
      token_[p] = tokens_->add(p, "", "person").value();
    }
    token_["gateway"] = tokens_->add("", "gw", "sms_gateway").value();
    intake_ = std::make_unique<GroupCommitIntake>(
        [this](const std::vector<IntakeRecord>& records) -> Result<bool> {
          if (fail_appends_) return err("disk on fire");
          std::vector<std::pair<std::string, std::string>> kv;
          for (const auto& r : records) kv.emplace_back(r.key, r.payload);
          auto r = log_->append(kTopic, kv);
          if (!r.ok()) return r.error();
          {
            std::lock_guard g(mu_);
            appended_ += records.size();
          }
          cv_.notify_all();
          return true;
        });
    views_ = std::make_shared<FakeViews>(org_);
    CaseSummary c1;
    c1.case_id = "c-g1";
    c1.workflow = "grid-escalation";
    c1.state = "handling";
    c1.level = "grid";
    c1.unit = "g1";
    c1.grid = "g1";
    c1.category = "sanitation";
    c1.sla_due = Timestamp{kNow.ms - 1000};
    views_->add_case(c1, {R"({"case_id": "c-g1", "seq": 1, "type": "opened"})"});
    CaseSummary c4 = c1;
    c4.case_id = "c-g4";
    c4.unit = "v3";
    c4.level = "village";
    c4.grid = "g4";
    views_->add_case(c4);
    catalog_ = make_catalog(org_);
  }

  void TearDown() override {
    server_.reset();
    intake_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }

  void start(ServerOptions o = {}, bool with_views = true) {
    o.listen = "127.0.0.1:0";
    if (o.api.rate_per_second == ApiOptions{}.rate_per_second) o.api.rate_per_second = 0;
    ApiDeps deps;
    deps.org = &org_;
    deps.tokens = tokens_.get();
    deps.intake = intake_.get();
    if (with_views) deps.views = views_;
    if (with_views) deps.workflows = catalog_;
    deps.recorded_input = [this](size_t max) -> Result<std::vector<std::string>> {
      std::lock_guard g(mu_);
      size_t from = recorded_.size() > max ? recorded_.size() - max : 0;
      return std::vector<std::string>(recorded_.begin() + static_cast<ptrdiff_t>(from),
                                      recorded_.end());
    };
    deps.now = [] { return kNow; };
    auto s = HttpServer::start(std::move(deps), o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s).value();
  }

  Response call(const std::string& method, const std::string& target, const std::string& who,
                const std::string& body = "",
                const std::string& content_type = "application/json") {
    Client c(server_->port());
    std::vector<std::pair<std::string, std::string>> h;
    if (!who.empty()) h.emplace_back("Authorization", "Bearer " + token_.at(who));
    if (!content_type.empty() && method == "POST") h.emplace_back("Content-Type", content_type);
    return c.request(method, target, body, h);
  }

  std::vector<SourceRecord> input() { return log_->read(kTopic, 0, 1000000).value(); }

  // Waits (on the intake's notification, not the clock) until `n` records were appended.
  void wait_appended(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return appended_ >= n; });
  }

  static json body(const Response& r) { return json::parse(r.body); }
  static std::vector<std::string> error_fields(const Response& r) {
    std::vector<std::string> out;
    for (const auto& f : json::parse(r.body)["error"].value("fields", json::array())) {
      out.push_back(f["field"]);
    }
    return out;
  }

  Org org_ = testing::load_test_org();
  fs::path dir_;
  std::unique_ptr<LocalLog> log_;
  std::unique_ptr<TokenStore> tokens_;
  std::map<std::string, std::string> token_;
  std::unique_ptr<GroupCommitIntake> intake_;
  std::shared_ptr<FakeViews> views_;
  std::shared_ptr<WorkflowCatalog> catalog_;
  std::vector<std::string> recorded_;  // what POST /v1/whatif replays
  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> fail_appends_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  size_t appended_ = 0;
};

// ---- operations ----

TEST_F(HttpServerTest, HealthReadinessMetricsAndTheDocument) {
  start();
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  auto ready = call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(body(ready)["checks"]["intake"], "ok");
  auto doc = call("GET", "/v1/openapi.json", "");
  EXPECT_EQ(doc.status, 200);
  EXPECT_TRUE(body(doc).contains("paths"));
  call("GET", "/v1/cases/c-g1", "vo1");
  call("GET", "/v1/nowhere", "");
  auto m = call("GET", "/metrics", "");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_NE(
      m.body.find(
          R"(gridcase_http_requests_total{method="GET",route="/v1/cases/{id}",status="200"} 1)"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find(R"(route="unmatched",status="404"} 1)"), std::string::npos);
  EXPECT_NE(m.body.find(R"(route="/healthz",status="200"} 1)"), std::string::npos);
}

TEST_F(HttpServerTest, ReadinessFailsWhenTheIntakeFails) {
  start();
  fail_appends_ = true;
  auto r = call("POST", "/v1/reports", "w1", R"({"grid": "g1", "category": "road"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(call("GET", "/readyz", "").status, 503);
  EXPECT_TRUE(input().empty());
}

// ---- identity ----

TEST_F(HttpServerTest, NoOrUnknownOrRevokedTokenIs401) {
  start();
  auto r = call("GET", "/v1/inbox", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(body(r)["error"]["code"], "unauthorized");
  Client c(server_->port());
  EXPECT_EQ(c.request("GET", "/v1/inbox", "", {{"Authorization", "Bearer gc_nope_nope"}}).status,
            401);
  EXPECT_EQ(c.request("GET", "/v1/inbox", "", {{"Authorization", "Basic abc"}}).status, 401);
  TokenInfo info;
  std::string t = tokens_->add("vo1", "", "person", &info).value();
  EXPECT_EQ(c.request("GET", "/v1/inbox", "", {{"Authorization", "Bearer " + t}}).status, 200);
  ASSERT_TRUE(tokens_->revoke(info.id).value());
  EXPECT_EQ(c.request("GET", "/v1/inbox", "", {{"Authorization", "Bearer " + t}}).status, 401);
}

// ---- reports ----

TEST_F(HttpServerTest, AReportIsDurableBeforeTheAnswerAndIsTheContractsInputEvent) {
  start();
  auto r = call("POST", "/v1/reports", "w1",
                R"({"report_id": "r-1", "grid": "g1", "category": "sanitation", "severity": 2,
                    "title": "垃圾堆积", "location": {"lat": 33.85, "lon": 95.6}})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(body(r), (json{{"case_id", "r-1"}, {"report_id", "r-1"}}));
  auto in = input();  // 202 came after the synced append: it is there now
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].key, "g1");
  auto ev = json::parse(in[0].payload);
  EXPECT_EQ(ev["at"], "2026-06-12T08:30:00Z");
  EXPECT_EQ(ev["report"]["reporter"], "w1");
  EXPECT_EQ(ev["report"]["reporter_unit"], "g1");
  EXPECT_EQ(ev["report"]["channel"], "app");
  auto parsed = gridcase::json::parse_input_event(in[0].payload, org_);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->report_id, "r-1");
  EXPECT_EQ(parsed->grid, "g1");
}

TEST_F(HttpServerTest, AReportWithoutAnIdGetsOne) {
  start();
  auto r = call("POST", "/v1/reports", "vo1", R"({"grid": "g2", "category": "road"})");
  ASSERT_EQ(r.status, 202);
  std::string id = body(r)["case_id"];
  EXPECT_TRUE(id.starts_with("r-20260612-")) << id;
  EXPECT_EQ(json::parse(input().at(0).payload)["report"]["report_id"], id);
}

TEST_F(HttpServerTest, RetriesGetTheSameAnswerAndWriteOnce) {
  start();
  const std::string report = R"({"report_id": "r-retry", "grid": "g1", "category": "road"})";
  auto first = call("POST", "/v1/reports", "w1", report);
  auto second = call("POST", "/v1/reports", "w1", report);
  EXPECT_EQ(first.status, 202);
  EXPECT_EQ(second.status, 202);
  EXPECT_EQ(first.body, second.body);
  EXPECT_EQ(second.headers["idempotent-replayed"], "true");
  // Concurrent retries: all get the same answer, one event.
  std::vector<std::future<Response>> f;
  for (int i = 0; i < 6; ++i) {
    f.push_back(std::async(std::launch::async, [&] {
      return call("POST", "/v1/reports", "w1",
                  R"({"report_id": "r-race", "grid": "g1", "category": "road"})");
    }));
  }
  for (auto& x : f) {
    auto r = x.get();
    EXPECT_EQ(r.status, 202);
    EXPECT_EQ(body(r)["case_id"], "r-race");
  }
  EXPECT_EQ(input().size(), 2u);
  // The same id for another grid is a conflict, not a retry.
  auto clash = call("POST", "/v1/reports", "vo1",
                    R"({"report_id": "r-retry", "grid": "g2", "category": "road"})");
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(input().size(), 2u);
}

TEST_F(HttpServerTest, AFailedAppendIsForgottenSoARetryWorks) {
  start();
  const std::string report = R"({"report_id": "r-f", "grid": "g1", "category": "road"})";
  fail_appends_ = true;
  EXPECT_EQ(call("POST", "/v1/reports", "w1", report).status, 503);
  fail_appends_ = false;
  EXPECT_EQ(call("POST", "/v1/reports", "w1", report).status, 202);
  EXPECT_EQ(input().size(), 1u);
}

TEST_F(HttpServerTest, ValidationListsEveryBadFieldAndWritesNothing) {
  start();
  auto r = call("POST", "/v1/reports", "w1",
                R"({"grid": "g4", "severity": 9, "households_affected": "many"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["error"]["code"], "validation_failed");
  EXPECT_EQ(error_fields(r),
            (std::vector<std::string>{"report.grid", "report.category", "report.severity",
                                      "report.households_affected"}));
  EXPECT_NE(r.body.find("不在您的辖区"), std::string::npos);
  r = call("POST", "/v1/reports", "w1", R"({"grid": "zz", "category": "road"})");
  EXPECT_EQ(error_fields(r), std::vector<std::string>{"report.grid"});
  r = call("POST", "/v1/reports", "w1", R"(["grid"])");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(input().empty());
}

TEST_F(HttpServerTest, MalformedBodiesAre400AndNothingIsWritten) {
  start();
  auto r = call("POST", "/v1/reports", "w1", R"({"grid": "g1", )");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["error"]["code"], "invalid_json");
  r = call("POST", "/v1/reports", "w1", "{\"grid\": \"g1\", \"category\": \"\xff\xfe\"}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["error"]["code"], "invalid_utf8");
  r = call("POST", "/v1/reports", "w1", R"({"grid": ["g1"], "category": {"a": 1}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_fields(r), (std::vector<std::string>{"report.grid", "report.category"}));
  r = call("POST", "/v1/reports", "w1", "grid=g1", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 415);
  EXPECT_TRUE(input().empty());
}

TEST_F(HttpServerTest, OversizedBodiesAre413) {
  ServerOptions o;
  o.api.body_limit = 1000;
  start(o);
  std::string big =
      R"({"grid": "g1", "category": "road", "description": ")" + std::string(2000, 'x') + "\"}";
  auto r = call("POST", "/v1/reports", "w1", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(body(r)["error"]["code"], "payload_too_large");
  EXPECT_FALSE(r.keep_alive);
  // Chunked, so the size shows only while reading.
  Client c(server_->port());
  std::string chunk(1500, 'y');
  std::string raw =
      c.raw("POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_["w1"] +
            "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5dc\r\n" +
            chunk + "\r\n0\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413")) << raw.substr(0, 80);
  EXPECT_TRUE(input().empty());
}

TEST_F(HttpServerTest, UnknownRoutesAndWrongMethods) {
  start();
  auto r = call("GET", "/v1/nothing", "w1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["error"]["code"], "not_found");
  r = call("GET", "/v1/reports", "w1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
  r = call("DELETE", "/v1/cases/c-g1", "vo1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
  EXPECT_TRUE(r.keep_alive);  // the request was read whole: the connection stays
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  start();
  Client c(server_->port());
  std::string out = c.raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
  Client d(server_->port());
  out = d.raw("POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
}

TEST_F(HttpServerTest, SlowClientsGet408AndAreClosed) {
  ServerOptions o;
  o.read_timeout = std::chrono::milliseconds(150);
  start(o);
  {
    // Headers that never end.
    Client c(server_->port());
    c.send("POST /v1/reports HTTP/1.1\r\nHost: x\r\n");
    std::string out = c.read_to_end();
    EXPECT_TRUE(out.starts_with("HTTP/1.1 408")) << out;
    EXPECT_NE(out.find("request_timeout"), std::string::npos);
  }
  {
    // A body that never comes in full.
    Client c(server_->port());
    c.send("POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_["w1"] +
           "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"grid\":");
    std::string out = c.read_to_end();
    EXPECT_TRUE(out.starts_with("HTTP/1.1 408")) << out;
  }
  {
    // An idle keep-alive connection is closed without a word.
    Client c(server_->port());
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    EXPECT_EQ(c.read_to_end(), "");
  }
  EXPECT_TRUE(input().empty());
}

TEST_F(HttpServerTest, RateLimitIsPerTokenWithRetryAfter) {
  ServerOptions o;
  o.api.rate_per_second = 0.001;  // one token per ~17 minutes: no refill during the test
  o.api.rate_burst = 2;
  start(o);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(call("POST", "/v1/reports", "w1", R"({"grid": "g1", "category": "road"})").status,
              202);
  }
  auto r = call("POST", "/v1/reports", "w1", R"({"grid": "g1", "category": "road"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_GE(std::stoi(r.headers["retry-after"]), 1);
  // Another token has its own bucket; reads are not limited.
  EXPECT_EQ(call("POST", "/v1/reports", "vo1", R"({"grid": "g1", "category": "road"})").status,
            202);
  EXPECT_EQ(call("GET", "/v1/inbox", "w1").status, 200);
  EXPECT_EQ(input().size(), 3u);
}

// ---- batch ----

TEST_F(HttpServerTest, BatchJsonLinesOneResultPerLine) {
  start();
  std::string body_text = R"({"report_id": "b-1", "grid": "g1", "category": "road"})"
                          "\n{not json\n"
                          R"({"report_id": "b-1", "grid": "g1", "category": "road"})"
                          "\n"
                          R"({"report_id": "b-3", "grid": "g4", "category": "road"})"
                          "\n\n"
                          "{\"report_id\": \"b-4\", \"grid\": \"g2\", \"category\": \"\xff\"}\r\n"
                          R"({"grid": "g1", "category": "noise", "severity": 5})"
                          "\n";
  auto r = call("POST", "/v1/reports/batch", "w1", body_text, "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_EQ(b["accepted"], 3);
  EXPECT_EQ(b["rejected"], 3);
  std::vector<std::pair<int, int>> got;
  for (const auto& x : b["results"]) got.emplace_back(x["line"], x["status"]);
  EXPECT_EQ(got, (std::vector<std::pair<int, int>>{
                     {1, 202}, {2, 400}, {3, 202}, {4, 400}, {6, 400}, {7, 202}}));
  EXPECT_EQ(b["results"][1]["error"]["code"], "invalid_json");
  EXPECT_EQ(b["results"][3]["error"]["fields"][0]["field"], "report.grid");
  EXPECT_EQ(b["results"][4]["error"]["code"], "invalid_utf8");
  EXPECT_EQ(b["results"][2]["case_id"], "b-1");
  auto in = input();
  ASSERT_EQ(in.size(), 2u);  // b-1 once, and the generated one
  EXPECT_EQ(json::parse(in[0].payload)["report"]["channel"], "batch");
  // The same batch again: same answers for the good lines, nothing new written.
  auto again =
      call("POST", "/v1/reports/batch", "w1",
           R"({"report_id": "b-1", "grid": "g1", "category": "road"})", "application/x-ndjson");
  EXPECT_EQ(body(again)["results"][0]["status"], 202);
  EXPECT_EQ(input().size(), 2u);
}

TEST_F(HttpServerTest, BatchCsvWithAHeader) {
  start();
  std::string csv =
      "report_id,grid,category,severity,title,lat,lon\r\n"
      "c-1,g1,sanitation,2,\"垃圾, 很多\",33.8,95.6\r\n"
      "c-2,g1,road,high,坑,,\r\n"
      "c-3,g1,road,1,\"bad\"quote,,\r\n"
      "c-4,g2,noise,3,\"两行\n说明\",,\r\n"
      "c-5,g1,road\r\n";
  auto r = call("POST", "/v1/reports/batch", "vo1", csv, "text/csv; charset=utf-8");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  std::vector<std::pair<int, int>> got;
  for (const auto& x : b["results"]) got.emplace_back(x["line"], x["status"]);
  EXPECT_EQ(got,
            (std::vector<std::pair<int, int>>{{2, 202}, {3, 400}, {4, 400}, {5, 202}, {7, 400}}));
  EXPECT_EQ(b["results"][1]["error"]["fields"][0]["field"], "report.severity");
  auto in = input();
  ASSERT_EQ(in.size(), 2u);
  auto first = json::parse(in[0].payload)["report"];
  EXPECT_EQ(first["title"], "垃圾, 很多");
  EXPECT_EQ(first["location"]["lat"], 33.8);
  EXPECT_EQ(json::parse(in[1].payload)["report"]["title"], "两行\n说明");
  EXPECT_EQ(call("POST", "/v1/reports/batch", "vo1", "", "text/csv").status, 400);
  EXPECT_EQ(call("POST", "/v1/reports/batch", "vo1", "x", "application/xml").status, 415);
}

// ---- SMS ----

TEST_F(HttpServerTest, SmsFromAKnownPhoneBecomesAReport) {
  start();
  auto r =
      call("POST", "/v1/sms", "gateway",
           "from=%2B86+138-0000-0001&id=m-77&text=SB+g1+01+3+%E5%9E%83%E5%9C%BE%E5%A0%86%E7%A7%AF",
           "application/x-www-form-urlencoded");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_TRUE(b["ok"].get<bool>());
  std::string id = b["case_id"];
  EXPECT_NE(b["reply"].get<std::string>().find("已受理，案件编号 " + id), std::string::npos);
  auto in = input();
  ASSERT_EQ(in.size(), 1u);
  auto rep = json::parse(in[0].payload)["report"];
  EXPECT_EQ(rep["reporter"], "w1");
  EXPECT_EQ(rep["channel"], "sms");
  EXPECT_EQ(rep["category"], "sanitation");
  EXPECT_EQ(rep["severity"], 3);
  EXPECT_EQ(rep["description"], "垃圾堆积");
  // The gateway redelivers the same message: same case, nothing new.
  auto again = call("POST", "/v1/sms", "gateway",
                    R"({"from": "13800000001", "id": "m-77", "text": "SB g1 01 3 垃圾堆积"})");
  EXPECT_EQ(body(again)["case_id"], id);
  EXPECT_EQ(input().size(), 1u);
  // A plain-text answer for gateways that relay the body as the reply SMS.
  Client c(server_->port());
  auto plain = c.request("POST", "/v1/sms", "from=13800000004&text=SB+g4+02+1",
                         {{"Authorization", "Bearer " + token_["gateway"]},
                          {"Content-Type", "application/x-www-form-urlencoded"},
                          {"Accept", "text/plain"}});
  EXPECT_TRUE(plain.body.starts_with("已受理")) << plain.body;
  EXPECT_EQ(input().size(), 2u);
}

TEST_F(HttpServerTest, SmsErrorsTellTheSenderWhatToFix) {
  start();
  auto sms = [&](const std::string& from, const std::string& text) {
    auto r = call("POST", "/v1/sms", "gateway", json{{"from", from}, {"text", text}}.dump());
    EXPECT_EQ(r.status, 200);
    json b = body(r);
    EXPECT_FALSE(b["ok"].get<bool>());
    return b["reply"].get<std::string>();
  };
  EXPECT_NE(sms("13900000000", "SB g1 01 1 x").find("未登记"), std::string::npos);
  EXPECT_NE(sms("13800000001", "SB g1 99 1 x").find("类别代码"), std::string::npos);
  EXPECT_NE(sms("13800000001", "SB g4 01 1 x").find("不在您的辖区"), std::string::npos);
  EXPECT_NE(sms("13800000001", "SB gx 01 1 x").find("未知网格"), std::string::npos);
  EXPECT_NE(sms("13800000001", "hello").find("格式：SB"), std::string::npos);
  EXPECT_NE(sms("13800000007", "SB g1 01 1 x").find("不能上报"), std::string::npos);  // visitor
  EXPECT_TRUE(input().empty());
  auto bad = call("POST", "/v1/sms", "gateway", R"({"text": "SB g1 01 1"})");
  EXPECT_EQ(bad.status, 400);
}

// ---- the access matrix: every role x every endpoint ----

TEST_F(HttpServerTest, AccessMatrix) {
  ServerOptions o;
  o.api.action_timeout = std::chrono::milliseconds(1);  // no engine here: 202 when allowed
  start(o);
  struct Endpoint {
    std::string name, method, target, body, content_type;
  };
  std::vector<Endpoint> endpoints = {
      {"report", "POST", "/v1/reports", R"({"grid": "g1", "category": "road"})",
       "application/json"},
      {"batch", "POST", "/v1/reports/batch", R"({"grid": "g1", "category": "road"})",
       "application/x-ndjson"},
      {"inbox", "GET", "/v1/inbox", "", ""},
      {"cases", "GET", "/v1/cases", "", ""},
      {"case", "GET", "/v1/cases/c-g1", "", ""},
      {"action", "POST", "/v1/cases/c-g1/actions", R"({"action": "comment", "note": "x"})",
       "application/json"},
      {"stats", "GET", "/v1/stats", "", ""},
      {"sms", "POST", "/v1/sms", R"({"from": "13800000001", "text": "SB g1 01 1"})",
       "application/json"},
      {"stream", "GET", "/v1/stream", "", ""},
      {"workflows", "GET", "/v1/workflows", "", ""},
      {"version", "GET", "/v1/workflows/grid-escalation/1", "", ""},
      {"validate", "POST", "/v1/workflows/validate", R"({"yaml": "kind: Workflow"})",
       "application/json"},
      {"whatif", "POST", "/v1/whatif", R"({"yaml": 1})", "application/json"},
  };
  // Expected status per caller, in the order of `endpoints`. Reports outside one's area are
  // 400 (a bad report.grid); a batch answers 200 with the verdict per line.
  std::map<std::string, std::vector<int>> expected = {
      //        report batch inbox cases case action stats sms stream workflows version validate
      //        whatif
      {"w1", {202, 200, 200, 403, 200, 202, 403, 403, 403, 403, 403, 403, 403}},
      {"gh2", {400, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
      {"gi1", {202, 200, 200, 200, 200, 202, 200, 403, 200, 403, 403, 403, 403}},
      {"vo1", {202, 200, 200, 200, 200, 202, 200, 403, 200, 403, 403, 403, 403}},
      {"co2", {400, 200, 200, 200, 403, 403, 200, 403, 200, 403, 403, 403, 403}},
      {"to1", {202, 200, 200, 200, 200, 202, 200, 403, 200, 403, 403, 403, 403}},
      {"cty", {202, 200, 200, 200, 200, 202, 200, 403, 200, 403, 403, 403, 403}},
      {"adm",
       {202, 200, 200, 200, 200, 202, 200, 200, 200, 200, 200, 200,
        400}},  // admin: all (400: no rules to replay)
      {"w4", {400, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
      {"vis", {403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
      {"gateway", {403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403}},
      {"", {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401}},  // no token
  };
  for (const auto& [who, statuses] : expected) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const auto& e = endpoints[i];
      int status;
      if (e.name == "stream") {
        // A granted stream stays open: read its status line only.
        Client c(server_->port());
        c.send("GET /v1/stream HTTP/1.1\r\nHost: x\r\n" +
               (who.empty() ? std::string() : "Authorization: Bearer " + token_[who] + "\r\n") +
               "\r\n");
        std::string head = c.read_until_count("\r\n", 1);
        status = std::stoi(head.substr(9, 3));
      } else {
        status = call(e.method, e.target, who, e.body, e.content_type).status;
      }
      EXPECT_EQ(status, statuses[i]) << who << " " << e.name;
    }
  }
}

// ---- supervisors ----

TEST_F(HttpServerTest, InboxIsScopedToTheCallersSubtree) {
  start();
  auto r = call("GET", "/v1/inbox", "to1");
  ASSERT_EQ(r.status, 200);
  json b = body(r);
  EXPECT_EQ(b["unit"], "t1");
  ASSERT_EQ(b["items"].size(), 1u);
  EXPECT_EQ(b["items"][0]["case_id"], "c-g1");
  EXPECT_TRUE(b["items"][0]["overdue"].get<bool>());
  EXPECT_TRUE(b["next_cursor"].is_null());
  EXPECT_EQ(views_->last_query().open, std::optional<bool>(true));
  r = call("GET",
           "/v1/inbox?unit=v1&level=grid&overdue=true&category=road&grid=g1&cursor=abc&limit=10",
           "to1");
  ASSERT_EQ(r.status, 200);
  auto q = views_->last_query();
  EXPECT_EQ(q.unit, "v1");
  EXPECT_EQ(q.level, "grid");
  EXPECT_EQ(q.overdue, std::optional<bool>(true));
  EXPECT_EQ(q.category, "road");
  EXPECT_EQ(q.grid, "g1");
  EXPECT_EQ(q.cursor, "abc");
  EXPECT_EQ(q.limit, 10u);
  EXPECT_EQ(q.now, kNow);
  r = call("GET", "/v1/inbox?unit=v3", "to1");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("不在您的辖区"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/inbox?unit=nowhere", "to1").status, 400);
  EXPECT_EQ(call("GET", "/v1/inbox?overdue=maybe&limit=0", "to1").status, 400);
  EXPECT_EQ(call("GET", "/v1/inbox?level=planet", "to1").status, 400);
  // Admin sees the whole tree; the county officer too, from the county down.
  EXPECT_EQ(body(call("GET", "/v1/cases", "adm"))["items"].size(), 2u);
  EXPECT_EQ(body(call("GET", "/v1/cases", "cty"))["unit"], "zhiduo");
}

TEST_F(HttpServerTest, ACaseWithItsTimeline) {
  start();
  auto r = call("GET", "/v1/cases/c-g1", "vo1");
  ASSERT_EQ(r.status, 200);
  json b = body(r);
  EXPECT_EQ(b["case"]["unit"], "g1");
  EXPECT_EQ(b["timeline"][0]["type"], "opened");
  EXPECT_EQ(call("GET", "/v1/cases/c-nope", "vo1").status, 404);
  EXPECT_EQ(call("GET", "/v1/cases/c-g4", "vo1").status, 403);
  auto s = call("GET", "/v1/stats?from=2026-06-01T00:00:00Z&to=2026-06-12T00:00:00Z", "vo1");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(body(s)["unit"], "v1");
  EXPECT_EQ(body(s)["opened"], 3);
  EXPECT_EQ(call("GET", "/v1/stats?from=yesterday", "vo1").status, 400);
  EXPECT_EQ(call("GET", "/v1/stats?unit=t2", "vo1").status, 403);
}

// The case page's report: every field the input report gave; a record of an older format
// (no report kept) still answers, with the list row's fields only.
TEST_F(HttpServerTest, ACaseCarriesItsReport) {
  CaseReport rep;
  rep.report_id = "c-g1";
  rep.description = "垃圾堆积三天无人清理";
  rep.household = "h-0031";
  rep.hukou_township = "t2";
  rep.reporter = "w1";
  rep.channel = "app";
  rep.occurred_at = "2026-06-12T07:55:00Z";
  rep.households_affected = 4;
  rep.lat = 33.85;
  rep.lon = 95.6;
  views_->set_detail("c-g1", 1, rep);
  start();
  json b = body(call("GET", "/v1/cases/c-g1", "vo1"));
  EXPECT_EQ(b["case"]["workflow_version"], 1);
  const json& r = b["report"];
  EXPECT_EQ(r["category"], "sanitation");
  EXPECT_EQ(r["grid"], "g1");
  EXPECT_EQ(r["description"], "垃圾堆积三天无人清理");
  EXPECT_EQ(r["household"], "h-0031");
  EXPECT_EQ(r["hukou_township"], "t2");
  EXPECT_EQ(r["hukou_township_name"], "二乡");
  EXPECT_EQ(r["households_affected"], 4);
  EXPECT_EQ(r["location"]["lat"], 33.85);
  EXPECT_EQ(r["location"]["lon"], 95.6);
  EXPECT_EQ(r["reporter"], "w1");
  EXPECT_EQ(r["channel"], "app");
  EXPECT_EQ(r["occurred_at"], "2026-06-12T07:55:00Z");
  // c-g4 has no detail: an old record.
  b = body(call("GET", "/v1/cases/c-g4", "adm"));
  EXPECT_TRUE(b["case"]["workflow_version"].is_null());
  EXPECT_EQ(b["report"]["grid"], "g4");
  EXPECT_TRUE(b["report"]["description"].is_null());
  EXPECT_TRUE(b["report"]["location"].is_null());
}

// The actions come from the case's workflow at the case's version, in its state, with who
// may take them and whether the caller is among them.
TEST_F(HttpServerTest, ACaseOffersTheActionsOfItsWorkflowVersion) {
  views_->set_detail("c-g1", 1, std::nullopt);
  start();
  auto actions_of = [&](const std::string& target, const std::string& who) {
    std::map<std::string, json> out;
    json b = body(call("GET", target, who));
    for (const auto& a : b.value("actions", json::array())) out[a["action"]] = a;
    return out;
  };
  // The village officer supervises the grid's case; remind (a timer) and sla_expired are
  // the engine's own.
  auto vo = actions_of("/v1/cases/c-g1", "vo1");
  std::set<std::string> names;
  for (const auto& [n, a] : vo) names.insert(n);
  EXPECT_EQ(names, (std::set<std::string>{"accept", "comment", "resolve", "escalate", "return"}));
  EXPECT_EQ(vo["accept"]["by"], json::array({"assignee"}));
  EXPECT_FALSE(vo["accept"]["allowed"].get<bool>());
  EXPECT_TRUE(vo["comment"]["allowed"].get<bool>());
  EXPECT_EQ(vo["comment"]["by"], json::array({"any"}));
  EXPECT_EQ(vo["resolve"]["by"], json::array({"assignee", "supervisor"}));
  EXPECT_TRUE(vo["resolve"]["allowed"].get<bool>());
  EXPECT_FALSE(vo["resolve"]["conditional"].get<bool>());
  // `return` needs a level above the grid: known false here, offered to no one.
  EXPECT_FALSE(vo["return"]["allowed"].get<bool>());
  EXPECT_EQ(vo["return"]["by"], json::array());
  EXPECT_FALSE(vo["escalate"]["allowed"].get<bool>());
  // The grid worker holds it: accept and escalate, not return.
  auto w = actions_of("/v1/cases/c-g1", "w1");
  EXPECT_TRUE(w["accept"]["allowed"].get<bool>());
  EXPECT_TRUE(w["escalate"]["allowed"].get<bool>());
  EXPECT_FALSE(w["return"]["allowed"].get<bool>());
  // Pinned to version 1: the live version 2's `suspend` is not offered. A record that
  // predates versions gets the live version's actions.
  EXPECT_EQ(vo.count("suspend"), 0u);
  auto live = actions_of("/v1/cases/c-g4", "adm");
  EXPECT_EQ(live.count("suspend"), 1u);
  EXPECT_TRUE(live["suspend"]["allowed"].get<bool>());  // admin's unit, the county, is above
  EXPECT_EQ(live["comment"]["by"], json::array({"co_handler"}));
  EXPECT_FALSE(live["comment"]["allowed"].get<bool>());
  // At the village `return` may apply: it depends on the note, which only the engine sees.
  EXPECT_TRUE(live["return"]["allowed"].get<bool>());
  EXPECT_TRUE(live["return"]["conditional"].get<bool>());
  EXPECT_EQ(live["return"]["by"], json::array({"supervisor"}));
  EXPECT_EQ(live["return"]["when"],
            json::array({"case.level != \"grid\" && size(event.note) > 0"}));
  // A version the server does not know: no `actions` (clients fall back on their own).
  views_->set_detail("c-g1", 7, std::nullopt);
  EXPECT_FALSE(body(call("GET", "/v1/cases/c-g1", "vo1")).contains("actions"));
}

TEST_F(HttpServerTest, AdministratorsSeeTheVersionsAndTheirYaml) {
  start();
  auto r = call("GET", "/v1/workflows", "adm");
  ASSERT_EQ(r.status, 200);
  json list = body(r)["workflows"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "grid-escalation");
  EXPECT_EQ(list[0]["version"], 1);
  EXPECT_EQ(list[0]["hash"], "aaaa");
  EXPECT_EQ(list[0]["actor"], "adm");
  EXPECT_EQ(list[0]["deployed_at"], "2026-06-01T08:00:00Z");
  EXPECT_FALSE(list[0]["live"].get<bool>());
  EXPECT_EQ(list[1]["version"], 2);
  EXPECT_TRUE(list[1]["live"].get<bool>());
  EXPECT_FALSE(list[0].contains("text"));
  r = call("GET", "/v1/workflows/grid-escalation/1", "adm");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["text"], kWorkflowYaml);
  EXPECT_EQ(call("GET", "/v1/workflows/grid-escalation/9", "adm").status, 404);
  EXPECT_EQ(call("GET", "/v1/workflows/grid-escalation/x", "adm").status, 400);
  EXPECT_EQ(call("GET", "/v1/workflows/grid-escalation/1", "cty").status, 403);
}

TEST_F(HttpServerTest, ValidationGivesEachProblemItsLineAndColumn) {
  start();
  auto check = [&](const std::string& yaml) {
    auto r = call("POST", "/v1/workflows/validate", "adm", json{{"yaml", yaml}}.dump());
    EXPECT_EQ(r.status, 200);
    return body(r);
  };
  json ok = check(kWorkflowYaml);
  EXPECT_TRUE(ok["valid"].get<bool>());
  EXPECT_EQ(ok["name"], "grid-escalation");
  EXPECT_EQ(ok["live_version"], 2);
  EXPECT_EQ(ok["errors"], 0);
  // A goto to an unknown state (line 17) and an unknown level (line 22).
  std::string bad = kWorkflowYaml;
  bad.replace(bad.find("goto: verifying"), 15, "goto: nowhere");
  bad.replace(bad.find("level: down"), 11, "level: planet");
  json v = check(bad);
  EXPECT_FALSE(v["valid"].get<bool>());
  EXPECT_EQ(v["errors"], 2);
  std::set<int> lines;
  for (const auto& p : v["problems"]) {
    if (p["severity"] != "error") continue;
    lines.insert(p["line"].get<int>());
    EXPECT_GT(p["column"].get<int>(), 0);
    EXPECT_EQ(p["file"], "proposed.yaml");
    EXPECT_EQ(p["text"].get<std::string>().rfind("proposed.yaml:", 0), 0u) << p["text"];
  }
  EXPECT_EQ(lines, (std::set<int>{18, 20}));
  // YAML that does not parse, and a raw YAML body.
  json syntax = check("states: [\n");
  EXPECT_FALSE(syntax["valid"].get<bool>());
  EXPECT_GE(syntax["problems"][0]["line"].get<int>(), 1);
  auto raw = call("POST", "/v1/workflows/validate", "adm", kWorkflowYaml, "application/yaml");
  EXPECT_TRUE(body(raw)["valid"].get<bool>());
  EXPECT_EQ(call("POST", "/v1/workflows/validate", "adm", R"({"text": 1})").status, 400);
  EXPECT_EQ(call("POST", "/v1/workflows/validate", "adm", "x", "text/csv").status, 415);
}

// What-if over the recorded input: two reports 10 hours old are still at the grid under the
// live rules (24 h), and would have climbed to the village with a 1 h SLA.
TEST_F(HttpServerTest, WhatIfReplaysTheRecordedInputOnTheProposedRules) {
  auto report = [](const std::string& id, const std::string& grid, int64_t hours_ago) {
    return json{{"type", "report"},
                {"at", format_timestamp(Timestamp{kNow.ms - hours_ago * 3600 * 1000})},
                {"report", {{"report_id", id}, {"grid", grid}, {"category", "road"}}}}
        .dump();
  };
  recorded_ = {report("r-old", "g1", 30), report("r-1", "g1", 10), report("r-2", "g2", 10),
               "not json"};
  start();
  std::string proposed = kWorkflowYaml;
  proposed.replace(proposed.find("grid: 24h"), 9, "grid: 1h");
  auto r = call("POST", "/v1/whatif", "adm", json{{"yaml", proposed}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json b = body(r);
  EXPECT_EQ(b["workflow"], "grid-escalation");
  EXPECT_EQ(b["replaces_version"], 2);
  EXPECT_EQ(b["inputs"], 3);
  EXPECT_EQ(b["bad_lines"], 1);
  EXPECT_EQ(b["window"]["records"], 4);
  EXPECT_EQ(b["old"]["cases"], 3);
  EXPECT_EQ(b["new"]["cases"], 3);
  // Live: only the 30-hour-old report has breached (once, at the grid).
  EXPECT_EQ(b["old"]["sla_breaches"]["grid"], 1);
  EXPECT_EQ(b["old"]["by_final_level"]["grid"], 2);
  EXPECT_EQ(b["new"]["sla_breaches"]["grid"], 3);
  EXPECT_EQ(b["new"]["by_final_level"]["grid"], 0);
  EXPECT_EQ(b["differing_cases"], 2);
  std::set<std::string> differing;
  for (const auto& d : b["differences"]) differing.insert(d["case_id"]);
  EXPECT_EQ(differing, (std::set<std::string>{"r-1", "r-2"}));
  // The same rules: no difference. A window of one record: only the last line.
  json same = body(call("POST", "/v1/whatif", "adm", json{{"yaml", kWorkflowYaml}}.dump()));
  EXPECT_EQ(same["replaces_version"], 2);
  EXPECT_EQ(same["differing_cases"], 0);
  json narrow =
      body(call("POST", "/v1/whatif", "adm", json{{"yaml", proposed}, {"limit", 1}}.dump()));
  EXPECT_EQ(narrow["window"]["records"], 1);
  EXPECT_EQ(narrow["inputs"], 0);
  // Rules that do not validate are not replayed; bad requests.
  std::string broken = kWorkflowYaml;
  broken.replace(broken.find("goto: verifying"), 15, "goto: nowhere");
  auto rb = call("POST", "/v1/whatif", "adm", json{{"yaml", broken}}.dump());
  EXPECT_EQ(rb.status, 422);
  EXPECT_EQ(body(rb)["error"]["code"], "invalid_workflow");
  EXPECT_EQ(call("POST", "/v1/whatif", "adm", R"({"yaml": 1})").status, 400);
  EXPECT_EQ(call("POST", "/v1/whatif", "adm", R"({"yaml": "", "limit": 0})").status, 400);
  EXPECT_EQ(call("POST", "/v1/whatif", "cty", json{{"yaml", proposed}}.dump()).status, 403);
}

TEST_F(HttpServerTest, WithoutViewsTheReadEndpointsSay503) {
  start({}, false);
  for (const char* t : {"/v1/inbox", "/v1/cases", "/v1/cases/c-g1", "/v1/stats", "/v1/stream"}) {
    auto r = call("GET", t, "vo1");
    EXPECT_EQ(r.status, 503) << t;
    EXPECT_EQ(body(r)["error"]["code"], "views_unavailable");
  }
  EXPECT_EQ(call("POST", "/v1/cases/c-g1/actions", "vo1", R"({"action": "accept"})").status, 503);
  EXPECT_EQ(call("POST", "/v1/reports", "w1", R"({"grid": "g1", "category": "road"})").status, 202);
}

// An action: the event in the log carries the actor, the unit and the case's origin grid;
// the answer waits for the engine's outcome (delivered here by the test, as the service
// does after its batch).
TEST_F(HttpServerTest, ActionsWaitForTheEnginesOutcome) {
  ServerOptions o;
  o.api.action_timeout = std::chrono::minutes(5);  // the outcome always comes first here
  start(o);
  auto act = [&](const std::string& body_text, size_t appended_before) {
    auto f = std::async(std::launch::async, [&, body_text] {
      return call("POST", "/v1/cases/c-g1/actions", "vo1", body_text);
    });
    wait_appended(appended_before + 1);
    return f;
  };
  auto f = act(R"({"action": "escalate", "note": "需要村里协调"})", 0);
  auto ev = json::parse(input().at(0).payload);
  EXPECT_EQ(ev["type"], "action");
  EXPECT_EQ(ev["case_id"], "c-g1");
  EXPECT_EQ(ev["grid"], "g1");
  EXPECT_EQ(ev["actor"], "vo1");
  EXPECT_EQ(ev["actor_unit"], "v1");
  EXPECT_EQ(ev["note"], "需要村里协调");
  EXPECT_EQ(ev["at"], "2026-06-12T08:30:00Z");
  std::string aid = ev["action_id"];
  ASSERT_TRUE(gridcase::json::parse_input_event(input().at(0).payload, org_).ok());
  server_->on_outcome("someone-else", {}, {});  // not waited for: ignored
  server_->on_outcome(aid, {ActionOutcome::Kind::Applied, ""},
                      {R"({"case_id": "c-g1", "seq": 3, "type": "transition"})",
                       R"({"case_id": "c-g1", "seq": 4, "type": "level_changed"})"});
  auto r = f.get();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r)["events"].size(), 2u);
  EXPECT_EQ(body(r)["action_id"], aid);

  f = act(R"({"action": "verify", "action_id": "a-mine"})", 1);
  server_->on_outcome(
      "a-mine", {ActionOutcome::Kind::Applied, ""},
      {R"({"case_id": "c-g1", "seq": 5, "type": "event_rejected", "reason": "no transition"})"});
  r = f.get();
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body(r)["error"]["code"], "rejected");
  EXPECT_NE(r.body.find("no transition"), std::string::npos);

  f = act(R"({"action": "resolve"})", 2);
  server_->on_outcome(json::parse(input().at(2).payload)["action_id"],
                      {ActionOutcome::Kind::Invalid, "unknown case 'c-g1'"}, {});
  r = f.get();
  EXPECT_EQ(r.status, 422);

  f = act(R"({"action": "comment", "action_id": "a-dup"})", 3);
  server_->on_outcome("a-dup", {ActionOutcome::Kind::Duplicate, ""}, {});
  EXPECT_TRUE(body(f.get())["duplicate"].get<bool>());

  EXPECT_EQ(call("POST", "/v1/cases/c-g1/actions", "vo1", R"({"action": "opened"})").status, 400);
  EXPECT_EQ(call("POST", "/v1/cases/c-g1/actions", "vo1", R"({"action": "Bad Name"})").status, 400);
  EXPECT_EQ(call("POST", "/v1/cases/c-g1/actions", "vo1", R"({"note": 5})").status, 400);
  EXPECT_EQ(call("POST", "/v1/cases/c-nope/actions", "vo1", R"({"action": "accept"})").status, 404);
  EXPECT_EQ(call("POST", "/v1/cases/c-g4/actions", "vo1", R"({"action": "accept"})").status, 403);
  EXPECT_EQ(input().size(), 4u);
}

TEST_F(HttpServerTest, AnActionWithNoOutcomeInTimeIs202) {
  ServerOptions o;
  o.api.action_timeout = std::chrono::milliseconds(20);
  start(o);
  auto r = call("POST", "/v1/cases/c-g1/actions", "w1", R"({"action": "accept"})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body(r)["status"], "pending");
  EXPECT_EQ(input().size(), 1u);
  // A late outcome finds nobody waiting and is dropped.
  server_->on_outcome(body(r)["action_id"], {}, {});
}

// ---- the SSE stream ----

TEST_F(HttpServerTest, StreamShowsTheCallersAreaAndResumes) {
  start();
  views_->add_feed("c-g1", {"g1"}, R"({"case_id": "c-g1", "seq": 1})");
  views_->add_feed("c-g4", {"g4", "v3"}, R"({"case_id": "c-g4", "seq": 1})");
  views_->add_feed("c-x", {"t2", "v1"}, R"({"case_id": "c-x", "seq": 1})");  // from t2 to v1
  Client c(server_->port());
  c.send("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_["vo1"] +
         "\r\nLast-Event-ID: 0\r\n\r\n");
  std::string got = c.read_until_count("\nevent: case_event\n", 2);
  EXPECT_NE(got.find("text/event-stream"), std::string::npos);
  EXPECT_NE(got.find("id: 1\nevent: case_event\ndata: {\"case_id\": \"c-g1\""), std::string::npos);
  EXPECT_EQ(got.find("id: 2\n"), std::string::npos);  // g4 is not vo1's
  EXPECT_NE(got.find("id: 3\n"), std::string::npos);
  // New entries wake the stream.
  views_->add_feed("c-g4", {"g4"}, R"({"case_id": "c-g4", "seq": 2})");
  views_->add_feed("c-g1", {"g1"}, R"({"case_id": "c-g1", "seq": 2})");
  server_->on_feed(views_->feed_head());
  got = c.read_until_count("\nevent: case_event\n", 1);
  EXPECT_NE(got.find("id: 5\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("id: 4\n"), std::string::npos);

  // Resuming after 3: only what came after. Without Last-Event-ID: from the head on.
  Client d(server_->port());
  d.send("GET /v1/stream?last_event_id=3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         token_["adm"] + "\r\n\r\n");
  got = d.read_until_count("\nevent: case_event\n", 2);
  EXPECT_NE(got.find("id: 4\n"), std::string::npos);
  EXPECT_NE(got.find("id: 5\n"), std::string::npos);
  EXPECT_EQ(got.find("id: 3\n"), std::string::npos);
  Client e(server_->port());
  e.send("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_["cty"] +
         "\r\n\r\n");
  e.read_until_count("retry: 3000", 1);  // subscribed
  views_->add_feed("c-g4", {"g4"}, R"({"case_id": "c-g4", "seq": 3})");
  server_->on_feed(views_->feed_head());
  got = e.read_until_count("\nevent: case_event\n", 1);
  EXPECT_NE(got.find("id: 6\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("id: 5\n"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/stream?last_event_id=x", "vo1").status, 400);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(server_->port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.request(
        "POST", "/v1/reports", R"({"grid": "g1", "category": "road"})",
        {{"Authorization", "Bearer " + token_["w1"]}, {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 202);
    EXPECT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(input().size(), 20u);
}

// An intake that keeps the answer callbacks until the test lets them go.
class HeldIntake final : public Intake {
 public:
  void submit(std::vector<IntakeRecord>, Done done) override {
    {
      std::lock_guard g(mu_);
      held_.push_back(std::move(done));
    }
    cv_.notify_all();
  }
  bool ready(std::string*) override { return true; }
  void wait_held(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_.size() >= n; });
  }
  std::vector<Done> take() {
    std::lock_guard g(mu_);
    return std::move(held_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Done> held_;
};

// A connection waiting for the intake when the server stops: its answer callback outlives
// the server (an intake's queue may hold it), and ending or calling it afterwards must
// touch nothing of the server's (this crashed under AddressSanitizer once, when the
// callback held the last reference to the connection and its timers' io_context was gone).
TEST_F(HttpServerTest, AnswersThatOutliveTheServerAreDroppedSafely) {
  HeldIntake held;
  ApiDeps deps;
  deps.org = &org_;
  deps.tokens = tokens_.get();
  deps.intake = &held;
  deps.now = [] { return kNow; };
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.api.rate_per_second = 0;
  auto s = HttpServer::start(std::move(deps), o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  server_ = std::move(s).value();
  auto pending = [&] {
    return std::async(std::launch::async, [&] {
      try {
        return call("POST", "/v1/reports", "w1", R"({"grid": "g1", "category": "road"})").status;
      } catch (const std::exception&) {
        return -1;  // the connection closed without an answer
      }
    });
  };
  // Answered while the server runs: the connection gets its 202.
  auto first = pending();
  held.wait_held(1);
  held.take().at(0)(true);
  EXPECT_EQ(first.get(), 202);
  // Still waiting when the server stops: stop() waits for the intake (it drains what it
  // accepted), the answers then come while it stops, and the callbacks end after it.
  auto third = pending();
  auto fourth = pending();
  held.wait_held(2);
  auto late = held.take();
  auto stopper = std::async(std::launch::async, [&] { server_.reset(); });
  for (auto& done : late) done(true);
  stopper.get();
  for (auto* f : {&third, &fourth}) {
    int status = f->get();  // answered just before the stop, or closed by it
    EXPECT_TRUE(status == 202 || status == -1) << status;
  }
  late.clear();  // the last references to the answers, after the server is gone
}

}  // namespace
}  // namespace gridcase::http

namespace gridcase::http {
namespace {

// ---- GET /v1/org and the web app's files ----

TEST_F(HttpServerTest, OrgSaysWhoTheCallerIsAndNamesWhatTheyMaySee) {
  start();
  auto r = call("GET", "/v1/org", "vo1");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = body(r);
  EXPECT_EQ(j["me"]["person"], "vo1");
  EXPECT_EQ(j["me"]["name"], "索南");
  EXPECT_EQ(j["me"]["role"], "village_officer");
  EXPECT_EQ(j["me"]["unit"], "v1");
  std::set<std::string> ids;
  for (const auto& u : j["units"]) ids.insert(u["id"].get<std::string>());
  // Their subtree and the units above; not the neighbours.
  EXPECT_EQ(ids, (std::set<std::string>{"zhiduo", "t1", "v1", "g1", "g2"}));
  EXPECT_EQ(j["units"][0]["name"], "治多县");
  EXPECT_TRUE(j["units"][0]["parent"].is_null());
  EXPECT_EQ(body(call("GET", "/v1/org", "adm"))["units"].size(), org_.units.size());
  EXPECT_EQ(call("GET", "/v1/org", "").status, 401);
  EXPECT_EQ(call("GET", "/v1/org", "vis").status, 403);
}

TEST_F(HttpServerTest, ServesTheWebAppOutsideTheApi) {
  fs::path web = dir_ / "web";
  fs::create_directories(web / "assets");
  std::ofstream(web / "index.html") << "<!doctype html>app";
  std::ofstream(web / "assets" / "a-1.js") << "js";
  std::ofstream(dir_ / "secret.txt") << "outside";
  ServerOptions o;
  o.web_root = web.string();
  start(o);
  auto root = call("GET", "/", "");
  EXPECT_EQ(root.status, 200);
  EXPECT_EQ(root.body, "<!doctype html>app");
  EXPECT_EQ(root.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(call("GET", "/cases/r-1?x=1", "").body, "<!doctype html>app");
  auto js = call("GET", "/assets/a-1.js", "");
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(call("GET", "/../secret.txt", "").status, 404);
  EXPECT_EQ(call("GET", "/%2e%2e/secret.txt", "").status, 404);
  // The API keeps its own answers.
  EXPECT_EQ(call("GET", "/v1/nope", "").status, 404);
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  EXPECT_EQ(call("POST", "/", "", "x").status, 404);
  {
    // HEAD: the headers of GET, no body; the connection stays usable.
    Client c(server_->port());
    auto head = c.request("HEAD", "/assets/a-1.js");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers["content-length"], "2");
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(c.request("GET", "/assets/a-1.js").body, "js");
  }
}

TEST_F(HttpServerTest, WithoutAWebRootOnlyTheApiAnswers) {
  start();
  EXPECT_EQ(call("GET", "/", "").status, 404);
}

}  // namespace
}  // namespace gridcase::http
