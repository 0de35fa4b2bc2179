// HTTP in, the real engine behind: reports and actions go through the embedded log into a
// running Service whose batch reports reach the server (on_batch -> deliver_outcomes, as `serve
// --http` wires it), so an action's answer carries the case events the engine actually wrote.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "connectors/http/outcomes.hpp"
#include "connectors/http/server.hpp"
#include "connectors/json_events.hpp"
#include "engine/service.hpp"
#include "storage/local_log.hpp"
#include "storage/memory_store.hpp"
#include "tests/fixtures/contract_example.hpp"
#include "tests/http/support.hpp"

namespace gridcase::http {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const Timestamp kNow{1781253000000};  // 2026-06-12T08:30:00Z

class FixedClock final : public Clock {
 public:
  Timestamp now() override { return kNow; }
};

class HttpEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gridcase-http-engine-" + random_hex(6));
    Diagnostics d;
    auto org = load_org_text(fixtures::kContractOrgYaml, "org.yaml", d);
    auto wf = load_workflow_text(fixtures::kContractWorkflowYaml, "wf.yaml", &*org, d);
    ASSERT_TRUE(org && wf);
    std::vector<Workflow> wfs;
    wfs.push_back(std::move(*wf));
    engine_ =
        std::make_unique<Engine>(std::make_shared<const Org>(std::move(*org)), std::move(wfs));
    log_ = std::move(LocalLog::open((dir_ / "log").string())).value();
    tokens_ = std::move(TokenStore::open((dir_ / "tokens.json").string())).value();
    worker_ = tokens_->add("w-0001", "", "person").value();
    officer_ = tokens_->add("s-0101", "", "person").value();
    LocalLog* log = log_.get();
    intake_ = std::make_unique<GroupCommitIntake>(
        [log](const std::vector<IntakeRecord>& records) -> Result<bool> {
          std::vector<std::pair<std::string, std::string>> kv;
          for (const auto& r : records) kv.emplace_back(r.key, r.payload);
          auto r = log->append("gridcase.input", kv);
          if (!r.ok()) return r.error();
          return true;
        });
    views_ = std::make_shared<testing::FakeViews>(engine_->org());
    ApiDeps deps;
    deps.org = &engine_->org();
    deps.tokens = tokens_.get();
    deps.intake = intake_.get();
    deps.views = views_;
    deps.now = [] { return kNow; };
    ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.api.action_timeout = std::chrono::minutes(5);  // the engine always answers first here
    so.api.rate_per_second = 0;
    server_ = std::move(HttpServer::start(std::move(deps), so)).value();

    source_ = std::make_unique<LocalLogSource>(*log_, "gridcase.input", (dir_ / "spool").string());
    sink_ = std::make_unique<LocalLogSink>(*log_);
    const Org& o = engine_->org();
    ServiceCodecs codecs;
    codecs.parse = [&o](std::string_view p) { return gridcase::json::parse_input_event(p, o); };
    codecs.format = [](const CaseEvent& e) { return gridcase::json::case_event_line(e); };
    codecs.dead_letter = [](const SourceRecord& r, const std::string& reason,
                            const std::string& error) {
      return gridcase::json::dead_letter_json(reason, error, r.topic, r.partition, r.offset,
                                              r.payload);
    };
    ServiceOptions opts;
    opts.poll_timeout_ms = 10;
    opts.on_batch = [this](const BatchOutcome& batch) {
      deliver_outcomes(batch, [this](const std::string& id, const ActionOutcome& o,
                                     const std::vector<std::string>& events) {
        server_->on_outcome(id, o, events);
      });
    };
    service_ = std::make_unique<Service>(*engine_, store_, *source_, *sink_, clock_, codecs, opts);
    ASSERT_TRUE(service_->start().ok());
    loop_ = std::thread([this] {
      while (!stop_) {
        auto r = service_->run_once();
        if (!r.ok()) {
          ADD_FAILURE() << r.error().message;
          return;
        }
      }
    });
  }

  void TearDown() override {
    stop_ = true;
    if (loop_.joinable()) loop_.join();
    service_.reset();
    server_.reset();
    intake_.reset();
    source_.reset();
    sink_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }

  testing::Response post(const std::string& token, const std::string& target,
                         const std::string& body) {
    testing::Client c(server_->port());
    return c.request("POST", target, body,
                     {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }
  static std::vector<std::string> types(const json& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e["type"]);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Engine> engine_;
  MemoryStore store_;
  FixedClock clock_;
  std::unique_ptr<LocalLog> log_;
  std::unique_ptr<TokenStore> tokens_;
  std::string worker_, officer_;
  std::unique_ptr<GroupCommitIntake> intake_;
  std::shared_ptr<testing::FakeViews> views_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<LocalLogSource> source_;
  std::unique_ptr<LocalLogSink> sink_;
  std::unique_ptr<Service> service_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

TEST_F(HttpEngineTest, ActionsAnswerWithTheEnginesCaseEvents) {
  auto r = post(worker_, "/v1/reports",
                R"({"report_id": "r-e2e", "grid": "jjbl-c1-g01", "category": "sanitation",
                    "severity": 2, "household": "h-1"})");
  ASSERT_EQ(r.status, 202) << r.body;
  // The read model as the store would keep it (the `views` branch); the engine's own
  // state decides every outcome below.
  CaseSummary c;
  c.case_id = "r-e2e";
  c.unit = "jjbl-c1-g01";
  c.grid = "jjbl-c1-g01";
  c.level = "grid";
  views_->add_case(c);
  CaseSummary ghost = c;
  ghost.case_id = "ghost";  // the views know it, the engine does not
  views_->add_case(ghost);

  // The village may not escalate a grid case (`by: assignee`): the engine writes
  // event_rejected, the API answers 409 with it.
  r = post(officer_, "/v1/cases/r-e2e/actions", R"({"action": "escalate"})");
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(types(json::parse(r.body)["events"]), std::vector<std::string>{"event_rejected"});

  // The grid worker may: a transition and the level change, as the engine wrote them.
  r = post(worker_, "/v1/cases/r-e2e/actions", R"({"action": "escalate", "note": "需要村里协调"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json events = json::parse(r.body)["events"];
  EXPECT_EQ(types(events), (std::vector<std::string>{"transition", "level_changed"}));
  EXPECT_EQ(events[1]["to_level"], "village");
  EXPECT_EQ(events[1]["to_unit"], "jjbl-c1");
  EXPECT_EQ(events[1]["case_id"], "r-e2e");

  // Now at the village: the officer resolves it (with an id of their own), then retries.
  r = post(officer_, "/v1/cases/r-e2e/actions", R"({"action": "resolve", "action_id": "a-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["events"][0]["to_state"], "verifying");
  r = post(officer_, "/v1/cases/r-e2e/actions", R"({"action": "resolve", "action_id": "a-1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["duplicate"].get<bool>());

  // An action on a case the engine does not know is a dead letter: 422 with the reason.
  r = post(officer_, "/v1/cases/ghost/actions", R"({"action": "accept"})");
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("unknown case"), std::string::npos);
}

}  // namespace
}  // namespace gridcase::http
