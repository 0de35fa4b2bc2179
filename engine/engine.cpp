#include "engine/engine.hpp"

#include <algorithm>
#include <cmath>

namespace gridcase {

namespace {

const std::string kEmpty;

// The expression environment over a case (as it was before the transition) and an event.
class StepEnv final : public expr::Env {
 public:
  StepEnv(const Org& org, const Workflow& wf, const Case* c, const Value& report,
          const InputEvent* input, std::string_view type, const Value* event_report, Timestamp now)
      : org_(org),
        wf_(wf),
        c_(c),
        report_(report),
        input_(input),
        type_(type),
        event_report_(event_report),
        now_(now) {}

  std::optional<Value> field(expr::Root root, std::string_view name) const override {
    switch (root) {
      case expr::Root::Report: {
        const Value* v = report_.find(name);
        if (!v) return std::nullopt;
        return *v;
      }
      case expr::Root::Case:
        return case_field(name);
      case expr::Root::Event:
        return event_field(name);
      case expr::Root::Now:
        return std::nullopt;
    }
    return std::nullopt;
  }

  Value whole(expr::Root root) const override {
    switch (root) {
      case expr::Root::Report:
        return report_;
      case expr::Root::Now:
        return now_;
      case expr::Root::Case: {
        Map m;
        for (const auto& n : case_field_names(wf_.vars)) {
          if (auto v = case_field(n)) m.emplace(n, std::move(*v));
        }
        return Value(std::move(m));
      }
      case expr::Root::Event: {
        Map m;
        for (const auto& n : kEventFields) {
          if (auto v = event_field(n)) m.emplace(n, std::move(*v));
        }
        return Value(std::move(m));
      }
    }
    return Value();
  }

  Timestamp now() const override { return now_; }

  Value unit_at(std::string_view level) const override {
    int l = org_.level_index(level);
    UnitIdx grid = c_ ? c_->grid : org_.find_unit(grid_of_report());
    if (l < 0 || grid == kNoUnit) return Value();
    UnitIdx u = org_.ancestor_at(grid, l);
    if (u == kNoUnit) return Value();
    return Value(org_.units[u].id);
  }

 private:
  std::string grid_of_report() const {
    const Value* g = report_.find("grid");
    return g && g->is_string() ? g->as_string() : std::string();
  }

  std::optional<Value> case_field(std::string_view n) const {
    if (!c_) return std::nullopt;
    const Case& c = *c_;
    if (n == "id") return Value(c.id);
    if (n == "state") return Value(wf_.states[c.state].name);
    if (n == "level") return Value(wf_.levels[c.level]);
    if (n == "unit") return c.unit == kNoUnit ? Value() : Value(org_.units[c.unit].id);
    if (n == "report_count") return Value(c.report_count);
    if (n == "opened_at") return Value(c.opened_at);
    if (n == "level_since") return Value(c.level_since);
    if (n == "co_handlers") {
      List l;
      for (UnitIdx u : c.co_handlers) l.emplace_back(org_.units[u].id);
      return Value(std::move(l));
    }
    if (n == "grid") return Value(org_.units[c.grid].id);
    if (n == "workflow") return Value(wf_.name);
    if (n == "closed") return Value(c.closed);
    int v = wf_.var_index(n);
    if (v >= 0 && static_cast<size_t>(v) < c.vars.size()) return c.vars[v];
    return std::nullopt;
  }

  std::optional<Value> event_field(std::string_view n) const {
    if (n == "type") return Value(std::string(type_));
    if (n == "at") return input_ ? Value(input_->at) : Value(now_);
    if (n == "report") {
      if (event_report_) return *event_report_;
      return std::nullopt;
    }
    if (!input_ || input_->type != InputEvent::Type::Action) return std::nullopt;
    if (n == "actor") return input_->actor;
    if (n == "note") return input_->note;
    if (n == "data") return input_->data;
    if (n == "actor_unit") return input_->actor_unit;
    if (n == "action_id") return input_->action_id;
    if (n == "case_id") return Value(input_->case_id);
    if (n == "grid") return input_->grid.empty() ? Value() : Value(input_->grid);
    return std::nullopt;
  }

  const Org& org_;
  const Workflow& wf_;
  const Case* c_;
  const Value& report_;
  const InputEvent* input_;
  std::string_view type_;
  const Value* event_report_;
  Timestamp now_;
};

RuleError rule_error(const Workflow& wf, const Error& e, std::string_view what) {
  return {std::string(what) + ": " + e.message,
          wf.file + ":" + std::to_string(e.pos.line) + ":" + std::to_string(e.pos.col)};
}

}  // namespace

// One step on one case: collects the case events in their groups and orders them at the end.
struct Engine::Step {
  const Engine& eng;
  const Workflow& wf;
  Case& c;
  Timestamp now;
  uint64_t& timer_seq;
  StepResult& out;
  std::string trigger;

  // Case events are written straight into out.events: they are generated in the
  // contract's order (head events, rule errors, then the transition's own events).
  size_t first = out.events.size();
  bool entered = false;  // the transition re-entered or changed state

  CaseEvent& make(const char* type) {
    CaseEvent& e = out.events.emplace_back();
    e.type = type;
    e.at = now;
    e.trigger = trigger;
    return e;
  }

  void add_error(const RuleError& r) {
    CaseEvent& e = make("rule_error");
    e.extra = {{"message", Value(r.message)}, {"location", Value(r.location)}};
  }

  void schedule(Timestamp due, PendingTimer::Kind kind, int32_t index, Timestamp sla_due) {
    PendingTimer t;
    t.seq = ++timer_seq;
    t.due = due;
    t.kind = kind;
    t.index = index;
    t.sla_due = sla_due;
    c.timers.push_back(t);
    out.timers.push_back({TimerChange::Op::Add, due, t.seq});
  }

  void cancel_if(bool (*pred)(const PendingTimer&)) {
    auto it = std::remove_if(c.timers.begin(), c.timers.end(), [&](const PendingTimer& t) {
      if (!pred(t)) return false;
      out.timers.push_back({TimerChange::Op::Remove, t.due, t.seq});
      return true;
    });
    c.timers.erase(it, c.timers.end());
  }

  static bool is_sla(const PendingTimer& t) { return t.kind != PendingTimer::Kind::State; }
  static bool is_any(const PendingTimer&) { return true; }

  // Starts the SLA clock of the current level; `from` is when it started (now, except for a
  // migration, which counts the time already spent at the level).
  void start_sla() { start_sla_from(now); }
  void start_sla_from(Timestamp from) {
    cancel_if(is_sla);
    if (!wf.states[c.state].sla || !wf.sla[c.level]) return;
    // A working-time SLA counts only the calendar's working hours, unless the case is one
    // the workflow keeps on wall-clock time (calendar.except: emergencies).
    const bool working =
        static_cast<size_t>(c.level) < wf.sla_working.size() && wf.sla_working[c.level].has_value();
    const Calendar* cal =
        working && wf.calendar && !wall_clock_case() ? wf.calendar.get() : nullptr;
    const auto& period = cal ? wf.sla_working[c.level] : wf.sla[c.level];
    auto after = [&](Duration d) { return cal ? cal->add(from, d) : from + d; };
    Timestamp due = after(*period);
    if (wf.sla_warning_ppm) {
      // Exact: the share is kept in parts per million, the period in milliseconds.
      auto warn_ms =
          static_cast<int64_t>(static_cast<__int128>(period->ms) * *wf.sla_warning_ppm / 1000000);
      schedule(after(Duration{warn_ms}), PendingTimer::Kind::SlaWarning, 0, due);
    }
    schedule(due, PendingTimer::Kind::SlaExpiry, 0, due);
  }

  // calendar.except holds for this case (as it is now): its deadlines stay wall-clock. A
  // failing expression counts as true, the stricter deadline (there is no step to write a
  // rule_error into: the clock starts inside the transition).
  bool wall_clock_case() const {
    if (!wf.calendar_except) return false;
    StepEnv env(eng.org(), wf, &c, c.report, nullptr, trigger, nullptr, now);
    auto r = wf.calendar_except->eval_bool(env);
    return !r.ok() || r.value();
  }

  void enter(int state) {
    c.state = state;
    const State& st = wf.states[state];
    if (st.final) {
      cancel_if(is_any);
      c.closed = true;
      out.closed_now = true;
      return;
    }
    start_sla();
    for (size_t i = 0; i < st.timers.size(); ++i) {
      schedule(now + st.timers[i].after, PendingTimer::Kind::State, static_cast<int32_t>(i), {});
    }
  }

  bool admits(uint8_t by, UnitIdx actor) const {
    if (by & kByAny) return true;
    const Org& org = eng.org();
    if (actor == kNoUnit) return false;
    if ((by & kByAssignee) && org.in_subtree(actor, c.unit)) return true;
    if ((by & kBySupervisor) && actor != c.unit && org.in_subtree(c.unit, actor)) return true;
    if (by & kByCoHandler) {
      for (UnitIdx co : c.co_handlers) {
        if (org.in_subtree(actor, co)) return true;
      }
    }
    return false;
  }

  // Tries the transitions for `type`; returns whether one applied. `refused` tells if a
  // `by` refusal was among the reasons none did.
  bool handle(std::string_view type, const InputEvent* input, const Value* event_report,
              bool has_actor, UnitIdx actor, bool* refused) {
    const State& st = wf.states[c.state];
    const std::vector<Transition>* ts = st.find(type);
    if (!ts) return false;
    StepEnv env(eng.org(), wf, &c, c.report, input, type, event_report, now);
    for (const Transition& t : *ts) {
      if (t.when) {
        auto r = t.when->eval_bool(env);
        if (!r.ok()) {
          add_error(rule_error(wf, r.error(), "when"));
          continue;
        }
        if (!r.value()) continue;
      }
      if (has_actor && !admits(t.by, actor)) {
        *refused = true;
        continue;
      }
      apply(t, env);
      return true;
    }
    return false;
  }

  void apply(const Transition& t, const StepEnv& env) {
    // Every expression sees the case as it was before the transition.
    std::vector<std::pair<int, Value>> values;
    values.reserve(t.set.size());
    for (const SetOp& op : t.set) {
      if (!op.expr) {
        values.emplace_back(op.var, op.literal);
        continue;
      }
      auto r = op.expr->eval(env);
      if (!r.ok()) {
        add_error(rule_error(wf, r.error(), "set " + wf.vars[op.var].first));
        continue;
      }
      values.emplace_back(op.var, std::move(r).value());
    }
    UnitIdx co_unit = kNoUnit;
    if (t.co_handle) {
      auto r = t.co_handle->eval(env);
      if (!r.ok()) {
        add_error(rule_error(wf, r.error(), "co_handle"));
      } else if (!r->is_string()) {
        add_error({"co_handle: expected a unit id (string), got " + r->debug_string(),
                   t.co_handle->pos().line > 0
                       ? wf.file + ":" + std::to_string(t.co_handle->pos().line) + ":" +
                             std::to_string(t.co_handle->pos().col)
                       : t.where.str()});
      } else {
        co_unit = eng.org().find_unit(r->as_string());
        if (co_unit == kNoUnit) {
          add_error({"co_handle: unknown unit '" + r->as_string() + "'",
                     wf.file + ":" + std::to_string(t.co_handle->pos().line) + ":" +
                         std::to_string(t.co_handle->pos().col)});
        }
      }
    }
    for (auto& [var, v] : values) c.vars[var] = std::move(v);

    const int from_state = c.state;
    const int from_level = c.level;
    const UnitIdx from_unit = c.unit;
    int to_level = c.level;
    switch (t.level) {
      case LevelMove::None:
        break;
      case LevelMove::Up:
        to_level = std::min<int>(c.level + 1, static_cast<int>(wf.levels.size()) - 1);
        break;
      case LevelMove::Down:
        to_level = std::max(c.level - 1, 0);
        break;
      case LevelMove::Top:
        to_level = static_cast<int>(wf.levels.size()) - 1;
        break;
      case LevelMove::Named:
        to_level = t.level_to;
        break;
    }
    bool level_changed = to_level != from_level;
    if (level_changed) {
      c.level = to_level;
      c.unit = eng.org().ancestor_at(c.grid, wf.level_org[to_level]);
      c.level_since = now;
    }
    const int to_state = t.goto_state >= 0 ? t.goto_state : from_state;
    {
      CaseEvent& tr = make("transition");
      tr.extra = {{"from_state", Value(wf.states[from_state].name)},
                  {"to_state", Value(wf.states[to_state].name)}};
    }
    if (level_changed) {
      CaseEvent& e = make("level_changed");
      e.extra = {{"from_level", Value(wf.levels[from_level])},
                 {"to_level", Value(wf.levels[to_level])},
                 {"from_unit", unit_value(from_unit)},
                 {"to_unit", unit_value(c.unit)}};
    }
    if (co_unit != kNoUnit &&
        std::find(c.co_handlers.begin(), c.co_handlers.end(), co_unit) == c.co_handlers.end()) {
      c.co_handlers.push_back(co_unit);
      CaseEvent& e = make("co_handler_added");
      e.extra = {{"co_unit", Value(eng.org().units[co_unit].id)}};
    }
    UnitIdx notified[16];
    size_t n_notified = 0;
    std::vector<UnitIdx> more_notified;  // beyond 16 distinct targets (rare)
    auto notify = [&](UnitIdx u) {
      if (u == kNoUnit || std::find(notified, notified + n_notified, u) != notified + n_notified ||
          std::find(more_notified.begin(), more_notified.end(), u) != more_notified.end()) {
        return;
      }
      if (n_notified < 16) {
        notified[n_notified++] = u;
      } else {
        more_notified.push_back(u);
      }
      CaseEvent& e = make("notified");
      const Unit& unit = eng.org().units[u];
      e.extra = {{"target_unit", Value(unit.id)},
                 {"target_level", Value(eng.org().levels[unit.level])}};
    };
    for (const NotifyTarget& nt : t.notify) {
      switch (nt.kind) {
        case NotifyTarget::Kind::Level:
          notify(eng.org().ancestor_at(c.grid, nt.org_level));
          break;
        case NotifyTarget::Kind::Assignee:
          notify(c.unit);
          break;
        case NotifyTarget::Kind::CoHandlers:
          for (UnitIdx u : c.co_handlers) notify(u);
          break;
        case NotifyTarget::Kind::Unit:
          notify(eng.org().find_unit(nt.unit_id));
          break;
      }
    }

    if (t.goto_state >= 0) {
      cancel_if(is_any);  // leaving the state
      enter(t.goto_state);
      entered = true;
      if (wf.states[t.goto_state].final) make("closed");
    } else if (level_changed && wf.states[c.state].sla) {
      start_sla();
    }
  }

  Value unit_value(UnitIdx u) const {
    return u == kNoUnit ? Value() : Value(eng.org().units[u].id);
  }

  void reject(std::string reason) {
    CaseEvent& e = make("event_rejected");
    e.extra = {{"reason", Value(std::move(reason))}};
  }

  // Stamps this step's events with the case's values after the step and numbers them.
  void finish() {
    const Org& org = eng.org();
    const std::string& state = wf.states[c.state].name;
    const std::string& level = wf.levels[c.level];
    const std::string& unit = c.unit == kNoUnit ? kEmpty : org.units[c.unit].id;
    for (size_t i = first; i < out.events.size(); ++i) {
      CaseEvent& e = out.events[i];
      e.case_id = c.id;
      e.seq = ++c.seq;
      e.workflow = wf.name;
      e.state = state;
      e.level = level;
      e.unit = unit;
    }
  }
};

Engine::Engine(std::shared_ptr<const Org> org, std::vector<Workflow> workflows)
    : org_(std::move(org)), workflows_(std::move(workflows)) {
  rank();
}

void Engine::add_versions(std::vector<Workflow> more) {
  for (auto& w : more) workflows_.push_back(std::move(w));
  rank();
}

void Engine::rank() {
  by_priority_.clear();
  for (size_t i = 0; i < workflows_.size(); ++i) {
    if (workflow_index(workflows_[i].name) == static_cast<int>(i)) {
      by_priority_.push_back(static_cast<int>(i));
    }
  }
  std::sort(by_priority_.begin(), by_priority_.end(), [&](int a, int b) {
    if (workflows_[a].priority != workflows_[b].priority) {
      return workflows_[a].priority > workflows_[b].priority;
    }
    return workflows_[a].name < workflows_[b].name;
  });
}

int Engine::workflow_index(std::string_view name) const {
  int live = -1;
  for (size_t i = 0; i < workflows_.size(); ++i) {
    if (workflows_[i].name == name &&
        (live < 0 || workflows_[i].version > workflows_[live].version)) {
      live = static_cast<int>(i);
    }
  }
  return live;
}

int Engine::workflow_index(std::string_view name, int64_t version) const {
  for (size_t i = 0; i < workflows_.size(); ++i) {
    if (workflows_[i].name == name && workflows_[i].version == version) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int Engine::select_workflow(const InputEvent& ev, Timestamp now,
                            std::vector<RuleError>* errors) const {
  for (int i : by_priority_) {
    const Workflow& wf = workflows_[i];
    if (!wf.match) return i;
    StepEnv env(*org_, wf, nullptr, ev.report, &ev, "opened", &ev.report, now);
    auto r = wf.match->eval_bool(env);
    if (!r.ok()) {
      if (errors)
        errors->push_back(rule_error(wf, r.error(), "match of workflow '" + wf.name + "'"));
      continue;
    }
    if (r.value()) return i;
  }
  return -1;
}

Value Engine::correlation_key(int wfi, const Value& report, Timestamp now, RuleError* error,
                              bool* failed) const {
  *failed = false;
  const Workflow& wf = workflows_[wfi];
  if (!wf.correlate_key) return Value();
  StepEnv env(*org_, wf, nullptr, report, nullptr, "report", &report, now);
  auto r = wf.correlate_key->eval(env);
  if (!r.ok()) {
    *failed = true;
    if (error) *error = rule_error(wf, r.error(), "correlate.key");
    return Value();
  }
  return std::move(r).value();
}

UnitIdx Engine::actor_unit(const InputEvent& ev) const {
  if (ev.actor_unit.is_string()) {
    UnitIdx u = org_->find_unit(ev.actor_unit.as_string());
    if (u != kNoUnit) return u;
  }
  if (ev.actor.is_string()) {
    if (const Person* p = org_->find_person(ev.actor.as_string())) return p->unit_idx;
  }
  return kNoUnit;
}

void Engine::open(Case& c, int wfi, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
                  const std::vector<RuleError>& pre_errors, StepResult& out) const {
  const Workflow& wf = workflows_[wfi];
  c = Case{};
  c.id = ev.report_id;
  c.workflow = wfi;
  c.grid = org_->find_unit(ev.grid);
  c.level = 0;
  c.unit = org_->ancestor_at(c.grid, wf.level_org[0]);
  c.report = ev.report;
  c.opened_at = c.level_since = c.last_report_at = now;
  c.report_count = 1;
  for (const auto& v : wf.vars) c.vars.push_back(v.second);
  Step s{*this, wf, c, now, timer_seq, out, "opened", out.events.size(), false};
  s.make("opened").extra = {{"report_id", Value(ev.report_id)},
                            {"category", Value(ev.category)},
                            {"grid", Value(ev.grid)}};
  s.enter(wf.initial);
  for (const auto& e : pre_errors) s.add_error(e);
  bool refused = false;
  if (!s.handle("opened", &ev, &ev.report, false, kNoUnit, &refused)) {
    s.reject("no transition for 'opened' applies in state '" + wf.states[c.state].name + "'");
  }
  s.finish();
}

void Engine::merge(Case& c, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
                   StepResult& out) const {
  const Workflow& wf = workflows_[c.workflow];
  Step s{*this, wf, c, now, timer_seq, out, "report", out.events.size(), false};
  c.report_count += 1;
  c.last_report_at = now;
  s.make("report_merged").extra = {{"report_id", Value(ev.report_id)}};
  bool refused = false;
  s.handle("report", &ev, &ev.report, false, kNoUnit, &refused);  // no transition: not a rejection
  s.finish();
}

void Engine::act(Case& c, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
                 StepResult& out) const {
  const Workflow& wf = workflows_[c.workflow];
  Step s{*this, wf, c, now, timer_seq, out, ev.action, out.events.size(), false};
  if (c.closed) {
    s.reject("case '" + c.id + "' is closed (state '" + wf.states[c.state].name + "')");
    s.finish();
    return;
  }
  bool refused = false;
  UnitIdx actor = actor_unit(ev);
  if (!s.handle(ev.action, &ev, nullptr, true, actor, &refused)) {
    const State& st = wf.states[c.state];
    std::string who = ev.actor.is_string() ? "'" + ev.actor.as_string() + "'" : "(none)";
    if (refused) {
      s.reject("actor " + who + " may not '" + ev.action + "' in state '" + st.name +
               "' (by refused)");
    } else if (!st.find(ev.action)) {
      s.reject("state '" + st.name + "' has no transition for '" + ev.action + "'");
    } else {
      s.reject("no transition for '" + ev.action + "' applies in state '" + st.name +
               "' (when false)");
    }
  }
  s.finish();
}

bool Engine::migrate(Case& c, int to, Timestamp now, uint64_t& timer_seq, StepResult& out,
                     std::string* why) const {
  const Workflow& from = workflows_[c.workflow];
  const Workflow& wt = workflows_[to];
  const std::string& state = from.states[c.state].name;
  const std::string& level = from.levels[c.level];
  const int st = wt.state_index(state);
  const int lv = wt.level_index(level);
  if (c.closed) {
    if (why) *why = "case is closed";
    return false;
  }
  if (st < 0 || lv < 0 || wt.states[st].final) {
    if (why) {
      *why =
          st < 0   ? "state '" + state + "' does not exist in version " + std::to_string(wt.version)
          : lv < 0 ? "level '" + level + "' does not exist in version " + std::to_string(wt.version)
                   : "state '" + state + "' is final in version " + std::to_string(wt.version);
    }
    return false;
  }
  // Vars are kept by name; vars new in `to` start at their initial values.
  std::vector<Value> vars;
  for (const auto& [name, init] : wt.vars) {
    int i = from.var_index(name);
    vars.push_back(i >= 0 && static_cast<size_t>(i) < c.vars.size() ? c.vars[i] : init);
  }
  const int64_t from_version = from.version;
  Step s{*this, wt, c, now, timer_seq, out, "migrate", out.events.size(), false};
  s.cancel_if(Step::is_any);
  c.workflow = to;
  c.state = st;
  c.level = lv;
  c.vars = std::move(vars);
  s.make("migrated").extra = {{"from_version", Value(from_version)},
                              {"to_version", Value(wt.version)}};
  // The SLA clock counts from when the case reached its level: the time already spent there
  // counts against the new period. State timers start again now (when the case entered its
  // state is not recorded).
  s.start_sla_from(c.level_since);
  const State& ns = wt.states[st];
  for (size_t i = 0; i < ns.timers.size(); ++i) {
    s.schedule(now + ns.timers[i].after, PendingTimer::Kind::State, static_cast<int32_t>(i), {});
  }
  s.finish();
  return true;
}

Result<bool> Engine::case_matches(const Expr& e, const Case& c, Timestamp now) const {
  StepEnv env(*org_, workflows_[c.workflow], &c, c.report, nullptr, "migrate", nullptr, now);
  return e.eval_bool(env);
}

bool Engine::fire(Case& c, uint64_t timer_id, Timestamp now, uint64_t& timer_seq,
                  StepResult& out) const {
  auto it = std::find_if(c.timers.begin(), c.timers.end(),
                         [&](const PendingTimer& t) { return t.seq == timer_id; });
  if (it == c.timers.end()) return false;
  PendingTimer t = *it;
  c.timers.erase(it);
  out.timers.push_back({TimerChange::Op::Remove, t.due, t.seq});
  const Workflow& wf = workflows_[c.workflow];
  const State& st = wf.states[c.state];
  bool refused = false;
  switch (t.kind) {
    case PendingTimer::Kind::SlaWarning: {
      Step s{*this, wf, c, now, timer_seq, out, "sla_warning", out.events.size(), false};
      s.make("sla_warning").extra = {{"due_at", Value(t.sla_due)}};
      s.handle("sla_warning", nullptr, nullptr, false, kNoUnit, &refused);
      s.finish();
      break;
    }
    case PendingTimer::Kind::SlaExpiry: {
      Step s{*this, wf, c, now, timer_seq, out, "sla_expired", out.events.size(), false};
      s.make("sla_breached").extra = {{"due_at", Value(t.sla_due)}};
      int level = c.level, state = c.state;
      s.handle("sla_expired", nullptr, nullptr, false, kNoUnit, &refused);
      if (!s.entered && c.level == level && c.state == state && !c.closed) {
        s.start_sla();  // an unhandled breach repeats after a full period
      }
      s.finish();
      break;
    }
    case PendingTimer::Kind::State: {
      const TimerSpec& spec = st.timers[t.index];
      Step s{*this, wf, c, now, timer_seq, out, spec.event, out.events.size(), false};
      if (spec.repeat) s.schedule(t.due + spec.after, PendingTimer::Kind::State, t.index, {});
      if (!s.handle(spec.event, nullptr, nullptr, false, kNoUnit, &refused)) {
        s.reject("no transition for timer event '" + spec.event + "' applies in state '" + st.name +
                 "'");
      }
      s.finish();
      break;
    }
  }
  return true;
}

}  // namespace gridcase
