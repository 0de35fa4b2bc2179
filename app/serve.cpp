#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <sys/resource.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "app/migration.hpp"
#include "app/registry_topic.hpp"
#include "app/serve_config.hpp"
#include "app/serve_http.hpp"
#include "connectors/http/metrics.hpp"
#include "connectors/json_events.hpp"
#include "connectors/kafka.hpp"
#include "engine/service.hpp"
#include "engine/views.hpp"
#include "engine/yaml_util.hpp"
#include "storage/local_log.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

std::atomic<bool> g_stop{false};

void install_stop_handlers() {
  std::signal(SIGINT, [](int) { g_stop.store(true); });
  std::signal(SIGTERM, [](int) { g_stop.store(true); });
}

namespace {

class WallClock final : public Clock {
 public:
  Timestamp now() override {
    auto d = std::chrono::system_clock::now().time_since_epoch();
    return Timestamp{std::chrono::duration_cast<std::chrono::milliseconds>(d).count()};
  }
};

// Reads config/gridcase.yaml into `opt` where the command line left a value unset.
bool read_config(ServeOptions& opt) {
  if (opt.config.empty()) return true;
  // Types, ranges and known keys first: located errors (serve does not start), and a
  // warning for each unknown key (ignored, as it always was).
  Diagnostics diags;
  auto checked = check_serve_config_file(opt.config, diags);
  for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
  if (!checked) return false;
  const YAML::Node c = *checked;
  auto str = [&](const YAML::Node& n, std::string& into) {
    if (n && n.IsScalar() && into.empty()) into = n.Scalar();
  };
  try {
    str(c["org"], opt.org);
    if (c["workflows"] && opt.workflows.empty()) opt.workflows.push_back(c["workflows"].Scalar());
    str(c["state_dir"], opt.state_dir);
    if (YAML::Node k = c["kafka"]) {
      if (!opt.kafka_set) str(k["brokers"], opt.kafka);
      str(k["input_topic"], opt.input_topic);
      str(k["case_events_topic"], opt.case_events_topic);
      str(k["dead_letter_topic"], opt.dead_letter_topic);
      str(k["workflows_topic"], opt.workflows_topic);
      if (k["partitions"] && !opt.partitions_set) opt.partitions = k["partitions"].as<int>();
      if (k["exactly_once"]) opt.exactly_once = k["exactly_once"].as<bool>();
      if (k["delivery_timeout_ms"]) opt.delivery_timeout_ms = k["delivery_timeout_ms"].as<int>();
      if (k["offset_commit_interval_ms"]) {
        opt.offset_commit_interval_ms = k["offset_commit_interval_ms"].as<int>();
      }
      if (k["group_id"]) opt.group_id = k["group_id"].Scalar();
      if (k["instance_id"]) opt.instance_id = k["instance_id"].Scalar();
    }
    if (YAML::Node e = c["engine"]) {
      if (e["max_batch"]) opt.max_batch = e["max_batch"].as<size_t>();
      if (e["poll_timeout_ms"]) opt.poll_timeout_ms = e["poll_timeout_ms"].as<int>();
      if (e["sync_commit"]) opt.sync_commit = e["sync_commit"].as<bool>();
      if (e["write_behind"]) opt.write_behind = e["write_behind"].as<bool>();
      if (e["watch_workflows"] && !opt.watch_workflows) {
        opt.watch_workflows = e["watch_workflows"].as<bool>();
      }
    }
    if (YAML::Node l = c["log"]) {
      str(l["format"], opt.log_format);
      str(l["level"], opt.log_level);
    }
  } catch (const YAML::Exception& e) {
    std::cerr << opt.config << ":" << e.mark.line + 1 << ":" << e.mark.column + 1
              << ": error: " << e.msg << '\n';
    return false;
  }
  return true;
}

void setup_logging(const ServeOptions& opt) {
  spdlog::set_level(spdlog::level::from_str(opt.log_level.empty() ? "info" : opt.log_level));
  if (opt.log_format == "json") {
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

}  // namespace

int run_serve(ServeOptions opt) {
  const auto started_at = std::chrono::steady_clock::now();
  // First: a SIGTERM while starting (opening the store, starting HTTP) stops cleanly too.
  install_stop_handlers();
  if (!read_config(opt)) return 2;
  if (opt.org.empty()) opt.org = "config/org.yaml";
  if (opt.workflows.empty()) opt.workflows.push_back("workflows");
  if (opt.state_dir.empty()) opt.state_dir = "state";
  if (opt.input_topic.empty()) opt.input_topic = "gridcase.input";
  if (opt.case_events_topic.empty()) opt.case_events_topic = "gridcase.case-events";
  if (opt.dead_letter_topic.empty()) opt.dead_letter_topic = "gridcase.dead-letter";
  if (opt.workflows_topic.empty()) opt.workflows_topic = kWorkflowsTopic;
  setup_logging(opt);

  // With Kafka, the registry is the topic: mirrored into STATE/workflows before the
  // engine loads (every version deployed so far), then followed between batches.
  std::unique_ptr<RegistryFollower> registry_follower;
  if (!opt.kafka.empty()) {
    auto f = RegistryFollower::open(opt.kafka, opt.workflows_topic, opt.state_dir);
    Result<size_t> mirrored = f.ok() ? f.value()->mirror(10000) : Result<size_t>(f.error());
    if (!mirrored.ok()) {
      spdlog::error("Kafka {} ({}): {}", opt.kafka, opt.workflows_topic, mirrored.error().message);
      return 2;
    }
    if (mirrored.value() > 0) {
      spdlog::info("已同步流程版本 / registry synced from {}: {} record(s)", opt.workflows_topic,
                   mirrored.value());
    }
    registry_follower = std::move(f).value();
  }

  // org_version: the deployed org tree the engine runs on (0: the file). A newer one is
  // taken by a restart in place (see reload below).
  int64_t org_version = 0;
  auto engine = load_engine(opt.org, opt.workflows, opt.state_dir, &org_version);
  if (!engine) return 2;
  int64_t org_announced = org_version;
  bool restart_for_org = false;
  namespace fs = std::filesystem;
  std::error_code mkdir_error;
  fs::create_directories(opt.state_dir, mkdir_error);
  RocksOptions ro;
  ro.sync_on_commit = opt.sync_commit;
  // The read models behind the HTTP API cost writes: kept only when the API runs.
  ro.views = HttpFace::wanted(opt);
  auto store = RocksStore::open((fs::path(opt.state_dir) / "engine").string(), *engine, ro);
  if (!store.ok()) {
    spdlog::error("state {}: {}", opt.state_dir, store.error().message);
    return 2;
  }
  // The same runtime over either pair of adapters: Kafka, or the embedded local log.
  std::unique_ptr<EventSource> source;
  std::unique_ptr<MessageSink> sink;
  std::unique_ptr<LocalLog> log;
  kafka::KafkaSource* kafka_source = nullptr;  // for --until-idle: has it read everything?
  if (!opt.kafka.empty()) {
    kafka::KafkaOptions ko;
    ko.brokers = opt.kafka;
    ko.input_topic = opt.input_topic;
    ko.case_events_topic = opt.case_events_topic;
    ko.dead_letter_topic = opt.dead_letter_topic;
    ko.partitions = opt.partitions;
    ko.exactly_once = opt.exactly_once;
    ko.group_id = opt.group_id;
    ko.delivery_timeout_ms = opt.delivery_timeout_ms;
    ko.offset_commit_interval_ms = opt.offset_commit_interval_ms;
    ko.group_instance_id = opt.instance_id;
    if (auto r = kafka::ensure_topics(ko); !r.ok()) {
      spdlog::error("Kafka {}: {}", opt.kafka, r.error().message);
      return 2;
    }
    auto src = kafka::KafkaSource::open(ko);
    if (!src.ok()) {
      spdlog::error("Kafka source: {}", src.error().message);
      return 2;
    }
    auto snk = kafka::KafkaSink::open(ko, src.value().get());
    if (!snk.ok()) {
      spdlog::error("Kafka sink: {}", snk.error().message);
      return 2;
    }
    kafka_source = src.value().get();
    source = std::move(src).value();
    sink = std::move(snk).value();
  } else {
    auto opened = LocalLog::open((fs::path(opt.state_dir) / "log").string());
    if (!opened.ok()) {
      spdlog::error("{}", opened.error().message);
      return 2;
    }
    log = std::move(opened).value();
    source = std::make_unique<LocalLogSource>(*log, opt.input_topic,
                                              (fs::path(opt.state_dir) / "spool").string());
    sink = std::make_unique<LocalLogSink>(*log);
  }
  WallClock clock;
  const Org& org = engine->org();
  ServiceCodecs codecs;
  codecs.parse = [&org](std::string_view p) { return json::parse_input_event(p, org); };
  codecs.format = [](const CaseEvent& e) { return json::case_event_line(e); };
  codecs.dead_letter = [](const SourceRecord& r, const std::string& reason,
                          const std::string& error) {
    return json::dead_letter_json(reason, error, r.topic, r.partition, r.offset, r.payload);
  };
  // The HTTP face (app/serve_http.cpp), if configured: it appends to the same input topic.
  RocksStore* rocks = store.value().get();
  auto watch_rejected = std::make_shared<std::atomic<uint64_t>>(0);
  auto gauges = [rocks, watch_rejected] {
    auto e = rocks->estimates();
    std::string out;
    http::metric_header(out, "gridcase_cases_estimate", "gauge",
                        "cases in the store, open and closed (RocksDB estimate)");
    http::metric_line(out, "gridcase_cases_estimate", "", static_cast<double>(e.cases));
    http::metric_header(out, "gridcase_pending_timers_estimate", "gauge",
                        "SLA and state timers waiting (RocksDB estimate)");
    http::metric_line(out, "gridcase_pending_timers_estimate", "", static_cast<double>(e.timers));
    http::metric_header(out, "gridcase_open_cases", "gauge",
                        "open cases by the level they are at (exact, as committed)");
    for (const auto& [level, n] : rocks->open_by_level()) {
      http::metric_line(out, "gridcase_open_cases", "level=\"" + level + "\"",
                        static_cast<double>(n));
    }
    http::metric_header(out, "gridcase_workflow_deploys_rejected_total", "counter",
                        "changed workflow files that did not validate (the live version stayed)");
    http::metric_line(out, "gridcase_workflow_deploys_rejected_total", "",
                      static_cast<double>(watch_rejected->load()));
    return out;
  };
  auto http = HttpFace::start(opt, org, log.get(),
                              std::shared_ptr<CaseViews>(store.value()->views()), gauges, &*engine);
  if (!http) return 2;
  ServiceOptions so;
  so.max_batch = opt.max_batch;
  so.poll_timeout_ms = opt.poll_timeout_ms;
  so.write_behind = opt.write_behind;
  so.case_events_topic = opt.case_events_topic;
  so.dead_letter_topic = opt.dead_letter_topic;
  if (*http) (*http)->observe(so);
  // For `gridcase migrate` on the stopped engine: where its events are to be published.
  store.value()->put_meta("serve.case_events_topic", opt.case_events_topic);
  Service service(*engine, *store.value(), *source, *sink, clock, codecs, so);
  if (auto r = service.start(); !r.ok()) {
    spdlog::error("start: {}", r.error().message);
    return 2;
  }
  spdlog::info("gridcase serve 已启动 / started: {}, state in {}, {} workflow(s), {} unit(s)",
               opt.kafka.empty() ? std::string("embedded log") : "Kafka " + opt.kafka,
               opt.state_dir, engine->workflows().size(), org.units.size());
  // Versions deployed while serving are taken between two batches, at most every 2 s.
  auto last_reload = std::chrono::steady_clock::now();
  std::string reload_problem;
  uint64_t reload_failures = 0;
  auto reload = [&] {
    if (registry_follower) {
      auto got = registry_follower->mirror(0);
      if (!got.ok()) {
        spdlog::warn("流程版本同步失败，稍后重试 / registry topic not read, trying again: {}",
                     got.error().message);
      }
    }
    const std::string dir = registry_dir(opt.state_dir);
    if (!WorkflowRegistry::exists(dir)) return;
    auto reg = WorkflowRegistry::open_read_only(dir);
    Diagnostics diags;
    std::optional<std::vector<Workflow>> more;
    if (reg.ok()) {
      more = new_versions(*reg.value(), *engine, diags);
    } else {
      diags.error(dir, {}, reg.error().message);
    }
    if (!more) {
      std::string why;
      for (const auto& d : diags.all()) why += (why.empty() ? "" : "; ") + d.format();
      ++reload_failures;
      if (why != reload_problem) {
        spdlog::error(
            "新版本未加载，现行版本不变 / new versions not loaded, the live ones stay "
            "({} time(s)): {}",
            reload_failures, why);
        reload_problem = why;
      }
      return;
    }
    reload_problem.clear();
    if (auto head = reg.value()->head(kOrgEntry);
        head.ok() && head.value() && head.value()->version > org_announced) {
      // A newer org tree: the HTTP threads, access rules and read models hold the tree they
      // started with, so the engine restarts in place on it (a clean stop, then exec) once a
      // trial load shows that it and every version load; else it keeps running on its tree.
      org_announced = head.value()->version;
      if (load_engine(opt.org, opt.workflows, opt.state_dir)) {
        spdlog::info(
            "组织架构 v{} 已部署，引擎原地重启以采用 / org tree v{} deployed: restarting in "
            "place on it (running v{})",
            org_announced, org_announced, org_version);
        restart_for_org = true;
      } else {
        watch_rejected->fetch_add(1);
        spdlog::error(
            "组织架构 v{} 无法加载，继续使用 v{} / org tree v{} does not load here, staying on "
            "v{}",
            org_announced, org_version, org_announced, org_version);
      }
    }
    for (const auto& w : *more) {
      spdlog::info("已加载新版本 / now live: {} v{} ({})", w.name, w.version, w.hash.substr(0, 12));
    }
    if (!more->empty()) {
      // The store's writer may be encoding the last batch's cases with the engine's
      // workflows: it finishes first. (A failed write is latched; the service stops on it.)
      (void)rocks->durable();
      engine->add_versions(std::move(*more));
    }
    // Migration orders (`gridcase migrate` while serving), each applied once: the number
    // of the last one applied is committed with its changes.
    int64_t applied = 0;
    if (auto a = rocks->get_meta("migrations.applied")) applied = std::stoll(*a);
    auto orders = reg.value()->migrations_after(applied);
    if (!orders.ok()) {
      spdlog::error("迁移指令读取失败 / cannot read migration orders: {}", orders.error().message);
      return;
    }
    for (const auto& o : orders.value()) {
      nlohmann::json report{{"seq", o.seq}};
      auto done = service.run_admin([&](Processor& proc) -> Result<bool> {
        MigrationRequest req{o.name, o.to, o.where, false};
        auto res = migrate_cases(*engine, *rocks, proc, req);
        report["at"] = format_timestamp(proc.clock());
        if (!res.ok()) {
          report["error"] = res.error().message;  // nothing moved: the order is answered
        } else {
          report["moved"] = res.value().moved;
          report["refused"] = res.value().refused;
          report["where_failed"] = res.value().where_failed;
          auto& lines = report["lines"] = nlohmann::json::array();
          for (size_t i = 0; i < res.value().lines.size() && i < 1000; ++i) {
            lines.push_back(res.value().lines[i]);
          }
        }
        rocks->put_meta("migration/" + std::to_string(o.seq), report.dump());
        rocks->put_meta("migrations.applied", std::to_string(o.seq));
        return true;
      });
      if (!done.ok() && (service.broken() || !service.publish_pending())) {
        spdlog::error("迁移指令 #{} 未完成 / migration order #{} failed: {}", o.seq, o.seq,
                      done.error().message);
        return;  // not committed: tried again at the next look
      }
      // (Committed but not yet published, the broker being away: the outbox is durable
      // and goes out before the next batch.)
      if (report.contains("error")) {
        spdlog::error("迁移指令 #{} 被拒绝 / migration order #{} refused: {}", o.seq, o.seq,
                      report["error"].get<std::string>());
      } else {
        spdlog::info(
            "迁移指令 #{} 已执行 / migration order #{} applied ({} → v{}, by {}): {} moved, {} "
            "cannot move",
            o.seq, o.seq, o.name, o.to, o.actor, report["moved"].get<int>(),
            report["refused"].get<int>());
      }
    }
  };
  // Single-node mode: a workflow file changed in the workflows directory is deployed like
  // `gridcase deploy` would (validated first; an invalid one is refused, logged with its
  // location and counted, and the live version stays), then taken by reload(). A file is
  // deployed once its content is the same at two looks in a row, so a file still being
  // written is not taken half-way.
  const bool watch = opt.watch_workflows.value_or(opt.kafka.empty());
  std::map<std::string, std::string> seen_text, pending_text;
  auto look_at_files = [&](bool first) {
    Diagnostics ignored;
    std::vector<std::string> settled;
    std::map<std::string, std::string> now;
    for (const auto& p : opt.workflows) {
      for (const auto& f : yaml_files(p, ignored)) {
        std::string text;
        if (yaml::read_file(f, text)) now[f] = std::move(text);
      }
    }
    for (auto& [f, text] : now) {
      auto seen = seen_text.find(f);
      if (first || (seen != seen_text.end() && seen->second == text)) {
        pending_text.erase(f);
        continue;
      }
      auto pending = pending_text.find(f);
      if (pending != pending_text.end() && pending->second == text) {
        settled.push_back(f);
        pending_text.erase(pending);
      } else {
        pending_text[f] = text;  // changed since the last look: deployed once it settles
      }
    }
    if (!first && settled.empty()) return;
    for (const auto& f : settled) seen_text[f] = now[f];
    if (first) seen_text = std::move(now);
    if (settled.empty()) return;
    DeployReport rep = deploy_files(settled, engine->org(), opt.state_dir, "serve (watch)");
    for (const auto& l : rep.lines) spdlog::info("工作流文件已变更 / workflow file changed: {}", l);
    if (rep.status != 0) {
      watch_rejected->fetch_add(settled.size());
      for (const auto& e : rep.errors) spdlog::error("{}", e);
    }
  };
  if (watch) {
    look_at_files(true);
    spdlog::info("监视工作流目录 / watching the workflow files in {}",
                 fmt::join(opt.workflows, ", "));
  }
  uint64_t last_dead = 0;
  int backoff_ms = 0;
  bool first_batch_logged = false;
  uint64_t logged_records = 0;
  while (!g_stop.load() && !restart_for_org) {
    if (service.broken()) {
      // A commit failed (between two batches, for a migration order): what is stored stays
      // consistent; a restart goes on from it.
      spdlog::error("提交失败，请重启 / a commit failed: restart serve to go on from the store");
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = service.run_once();
    if (*http) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
      (*http)->after_batch(service.stats(), r.ok() && *r > 0 ? took.count() : 0, r.ok());
    }
    if (!r.ok()) {
      if (service.broken() || !service.publish_pending()) {
        spdlog::error("batch failed: {}", r.error().message);
        return 1;
      }
      // Committed but not published (the broker is away): the outbox is durable, so wait
      // and publish it again; nothing new is taken meanwhile.
      backoff_ms = std::min(5000, std::max(200, backoff_ms * 2));
      spdlog::warn("发布失败，{} ms 后重试 / publish failed, retrying in {} ms: {}", backoff_ms,
                   backoff_ms, r.error().message);
      for (int waited = 0; waited < backoff_ms && !g_stop.load(); waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    if (*r > 0 && !first_batch_logged) {
      // How long a restart takes to be processing again (store open, seek, group join).
      first_batch_logged = true;
      spdlog::info("首批输入已处理 first batch processed, {} ms after start",
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started_at)
                       .count());
    }
    if (backoff_ms > 0) {
      spdlog::info("发布已恢复 / publishing again");
      backoff_ms = 0;
    }
    const ServiceStats& st = service.stats();
    // Progress: every 10,000 records, and once when the input runs dry (not per batch: a
    // live trickle would log a line per report).
    if (st.records != logged_records && (st.records / 10000 != logged_records / 10000 || *r == 0)) {
      spdlog::info("已处理 processed {} records, {} dead letters, {} messages published",
                   st.records, st.dead_letters, st.published);
      logged_records = st.records;
    }
    if (st.dead_letters != last_dead) {
      spdlog::warn("{} 条坏输入进入死信 / bad input records went to {}",
                   st.dead_letters - last_dead, so.dead_letter_topic);
    }
    last_dead = st.dead_letters;
    if (std::chrono::steady_clock::now() - last_reload >= std::chrono::seconds(2)) {
      last_reload = std::chrono::steady_clock::now();
      if (watch) look_at_files(false);
      reload();
    }
    if (opt.until_idle && *r == 0) {
      // Idle: the embedded log has nothing new; on Kafka, every assigned partition has
      // been read to its end (the group join takes a moment first).
      if (!kafka_source) break;
      auto caught_up = kafka_source->caught_up(5000);
      if (!caught_up.ok()) {
        spdlog::warn("{}", caught_up.error().message);
      } else if (caught_up.value()) {
        break;
      }
    }
  }
  if (auto r = service.flush(); !r.ok()) {
    // Committed and kept in the stored outbox: the next start publishes it.
    spdlog::warn(
        "停止时发布未完成，下次启动时补发 / not all published at stop (the next start "
        "publishes them): {}",
        r.error().message);
  }
  // The engine thread's CPU time: with the records, what each one cost this thread (the
  // one that applies them all, in order).
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  const double cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  spdlog::info(
      "gridcase serve 已停止 / stopped after {} records (引擎线程 engine thread CPU {:.2f} s)",
      service.stats().records, cpu_s);
  return restart_for_org && !g_stop.load() ? kServeRestart : 0;
}

}  // namespace gridcase::app
