// gridcase migrate: move open cases to another deployed version of their workflow, with
// their timers recomputed (docs/lifecycle.md). Runs on a stopped engine's state directory.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "connectors/json_events.hpp"
#include "engine/runtime.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace {

class LineSink final : public EventSink {
 public:
  void emit(const CaseEvent& e) override { std::cout << json::case_event_line(e) << '\n'; }
};

std::string sla_due(const Case& c) {
  for (const auto& t : c.timers) {
    if (t.kind == PendingTimer::Kind::SlaExpiry) return format_timestamp(t.due);
  }
  return "-";
}

}  // namespace

int run_migrate(const MigrateOptions& opt) {
  namespace fs = std::filesystem;
  if (!WorkflowRegistry::exists(registry_dir(opt.state_dir))) {
    std::cerr << "gridcase migrate: no workflows deployed in " << opt.state_dir
              << " (gridcase deploy first)\n";
    return 2;
  }
  auto engine = load_engine(opt.org, {}, opt.state_dir);
  if (!engine) return 2;
  const int to = engine->workflow_index(opt.name, opt.to);
  if (to < 0) {
    std::cerr << "gridcase migrate: 流程 workflow '" << opt.name << "' 没有版本 has no version "
              << opt.to << '\n';
    return 2;
  }
  fs::path dir = opt.state_dir;
  if (fs::is_directory(dir / "engine")) dir /= "engine";
  auto store = RocksStore::open(dir.string(), *engine);
  if (!store.ok()) {
    std::cerr << "gridcase migrate: " << store.error().message
              << " (is the engine still running? migrate needs it stopped)\n";
    return 2;
  }
  LineSink sink;
  Processor proc(*engine, *store.value(), sink);
  if (auto r = proc.init(); !r.ok()) {
    std::cerr << "gridcase migrate: state: " << r.error().message << '\n';
    return 2;
  }
  // --where, compiled per version (each has its own vars); located as --where:1:COL.
  std::map<int, Expr> where;
  auto where_for = [&](int wf) -> const Expr* {
    if (!opt.where) return nullptr;
    if (auto it = where.find(wf); it != where.end()) return &it->second;
    expr::CompileOptions copts;
    copts.case_fields = case_field_names(engine->workflows()[wf].vars);
    copts.event_fields = std::vector<std::string>{};
    copts.levels = engine->org().levels;
    auto p = expr::compile(*opt.where, {1, 1}, copts);
    if (!p.ok()) {
      std::cerr << "--where:" << p.error().pos.line << ':' << p.error().pos.col
                << ": error: " << p.error().message << '\n';
      return nullptr;
    }
    return &where.emplace(wf, Expr(std::move(p).value(), nullptr, {1, 1})).first->second;
  };
  std::vector<Case> candidates;
  bool bad_where = false;
  uint64_t where_failed = 0;
  auto r = store.value()->for_each_case([&](const Case& c) {
    if (c.closed || c.workflow == to || engine->workflows()[c.workflow].name != opt.name) return;
    if (opt.where) {
      const Expr* e = where_for(c.workflow);
      if (!e) {
        bad_where = true;
        return;
      }
      auto holds = engine->case_matches(*e, c, proc.clock());
      if (!holds.ok()) ++where_failed;  // counts as false, like a failing `when`
      if (!holds.ok() || !holds.value()) return;
    }
    candidates.push_back(c);
  });
  if (bad_where) return 2;
  if (where_failed > 0) {
    std::cerr << "--where: " << where_failed
              << " 件案件求值出错，按不满足处理 / case(s) where it failed count as not matching\n";
  }
  if (!r.ok()) {
    std::cerr << "gridcase migrate: state: " << r.error().message << '\n';
    return 2;
  }
  int moved = 0, refused = 0;
  for (const Case& c : candidates) {
    const Workflow& from = engine->workflows()[c.workflow];
    std::string why;
    Case after = c;
    uint64_t seq = 0;
    StepResult scratch;
    bool ok = engine->migrate(after, to, proc.clock(), seq, scratch, &why);
    std::fprintf(stderr, "%s %s v%lld → v%lld %s@%s SLA %s → %s%s\n",
                 ok ? (opt.dry_run ? "可迁移 would move" : "迁移 moved") : "不能迁移 cannot move",
                 c.id.c_str(), static_cast<long long>(from.version), static_cast<long long>(opt.to),
                 from.states[c.state].name.c_str(), from.levels[c.level].c_str(),
                 sla_due(c).c_str(), ok ? sla_due(after).c_str() : "-",
                 ok ? "" : (": " + why).c_str());
    if (!ok) {
      ++refused;
      continue;
    }
    ++moved;
    if (opt.dry_run) continue;
    auto m = proc.migrate(c.id, to, &why);
    if (!m.ok()) {
      std::cerr << "gridcase migrate: state: " << m.error().message << '\n';
      return 2;
    }
  }
  if (!opt.dry_run) {
    if (auto c = proc.commit(); !c.ok()) {
      std::cerr << "gridcase migrate: state: " << c.error().message << '\n';
      return 2;
    }
  }
  std::fprintf(stderr, "%s: %d 件可迁移 movable, %d 件不能迁移 cannot move%s\n",
               opt.dry_run ? "预演 dry run" : "完成 done", moved, refused,
               opt.dry_run ? "（未作改动 nothing changed）" : "");
  return 0;
}

}  // namespace gridcase::app
