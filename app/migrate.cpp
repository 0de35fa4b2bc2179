// gridcase migrate: move open cases to another deployed version of their workflow, with
// their timers recomputed (docs/lifecycle.md). On a stopped engine's state directory the
// cases move here and their `migrated` events wait in the stored outbox for the next start
// to publish; while `serve` runs, the order goes through the registry and the engine moves
// the cases between two batches and publishes the events itself.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "app/migration.hpp"
#include "app/registry_topic.hpp"
#include "connectors/json_events.hpp"
#include "engine/service.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace fs = std::filesystem;

namespace {

std::string sla_due(const Case& c) {
  for (const auto& t : c.timers) {
    if (t.kind == PendingTimer::Kind::SlaExpiry) return format_timestamp(t.due);
  }
  return "-";
}

class NullSink final : public EventSink {
 public:
  void emit(const CaseEvent&) override {}
};

// Offline: each `migrated` event is printed, kept in the views (when the store has them)
// and staged for the next start to publish on the case-events topic.
class StagingSink final : public EventSink {
 public:
  StagingSink(CaseStore& store, std::string topic) : store_(store), topic_(std::move(topic)) {}
  void emit(const CaseEvent& e) override {
    std::string line = json::case_event_line(e);
    std::cout << line << '\n';
    store_.record_event(e, line);
    staged.push_back({topic_, e.case_id, std::move(line)});
  }
  std::vector<OutMessage> staged;

 private:
  CaseStore& store_;
  std::string topic_;
};

// Stores the order, with its audit record, in the registry of `state_dir`; its seq.
Result<int64_t> store_order(const MigrateOptions& opt, const std::string& state_dir) {
  auto reg = WorkflowRegistry::open(registry_dir(state_dir));
  if (!reg.ok()) return reg.error();
  MigrationOrder order;
  order.name = opt.name;
  order.to = opt.to;
  order.where = opt.where;
  order.at = now_utc();
  order.actor = actor_of(opt.actor);
  return reg.value()->order_migration(order);
}

bool is_lock_error(const std::string& message) {
  return message.find("lock") != std::string::npos || message.find("LOCK") != std::string::npos;
}

// The engine is running: hand the order over through the registry and wait for the
// engine's report of it (meta migration/SEQ in its store, read without a lock).
int order_live(const MigrateOptions& opt, const Engine& engine, const fs::path& dir) {
  auto seq = store_order(opt, opt.state_dir);
  if (!seq.ok()) {
    std::cerr << "gridcase migrate: " << seq.error().message << '\n';
    return 2;
  }
  std::cerr << "引擎正在运行：迁移指令 #" << seq.value()
            << " 已交给它，在两批之间执行 / the engine is running: order #" << seq.value()
            << " handed to it, applied between two batches\n";
  if (opt.wait_seconds <= 0) return 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opt.wait_seconds);
  const std::string key = "migration/" + std::to_string(seq.value());
  RocksOptions ro;
  ro.read_only = true;
  ro.block_cache_bytes = size_t{1} << 20;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto store = RocksStore::open(dir.string(), engine, ro); store.ok()) {
      if (auto report = store.value()->get_meta(key)) {
        auto j = nlohmann::json::parse(*report, nullptr, false);
        if (!j.is_object()) break;
        for (const auto& l : j.value("lines", nlohmann::json::array())) {
          std::cerr << l.get<std::string>() << '\n';
        }
        if (j.contains("error")) {
          std::cerr << "gridcase migrate: 引擎拒绝 the engine refused: "
                    << j["error"].get<std::string>() << '\n';
          return 2;
        }
        std::fprintf(stderr,
                     "完成 done: %d 件已迁移 moved, %d 件不能迁移 cannot move; 迁移事件已发布 "
                     "the migrated events are published on the case-events topic\n",
                     j.value("moved", 0), j.value("refused", 0));
        return 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::cerr << "gridcase migrate: " << opt.wait_seconds
            << " 秒内引擎未报告结果；指令仍有效，引擎下次启动时执行 / no report from the "
               "engine in time; the order stands and is applied when the engine runs\n";
  return 3;
}

}  // namespace

Result<MigrationResult> migrate_cases(const Engine& engine, CaseStore& store, Processor& proc,
                                      const MigrationRequest& req) {
  const int to = engine.workflow_index(req.name, req.to);
  if (to < 0) {
    return err("流程 workflow '" + req.name + "' 没有版本 has no version " +
               std::to_string(req.to));
  }
  // --where, compiled per version (each has its own vars); located as --where:1:COL.
  std::map<int, Expr> where;
  std::optional<Error> bad_where;
  auto where_for = [&](int wf) -> const Expr* {
    if (auto it = where.find(wf); it != where.end()) return &it->second;
    expr::CompileOptions copts;
    copts.case_fields = case_field_names(engine.workflows()[wf].vars);
    copts.event_fields = std::vector<std::string>{};
    copts.levels = engine.org().levels;
    auto p = expr::compile(*req.where, {1, 1}, copts);
    if (!p.ok()) {
      bad_where = Error{"--where:" + std::to_string(p.error().pos.line) + ":" +
                            std::to_string(p.error().pos.col) + ": error: " + p.error().message,
                        {}};
      return nullptr;
    }
    return &where.emplace(wf, Expr(std::move(p).value(), nullptr, {1, 1})).first->second;
  };
  MigrationResult out;
  std::vector<Case> candidates;
  auto r = store.for_each_case([&](const Case& c) {
    if (bad_where || c.closed || c.workflow == to ||
        engine.workflows()[c.workflow].name != req.name)
      return;
    if (req.where) {
      const Expr* e = where_for(c.workflow);
      if (!e) return;
      auto holds = engine.case_matches(*e, c, proc.clock());
      if (!holds.ok()) ++out.where_failed;  // counts as false, like a failing `when`
      if (!holds.ok() || !holds.value()) return;
    }
    candidates.push_back(c);
  });
  if (bad_where) return *bad_where;
  if (!r.ok()) return r.error();
  for (const Case& c : candidates) {
    const Workflow& from = engine.workflows()[c.workflow];
    std::string why;
    Case after = c;
    uint64_t seq = 0;
    StepResult scratch;
    bool ok = engine.migrate(after, to, proc.clock(), seq, scratch, &why);
    char line[512];
    std::snprintf(line, sizeof line, "%s %s v%lld → v%lld %s@%s SLA %s → %s%s",
                  ok ? (req.dry_run ? "可迁移 would move" : "迁移 moved") : "不能迁移 cannot move",
                  c.id.c_str(), static_cast<long long>(from.version),
                  static_cast<long long>(req.to), from.states[c.state].name.c_str(),
                  from.levels[c.level].c_str(), sla_due(c).c_str(),
                  ok ? sla_due(after).c_str() : "-", ok ? "" : (": " + why).c_str());
    out.lines.emplace_back(line);
    if (!ok) {
      ++out.refused;
      continue;
    }
    ++out.moved;
    if (req.dry_run) continue;
    auto m = proc.migrate(c.id, to, &why);
    if (!m.ok()) return m.error();
  }
  return out;
}

int run_migrate(const MigrateOptions& opt) {
  if (!opt.kafka.empty()) {
    // Every engine follows the topic and applies the order to the cases it holds.
    return with_registry_topic(
        opt.kafka, opt.workflows_topic, !opt.dry_run, [&](const std::string& dir) -> int {
          if (!WorkflowRegistry::exists(registry_dir(dir))) {
            std::cerr << "gridcase migrate: no workflows deployed on " << opt.workflows_topic
                      << '\n';
            return 2;
          }
          auto engine = load_engine(opt.org, {}, dir);
          if (!engine) return 2;
          if (engine->workflow_index(opt.name, opt.to) < 0) {
            std::cerr << "gridcase migrate: 流程 workflow '" << opt.name
                      << "' 没有版本 has no version " << opt.to << '\n';
            return 2;
          }
          if (opt.dry_run) {
            std::cerr << "gridcase migrate: --dry-run reads an engine's state: give its "
                         "--state-dir instead of --kafka\n";
            return 2;
          }
          auto seq = store_order(opt, dir);
          if (!seq.ok()) {
            std::cerr << "gridcase migrate: " << seq.error().message << '\n';
            return 2;
          }
          std::cerr << "迁移指令 #" << seq.value() << " 已发布，各引擎在两批之间执行 / order #"
                    << seq.value()
                    << " published: every engine applies it to its cases between two batches\n";
          return 0;
        });
  }
  if (!WorkflowRegistry::exists(registry_dir(opt.state_dir))) {
    std::cerr << "gridcase migrate: no workflows deployed in " << opt.state_dir
              << " (gridcase deploy first)\n";
    return 2;
  }
  auto engine = load_engine(opt.org, {}, opt.state_dir);
  if (!engine) return 2;
  if (engine->workflow_index(opt.name, opt.to) < 0) {
    std::cerr << "gridcase migrate: 流程 workflow '" << opt.name << "' 没有版本 has no version "
              << opt.to << '\n';
    return 2;
  }
  fs::path dir = opt.state_dir;
  if (fs::is_directory(dir / "engine")) dir /= "engine";
  RocksOptions ro;
  if (opt.dry_run) {
    ro.read_only = true;  // works beside a running engine too
  } else if (auto views = RocksStore::keeps_views(dir.string(), *engine); views.ok()) {
    ro.views = views.value();
  }
  auto store = RocksStore::open(dir.string(), *engine, ro);
  if (!store.ok()) {
    if (!opt.dry_run && is_lock_error(store.error().message)) return order_live(opt, *engine, dir);
    std::cerr << "gridcase migrate: " << store.error().message << '\n';
    return 2;
  }
  const std::string topic =
      store.value()->get_meta("serve.case_events_topic").value_or("gridcase.case-events");
  NullSink null_sink;
  StagingSink staging(*store.value(), topic);
  Processor proc(*engine, *store.value(),
                 opt.dry_run ? static_cast<EventSink&>(null_sink) : staging);
  if (auto r = proc.init(); !r.ok()) {
    std::cerr << "gridcase migrate: state: " << r.error().message << '\n';
    return 2;
  }
  MigrationRequest req{opt.name, opt.to, opt.where, opt.dry_run};
  auto result = migrate_cases(*engine, *store.value(), proc, req);
  if (!result.ok()) {
    std::cerr << (result.error().message.starts_with("--where") ? "" : "gridcase migrate: ")
              << result.error().message << '\n';
    return 2;
  }
  for (const auto& l : result.value().lines) std::cerr << l << '\n';
  if (result.value().where_failed > 0) {
    std::cerr << "--where: " << result.value().where_failed
              << " 件案件求值出错，按不满足处理 / case(s) where it failed count as not matching\n";
  }
  if (!opt.dry_run) {
    if (!staging.staged.empty()) stage_outbox(*store.value(), staging.staged);
    if (auto c = proc.commit(); !c.ok()) {
      std::cerr << "gridcase migrate: state: " << c.error().message << '\n';
      return 2;
    }
  }
  std::fprintf(stderr, "%s: %d 件可迁移 movable, %d 件不能迁移 cannot move%s\n",
               opt.dry_run ? "预演 dry run" : "完成 done", result.value().moved,
               result.value().refused,
               opt.dry_run ? "（未作改动 nothing changed）"
               : staging.staged.empty()
                   ? ""
                   : "; 迁移事件在引擎下次启动时发布 the migrated events are published when "
                     "the engine starts");
  return 0;
}

}  // namespace gridcase::app
