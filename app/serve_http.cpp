#include "app/serve_http.hpp"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <filesystem>
#include <vector>

#include "connectors/http/kafka_intake.hpp"
#include "connectors/http/outcomes.hpp"
#include "connectors/http/server.hpp"
#include "connectors/http/webhooks.hpp"
#include "connectors/kafka.hpp"
#include "engine/engine.hpp"
#include "engine/views.hpp"
#include "storage/local_log.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace {

// Where the web app's files are: --web-root, else http.web_root, else the built app
// (connectors/web/dist) of this checkout, found from the working directory or from the
// executable (build/app/gridcase). Empty: no web app.
std::string find_web_root(const ServeOptions& opt, const std::string& configured) {
  namespace fs = std::filesystem;
  if (!opt.web_root.empty()) return opt.web_root;
  if (!configured.empty()) return configured;
  std::error_code ec;
  std::vector<fs::path> candidates = {fs::path("connectors/web/dist")};
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      candidates.push_back(p / "connectors/web/dist");
    }
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "index.html", ec)) return c.string();
  }
  return "";
}

// The `http:` section of config/gridcase.yaml.
bool read_http_config(const std::string& path, std::string& listen, http::ServerOptions& o) {
  if (path.empty()) return true;
  try {
    YAML::Node c = YAML::LoadFile(path);
    YAML::Node h = c["http"];
    if (!h) return true;
    if (h["listen"] && listen.empty()) listen = h["listen"].as<std::string>();
    if (h["web_root"]) o.web_root = h["web_root"].as<std::string>();
    if (h["threads"]) o.threads = h["threads"].as<int>();
    if (h["body_limit"]) o.api.body_limit = h["body_limit"].as<size_t>();
    if (h["batch_body_limit"]) o.api.batch_body_limit = h["batch_body_limit"].as<size_t>();
    if (h["batch_max_lines"]) o.api.batch_max_lines = h["batch_max_lines"].as<size_t>();
    if (h["read_timeout_ms"])
      o.read_timeout = std::chrono::milliseconds(h["read_timeout_ms"].as<int>());
    if (h["action_timeout_ms"]) {
      o.api.action_timeout = std::chrono::milliseconds(h["action_timeout_ms"].as<int>());
    }
    if (YAML::Node r = h["rate_limit"]) {
      if (r["per_second"]) o.api.rate_per_second = r["per_second"].as<double>();
      if (r["burst"]) o.api.rate_burst = r["burst"].as<double>();
    }
  } catch (const YAML::Exception& e) {
    spdlog::error("{}:{}:{}: http: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
    return false;
  }
  return true;
}

// The `webhooks:` section: a list of {unit, url, secret | secret_env, max_attempts,
// retry_base_ms, retry_max_ms, timeout_ms}.
bool read_webhooks_config(const std::string& path, std::vector<http::WebhookConfig>& hooks) {
  if (path.empty()) return true;
  try {
    YAML::Node c = YAML::LoadFile(path);
    YAML::Node w = c["webhooks"];
    if (!w) return true;
    if (!w.IsSequence()) {
      spdlog::error("{}:{}:{}: webhooks: 应为列表 / must be a list", path, w.Mark().line + 1,
                    w.Mark().column + 1);
      return false;
    }
    for (const auto& n : w) {
      http::WebhookConfig h;
      auto at = [&](const YAML::Node& x) {
        return fmt::format("{}:{}:{}", path, x.Mark().line + 1, x.Mark().column + 1);
      };
      if (!n["unit"] || !n["url"]) {
        spdlog::error("{}: webhooks: 需要 unit 和 url / unit and url are required", at(n));
        return false;
      }
      h.unit = n["unit"].as<std::string>();
      h.url = n["url"].as<std::string>();
      if (n["secret"]) h.secret = n["secret"].as<std::string>();
      if (n["secret_env"]) {
        std::string var = n["secret_env"].as<std::string>();
        const char* v = std::getenv(var.c_str());
        if (!v || !*v) {
          spdlog::error("{}: webhooks: 环境变量 {} 未设置 / environment variable {} is not set",
                        at(n["secret_env"]), var, var);
          return false;
        }
        h.secret = v;
      }
      if (n["max_attempts"]) h.max_attempts = n["max_attempts"].as<int>();
      if (n["retry_base_ms"]) {
        h.retry_base = std::chrono::milliseconds(n["retry_base_ms"].as<int>());
      }
      if (n["retry_max_ms"]) h.retry_max = std::chrono::milliseconds(n["retry_max_ms"].as<int>());
      if (n["timeout_ms"]) h.timeout = std::chrono::milliseconds(n["timeout_ms"].as<int>());
      hooks.push_back(std::move(h));
    }
  } catch (const YAML::Exception& e) {
    spdlog::error("{}:{}:{}: webhooks: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
    return false;
  }
  return true;
}

// Brings the catalog up to the engine's workflows, with the registry's record of each
// deployed version (who, when, the YAML). On the engine thread.
void sync_catalog(http::WorkflowCatalog& catalog, const Engine& engine,
                  const std::string& state_dir) {
  if (catalog.synced() == engine.workflows().size()) return;
  std::unique_ptr<WorkflowRegistry> registry;
  bool deployed = false;
  for (const Workflow& w : engine.workflows()) deployed = deployed || w.version > 0;
  if (deployed && WorkflowRegistry::exists(registry_dir(state_dir))) {
    auto r = WorkflowRegistry::open_read_only(registry_dir(state_dir));
    if (r.ok()) {
      registry = std::move(r).value();
    } else {
      spdlog::warn("http: workflow registry: {}", r.error().message);
    }
  }
  catalog.sync(engine.workflows(), [&](const std::string& name, int64_t version) {
    std::optional<http::WorkflowInfo> out;
    if (!registry) return out;
    auto v = registry->get(name, version);
    if (!v.ok() || !v.value()) return out;
    http::WorkflowInfo info;
    info.hash = v.value()->hash;
    info.text = v.value()->text;
    info.deployed_at = v.value()->deployed_at;
    info.actor = v.value()->actor;
    out = std::move(info);
    return out;
  });
}

}  // namespace

struct HttpFace::Impl {
  std::unique_ptr<http::TokenStore> tokens;
  std::unique_ptr<http::GroupCommitIntake> log_intake;  // embedded log
  std::unique_ptr<http::KafkaIntake> kafka_intake;      // Kafka: its own producer
  http::Intake* intake = nullptr;
  http::GroupCommitIntake* group = nullptr;  // for the metrics
  std::shared_ptr<CaseViews> views;
  const Engine* engine = nullptr;  // read on the engine thread only
  std::string state_dir;
  std::shared_ptr<http::WorkflowCatalog> workflows;
  std::unique_ptr<MessageSink> webhook_dead_letters;  // the webhooks' own producer (Kafka)
  std::unique_ptr<http::WebhookDispatcher> webhooks;  // after its sink: stopped first
  std::unique_ptr<http::HttpServer> server;           // last: stopped first
  // Mirrors of the service's counters, read by /metrics on the HTTP threads.
  std::atomic<uint64_t> batches{0}, records{0}, dead_letters{0}, published{0};
  std::atomic<int64_t> last_ok_ms{0};
  std::function<std::string()> store_gauges;  // set once, before traffic
  http::Histogram batch_seconds{{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};

  ~Impl() {
    if (server) server->stop();  // before the intake and the views it uses go
  }

  std::string metrics() {
    std::string out;
    auto counter = [&](const char* name, const char* help, double v) {
      http::metric_header(out, name, "counter", help);
      http::metric_line(out, name, "", v);
    };
    counter("gridcase_engine_batches_total", "batches committed", batches.load());
    counter("gridcase_engine_events_in_total", "input records processed", records.load());
    counter("gridcase_engine_messages_out_total", "case events and dead letters published",
            published.load());
    counter("gridcase_engine_dead_letters_total", "input records sent to the dead-letter topic",
            dead_letters.load());
    batch_seconds.render(out, "gridcase_engine_batch_seconds", "time of one batch (run_once)");
    auto st = group->stats();
    counter("gridcase_http_intake_groups_total", "durable appends of the HTTP intake", st.groups);
    counter("gridcase_http_intake_records_total", "input events appended by the HTTP intake",
            st.records);
    counter("gridcase_http_intake_failures_total", "failed intake appends", st.failures);
    if (store_gauges) out += store_gauges();
    if (webhooks) {
      auto w = webhooks->stats();
      counter("gridcase_webhook_deliveries_total", "notifications delivered to webhooks",
              w.delivered);
      counter("gridcase_webhook_failed_attempts_total", "webhook attempts that failed",
              w.failed_attempts);
      counter("gridcase_webhook_dead_letters_total", "notifications dead-lettered by webhooks",
              w.dead);
      http::metric_header(out, "gridcase_webhook_pending", "gauge",
                          "notifications matched and not yet delivered");
      http::metric_line(out, "gridcase_webhook_pending", "", w.pending);
    }
    return out;
  }
};

HttpFace::HttpFace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFace::~HttpFace() = default;

bool HttpFace::wanted(const ServeOptions& opt) {
  std::string listen = opt.http;
  http::ServerOptions so;
  if (!read_http_config(opt.config, listen, so)) return true;  // start() reports the error
  return !listen.empty() && !(opt.until_idle && opt.http.empty());
}

std::optional<std::unique_ptr<HttpFace>> HttpFace::start(const ServeOptions& opt, const Org& org,
                                                         LocalLog* log,
                                                         std::shared_ptr<CaseViews> views,
                                                         std::function<std::string()> store_gauges,
                                                         const Engine* engine) {
  std::string listen = opt.http;
  http::ServerOptions so;
  if (!read_http_config(opt.config, listen, so)) return std::nullopt;
  if (listen.empty()) return std::unique_ptr<HttpFace>();
  if (opt.until_idle && opt.http.empty()) {
    // A run that drains its input and stops (demos, tests) takes no HTTP input unless asked.
    spdlog::info("--until-idle: HTTP 未启动 / HTTP not started (use --http to have it)");
    return std::unique_ptr<HttpFace>();
  }
  auto impl = std::make_unique<Impl>();
  auto tokens =
      http::TokenStore::open((std::filesystem::path(opt.state_dir) / "tokens.json").string());
  if (!tokens.ok()) {
    spdlog::error("http: {}", tokens.error().message);
    return std::nullopt;
  }
  impl->tokens = std::move(tokens).value();
  std::string topic = opt.input_topic;
  if (log) {
    // The same log the service reads: LocalLog serialises appends per topic (offsets never
    // collide) and lets the engine's publishing share the WAL syncs.
    impl->log_intake = std::make_unique<http::GroupCommitIntake>(
        [log, topic](const std::vector<http::IntakeRecord>& records) -> Result<bool> {
          std::vector<std::pair<std::string, std::string>> kv;
          kv.reserve(records.size());
          for (const auto& r : records) kv.emplace_back(r.key, r.payload);
          auto r = log->append(topic, kv);
          if (!r.ok()) return r.error();
          return true;
        });
    impl->intake = impl->group = impl->log_intake.get();
  } else {
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.input_topic = topic;
    ko.client_id = "gridcase-http";
    auto k = http::KafkaIntake::open(ko);
    if (!k.ok()) {
      spdlog::error("http: Kafka producer: {}", k.error().message);
      return std::nullopt;
    }
    impl->kafka_intake = std::move(k).value();
    impl->intake = impl->kafka_intake.get();
    impl->group = &impl->kafka_intake->group();
  }
  impl->views = std::move(views);
  impl->store_gauges = std::move(store_gauges);
  http::ApiDeps deps;
  deps.org = &org;
  deps.tokens = impl->tokens.get();
  deps.intake = impl->intake;
  deps.views = impl->views;
  if (engine) {
    impl->engine = engine;
    impl->state_dir = opt.state_dir;
    impl->workflows = std::make_shared<http::WorkflowCatalog>();
    sync_catalog(*impl->workflows, *engine, opt.state_dir);
    deps.workflows = impl->workflows;
    if (!opt.workflows.empty()) {
      std::error_code ec;
      std::filesystem::path w(opt.workflows.front());
      deps.workflows_dir =
          std::filesystem::is_directory(w, ec) ? w.string() : w.parent_path().string();
    }
  }
  if (log) {
    // POST /v1/whatif replays the most recent input of the embedded log.
    deps.recorded_input = [log, topic](size_t max) -> Result<std::vector<std::string>> {
      int64_t end = log->end_offset(topic);
      int64_t from = std::max<int64_t>(0, end - static_cast<int64_t>(max));
      auto records = log->read(topic, from, max);
      if (!records.ok()) return records.error();
      std::vector<std::string> out;
      out.reserve(records.value().size());
      for (auto& r : records.value()) out.push_back(std::move(r.payload));
      return out;
    };
  }
  Impl* raw = impl.get();
  deps.hooks.store_ready = [raw](std::string* why) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    int64_t last = raw->last_ok_ms.load();
    if (last > 0 && now - last < 10000) return true;
    *why = last == 0 ? "引擎尚未完成第一批 / no batch yet"
                     : "引擎 10 秒内没有完成批次 / engine stalled";
    return false;
  };
  deps.hooks.service_metrics = [raw] { return raw->metrics(); };
  so.listen = listen;
  so.web_root = find_web_root(opt, so.web_root);
  auto server = http::HttpServer::start(std::move(deps), so);
  if (!server.ok()) {
    spdlog::error("{}", server.error().message);
    return std::nullopt;
  }
  impl->server = std::move(server).value();

  std::vector<http::WebhookConfig> hooks;
  if (!read_webhooks_config(opt.config, hooks)) return std::nullopt;
  if (!hooks.empty()) {
    if (!impl->views) {
      spdlog::error("webhooks: 需要案件视图 / need the case views");
      return std::nullopt;
    }
    if (log) {
      impl->webhook_dead_letters = std::make_unique<LocalLogSink>(*log);
    } else {
      kafka::KafkaOptions ko;
      ko.brokers = opt.kafka;
      ko.client_id = "gridcase-webhooks";
      auto k = kafka::KafkaSink::open(ko);
      if (!k.ok()) {
        spdlog::error("webhooks: Kafka producer: {}", k.error().message);
        return std::nullopt;
      }
      impl->webhook_dead_letters = std::move(k).value();
    }
    http::WebhookOptions wo;
    wo.hooks = std::move(hooks);
    wo.cursor_file = (std::filesystem::path(opt.state_dir) / "webhooks.json").string();
    wo.dead_letter_topic = opt.dead_letter_topic;
    wo.case_events_topic = opt.case_events_topic;
    size_t n = wo.hooks.size();
    auto w = http::WebhookDispatcher::start(std::move(wo), org, impl->views,
                                            *impl->webhook_dead_letters);
    if (!w.ok()) {
      spdlog::error("{}: {}", opt.config, w.error().message);
      return std::nullopt;
    }
    impl->webhooks = std::move(w).value();
    spdlog::info("webhooks: {} 个 / {} configured", n, n);
  }
  spdlog::info("HTTP 接口已启动 / HTTP API on http://{} ({} threads{})", impl->server->address(),
               so.threads, impl->views ? "" : ", case views not available: read endpoints 503");
  if (so.web_root.empty()) {
    spdlog::info(
        "网页应用未构建 / no web app: build it with `npm ci && npm run build` in connectors/web");
  } else {
    spdlog::info("网页应用 / web app: http://{}/ (from {})", impl->server->address(), so.web_root);
  }
  return std::unique_ptr<HttpFace>(new HttpFace(std::move(impl)));
}

void HttpFace::observe(ServiceOptions& options) {
  http::HttpServer* server = impl_->server.get();
  options.on_batch = [server](const BatchOutcome& batch) {
    http::deliver_outcomes(batch, [server](const std::string& id, const http::ActionOutcome& o,
                                           const std::vector<std::string>& events) {
      server->on_outcome(id, o, events);
    });
  };
}

void HttpFace::after_batch(const ServiceStats& stats, double seconds, bool ok) {
  Impl& m = *impl_;
  m.batches = stats.batches;
  m.records = stats.records;
  m.dead_letters = stats.dead_letters;
  m.published = stats.published;
  if (!ok) return;
  m.last_ok_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  if (seconds > 0) m.batch_seconds.observe(seconds);
  // Versions taken by a hot reload since: their actions and records.
  if (m.engine) sync_catalog(*m.workflows, *m.engine, m.state_dir);
  if (m.views) m.server->on_feed(m.views->feed_head());
  if (m.webhooks) m.webhooks->wake();
}

}  // namespace gridcase::app
