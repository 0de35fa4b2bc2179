#include "connectors/http/workflow_catalog.hpp"

#include <algorithm>
#include <set>

#include "connectors/http/tokens.hpp"
#include "engine/yaml_util.hpp"

namespace gridcase::http {

std::vector<OfferedAction> offered_actions(const Workflow& wf, const State& st) {
  std::set<std::string, std::less<>> timer_events;
  for (const State& s : wf.states) {
    for (const TimerSpec& t : s.timers) timer_events.insert(t.event);
  }
  std::vector<OfferedAction> out;
  for (const auto& [event, transitions] : st.on) {
    if (event == "opened" || event == "report" || event == "sla_warning" ||
        event == "sla_expired" || timer_events.count(event)) {
      continue;
    }
    OfferedAction a;
    a.action = event;
    for (const Transition& t : transitions) {
      a.rules.push_back({t.by == 0 ? static_cast<uint8_t>(kByAny) : t.by,
                         t.when ? t.when->source() : std::string(), t.when});
    }
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// An Env that answers from CaseFacts and notes when evaluation reads anything else.
class ProbeEnv final : public expr::Env {
 public:
  ProbeEnv(const CaseFacts& f, Timestamp now) : f_(f), now_(now) {}
  bool unknown() const { return unknown_; }

  std::optional<Value> field(expr::Root root, std::string_view n) const override {
    if (root == expr::Root::Case) {
      if (n == "id") return Value(f_.id);
      if (n == "state") return Value(f_.state);
      if (n == "level") return Value(f_.level);
      if (n == "unit") return f_.unit.empty() ? Value() : Value(f_.unit);
      if (n == "grid") return Value(f_.grid);
      if (n == "workflow") return Value(f_.workflow);
      if (n == "opened_at") return Value(f_.opened_at);
      if (n == "closed") return Value(f_.closed);
      if (n == "co_handlers") {
        List l;
        for (const auto& u : f_.co_handlers) l.emplace_back(u);
        return Value(std::move(l));
      }
    } else if (root == expr::Root::Event) {
      if (n == "type") return Value(f_.action);
      if (n == "actor") return f_.actor.empty() ? Value() : Value(f_.actor);
    }
    unknown_ = true;
    return std::nullopt;
  }
  Value whole(expr::Root root) const override {
    if (root == expr::Root::Now) return Value(now_);
    unknown_ = true;
    return Value();
  }
  Timestamp now() const override { return now_; }
  Value unit_at(std::string_view) const override {
    unknown_ = true;
    return Value();
  }

 private:
  const CaseFacts& f_;
  Timestamp now_;
  mutable bool unknown_ = false;
};

}  // namespace

WhenVerdict probe_when(const Expr& when, const CaseFacts& facts, Timestamp now) {
  ProbeEnv env(facts, now);
  auto r = when.eval_bool(env);
  if (env.unknown()) return WhenVerdict::Unknown;
  if (!r.ok()) return WhenVerdict::False;
  return r.value() ? WhenVerdict::True : WhenVerdict::False;
}

std::vector<std::string> by_names(uint8_t by) {
  std::vector<std::string> out;
  if (by & kByAny) return {"any"};
  if (by & kByAssignee) out.emplace_back("assignee");
  if (by & kBySupervisor) out.emplace_back("supervisor");
  if (by & kByCoHandler) out.emplace_back("co_handler");
  if (out.empty()) out.emplace_back("any");
  return out;
}

uint8_t actor_relation(const Org& org, UnitIdx actor, UnitIdx unit,
                       const std::vector<UnitIdx>& co_handlers) {
  uint8_t rel = kByAny;
  if (actor == kNoUnit) return rel;
  if (unit != kNoUnit && org.in_subtree(actor, unit)) rel |= kByAssignee;
  if (unit != kNoUnit && actor != unit && org.in_subtree(unit, actor)) rel |= kBySupervisor;
  for (UnitIdx co : co_handlers) {
    if (co != kNoUnit && org.in_subtree(actor, co)) rel |= kByCoHandler;
  }
  return rel;
}

void WorkflowCatalog::sync(const std::vector<Workflow>& workflows, const Meta& meta) {
  std::vector<std::pair<std::pair<std::string, int64_t>, Entry>> fresh;
  {
    std::lock_guard g(mu_);
    if (workflows.size() == synced_) return;
  }
  for (const Workflow& wf : workflows) {
    {
      std::lock_guard g(mu_);
      if (entries_.count(std::pair{wf.name, wf.version})) continue;
    }
    Entry e;
    e.info.name = wf.name;
    e.info.version = wf.version;
    e.info.hash = wf.hash;
    e.info.file = wf.file;
    e.info.description = wf.description;
    std::optional<WorkflowInfo> m;
    if (wf.version > 0 && meta) m = meta(wf.name, wf.version);
    if (m) {
      e.info.deployed_at = m->deployed_at;
      e.info.actor = m->actor;
      e.info.text = m->text;
      if (e.info.hash.empty()) e.info.hash = m->hash;
    } else {
      yaml::read_file(wf.file, e.info.text);  // a file (or a version the registry lost)
    }
    if (e.info.hash.empty() && !e.info.text.empty()) e.info.hash = sha256_hex(e.info.text);
    for (const State& st : wf.states) {
      e.by_state.emplace(st.name, offered_actions(wf, st));
    }
    fresh.emplace_back(std::pair{wf.name, wf.version}, std::move(e));
  }
  std::lock_guard g(mu_);
  for (auto& [key, e] : fresh) entries_.emplace(key, std::move(e));
  // The highest version of each name is live.
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    auto next = std::next(it);
    it->second.info.live = next == entries_.end() || next->first.first != it->first.first;
  }
  synced_ = workflows.size();
}

size_t WorkflowCatalog::synced() const {
  std::lock_guard g(mu_);
  return synced_;
}

std::vector<WorkflowInfo> WorkflowCatalog::list() const {
  std::lock_guard g(mu_);
  std::vector<WorkflowInfo> out;
  out.reserve(entries_.size());
  for (const auto& [key, e] : entries_) {
    out.push_back(e.info);
    out.back().text.clear();
  }
  return out;
}

std::optional<WorkflowInfo> WorkflowCatalog::get(std::string_view name, int64_t version) const {
  std::lock_guard g(mu_);
  auto it = entries_.find(std::pair{std::string(name), version});
  if (it == entries_.end()) return std::nullopt;
  return it->second.info;
}

std::optional<std::vector<OfferedAction>> WorkflowCatalog::actions(std::string_view name,
                                                                   int64_t version,
                                                                   std::string_view state) const {
  std::lock_guard g(mu_);
  const Entry* found = nullptr;
  if (version >= 0) {
    auto it = entries_.find(std::pair{std::string(name), version});
    if (it != entries_.end()) found = &it->second;
  } else {
    for (const auto& [key, e] : entries_) {
      if (key.first == name && e.info.live) found = &e;
    }
  }
  if (!found) return std::nullopt;
  auto st = found->by_state.find(state);
  if (st == found->by_state.end()) {
    return std::nullopt;
  }
  return st->second;
}

}  // namespace gridcase::http
