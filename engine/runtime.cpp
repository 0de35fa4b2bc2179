#include "engine/runtime.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>

namespace gridcase {

namespace {
constexpr std::string_view kClockKey = "clock";
constexpr std::string_view kTimerSeqKey = "timer_seq";

std::optional<int64_t> parse_i64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}
}  // namespace

std::string encode_correlation_key(const Value& key) {
  switch (key.kind()) {
    case Value::Kind::String:
      return "s:" + key.as_string();
    case Value::Kind::Int:
      return "n:" + std::to_string(key.as_int());
    case Value::Kind::Double: {
      double d = key.as_double();
      if (d == static_cast<double>(static_cast<int64_t>(d))) {
        return "n:" + std::to_string(static_cast<int64_t>(d));  // 1.0 == 1
      }
      char buf[64];
      std::snprintf(buf, sizeof buf, "n:%.17g", d);
      return buf;
    }
    default:
      return std::string("v:") + key.type_name() + ":" + key.debug_string();
  }
}

Processor::Processor(const Engine& engine, CaseStore& store, EventSink& sink)
    : engine_(engine), store_(store), sink_(sink) {}

Result<bool> Processor::init() {
  if (auto c = store_.get_meta(kClockKey)) {
    auto v = parse_i64(*c);
    if (!v) return err("stored clock is not a number: '" + *c + "'");
    clock_ = Timestamp{*v};
  }
  if (auto c = store_.get_meta(kTimerSeqKey)) {
    auto v = parse_i64(*c);
    if (!v) return err("stored timer counter is not a number: '" + *c + "'");
    timer_seq_ = static_cast<uint64_t>(*v);
  }
  return true;
}

void Processor::apply(Case&& c, StepResult& r) {
  const Workflow& wf = engine_.workflows()[c.workflow];
  for (const TimerChange& t : r.timers) {
    if (t.op == TimerChange::Op::Add) {
      store_.add_timer(t.due, t.seq, c.id);
    } else {
      store_.remove_timer(t.due, t.seq);
    }
  }
  if (r.closed_now && !c.corr_key.is_null()) {
    store_.remove_correlation(wf.name, engine_.org().units[c.grid].id,
                              encode_correlation_key(c.corr_key), c.id);
  }
  store_.save_owned(std::move(c));
  for (const CaseEvent& e : r.events) sink_.emit(e);
  events_out_ += r.events.size();
  r.clear();
}

Result<bool> Processor::migrate(const std::string& case_id, int to, std::string* why) {
  auto loaded = store_.load(case_id);
  if (!loaded.ok()) return loaded.error();
  if (!loaded.value()) {
    if (why) *why = "no such case";
    return false;
  }
  Case c = std::move(*loaded.value());
  if (!engine_.migrate(c, to, clock_, timer_seq_, scratch_, why)) {
    scratch_.clear();
    return false;
  }
  apply(std::move(c), scratch_);
  return true;
}

Result<bool> Processor::advance_to(Timestamp t) {
  for (;;) {
    auto next = store_.next_timer();
    if (!next || next->due > t) break;
    clock_ = std::max(clock_, next->due);
    auto loaded = store_.load(next->case_id);
    if (!loaded.ok()) return loaded.error();
    if (loaded.value() &&
        engine_.fire(*loaded.value(), next->seq, next->due, timer_seq_, scratch_)) {
      ++timers_fired_;
      apply(std::move(*loaded.value()), scratch_);  // removes the fired timer from the index too
    } else {
      store_.remove_timer(next->due, next->seq);  // stale entry: its case or timer is gone
    }
  }
  clock_ = std::max(clock_, t);
  return true;
}

Processor::Verdict Processor::process(const InputEvent& ev) {
  Verdict v = ev.type == InputEvent::Type::Report ? process_report(ev) : process_action(ev);
  if (v.outcome != Outcome::Bad) ++events_in_;
  return v;
}

Processor::Verdict Processor::process_report(const InputEvent& ev) {
  Verdict v;
  if (store_.report_seen(ev.grid, ev.report_id)) {
    // A duplicate is a valid line: it changes no case, but the clock moves on.
    if (auto r = advance_to(std::max(clock_, ev.at)); !r.ok()) {
      v.outcome = Outcome::Bad;
      v.error = "storage: " + r.error().message;
      return v;
    }
    v.outcome = Outcome::Duplicate;
    return v;
  }
  if (store_.exists(ev.report_id)) {
    v.outcome = Outcome::Bad;
    v.error = "report_id '" + ev.report_id + "' already names a case of another grid";
    return v;
  }
  Timestamp now = std::max(clock_, ev.at);
  int wfi = engine_.select_workflow(ev, now, &v.warnings);
  if (wfi < 0) {
    v.outcome = Outcome::Bad;
    v.error = "no workflow accepts this report (category '" + ev.category + "')";
    return v;
  }
  if (auto r = advance_to(now); !r.ok()) {
    v.outcome = Outcome::Bad;
    v.error = "storage: " + r.error().message;
    return v;
  }
  const Workflow& wf = engine_.workflows()[wfi];
  RuleError key_error;
  bool key_failed = false;
  Value key = engine_.correlation_key(wfi, ev.report, now, &key_error, &key_failed);
  std::optional<Case> target;
  std::string encoded_key;
  if (!key.is_null()) {
    encoded_key = encode_correlation_key(key);
    for (const std::string& id : store_.correlated(wf.name, ev.grid, encoded_key)) {
      auto loaded = store_.load(id);
      if (!loaded.ok()) {
        v.outcome = Outcome::Bad;
        v.error = "storage: " + loaded.error().message;
        return v;
      }
      auto& c = loaded.value();
      if (!c || c->closed || now - c->last_report_at > wf.correlate_window) continue;
      // The case with the most recent report wins; ties go to the lower id.
      if (!target || c->last_report_at > target->last_report_at ||
          (c->last_report_at == target->last_report_at && c->id < target->id)) {
        target = std::move(c);
      }
    }
  }
  store_.mark_report(ev.grid, ev.report_id);
  if (target) {
    engine_.merge(*target, ev, now, timer_seq_, scratch_);
    v.case_id = target->id;
    v.step_events = scratch_.events.size();
    apply(std::move(*target), scratch_);
    return v;
  }
  Case c;
  std::vector<RuleError> pre;
  if (key_failed) pre.push_back(key_error);
  engine_.open(c, wfi, ev, now, timer_seq_, pre, scratch_);
  c.corr_key = key;
  if (!key.is_null() && !c.closed) store_.add_correlation(wf.name, ev.grid, encoded_key, c.id);
  v.case_id = c.id;
  v.step_events = scratch_.events.size();
  apply(std::move(c), scratch_);
  return v;
}

Processor::Verdict Processor::process_action(const InputEvent& ev) {
  Verdict v;
  auto loaded = store_.load(ev.case_id);
  if (!loaded.ok()) {
    v.outcome = Outcome::Bad;
    v.error = "storage: " + loaded.error().message;
    return v;
  }
  if (!loaded.value()) {
    v.outcome = Outcome::Bad;
    v.error = "unknown case '" + ev.case_id + "'";
    return v;
  }
  {
    const std::string& grid = engine_.org().units[loaded.value()->grid].id;
    if (!ev.grid.empty() && ev.grid != grid) {
      v.outcome = Outcome::Bad;
      v.error = "grid '" + ev.grid + "' does not match case '" + ev.case_id + "' (origin grid '" +
                grid + "')";
      return v;
    }
  }
  uint64_t fired = timers_fired_;
  if (auto r = advance_to(std::max(clock_, ev.at)); !r.ok()) {
    v.outcome = Outcome::Bad;
    v.error = "storage: " + r.error().message;
    return v;
  }
  if (timers_fired_ != fired) {
    loaded = store_.load(ev.case_id);  // timers may have changed it
    if (!loaded.ok() || !loaded.value()) {
      v.outcome = Outcome::Bad;
      v.error =
          loaded.ok() ? "unknown case '" + ev.case_id + "'" : "storage: " + loaded.error().message;
      return v;
    }
  }
  Case& c = *loaded.value();
  v.case_id = c.id;
  if (ev.action_id.is_string()) {
    const std::string& id = ev.action_id.as_string();
    if (std::find(c.action_ids.begin(), c.action_ids.end(), id) != c.action_ids.end()) {
      v.outcome = Outcome::Duplicate;
      return v;
    }
    c.action_ids.push_back(id);
  }
  engine_.act(c, ev, clock_, timer_seq_, scratch_);
  v.step_events = scratch_.events.size();
  apply(std::move(c), scratch_);
  return v;
}

Result<bool> Processor::commit(bool behind) {
  if (clock_.ms != INT64_MIN) store_.put_meta(kClockKey, std::to_string(clock_.ms));
  store_.put_meta(kTimerSeqKey, std::to_string(timer_seq_));
  return behind ? store_.commit_behind() : store_.commit();
}

}  // namespace gridcase
