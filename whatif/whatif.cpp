#include "whatif/whatif.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "connectors/json_events.hpp"
#include "engine/runtime.hpp"
#include "storage/memory_store.hpp"

namespace gridcase::whatif {

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string extra_string(const CaseEvent& e, std::string_view key) {
  for (const auto& [k, v] : e.extra) {
    if (k == key && v.is_string()) return v.as_string();
  }
  return "";
}

struct Track {
  std::vector<uint64_t> hashes;  // of each case event line, in seq order
  std::string last_level;        // the level after the case's latest event
};

struct Run {
  Side side;
  std::unordered_map<std::string, Track> tracks;
  std::map<std::string, Outcome> outcomes;
};

// Counts what a replay writes and fingerprints every case's history.
class Recorder final : public EventSink {
 public:
  Recorder(const Org& org, Run& run) : org_(org), run_(run) {}
  void emit(const CaseEvent& e) override {
    Side& s = run_.side;
    ++s.case_events;
    line_.clear();
    json::append_case_event_line(e, line_);
    Track& t = run_.tracks[e.case_id];
    t.hashes.push_back(fnv1a(line_));
    if (e.type == "level_changed") {
      int from = org_.level_index(extra_string(e, "from_level"));
      int to = org_.level_index(extra_string(e, "to_level"));
      if (from >= 0 && to > from) ++s.escalations[static_cast<size_t>(from)];
    } else if (e.type == "sla_breached") {
      // Counted at the level held before the step (events carry the values after it).
      int at = org_.level_index(t.last_level.empty() ? e.level : t.last_level);
      if (at >= 0) ++s.breaches[static_cast<size_t>(at)];
    }
    t.last_level = e.level;
  }

 private:
  const Org& org_;
  Run& run_;
  std::string line_;
};

// Keeps the case events asked for: (case id, seq).
class Capture final : public EventSink {
 public:
  explicit Capture(std::map<std::pair<std::string, int64_t>, EventBrief>& want) : want_(want) {}
  void emit(const CaseEvent& e) override {
    auto it = want_.find({e.case_id, e.seq});
    if (it == want_.end()) return;
    it->second =
        EventBrief{e.seq, e.type, format_timestamp(e.at), e.state, e.level, e.unit, e.trigger};
  }

 private:
  std::map<std::pair<std::string, int64_t>, EventBrief>& want_;
};

// One replay through the same runtime as simulate, over a MemoryStore.
void replay(const Engine& engine, const std::vector<InputEvent>& inputs,
            std::optional<Timestamp> until, EventSink& sink, MemoryStore& store, uint64_t* rejected,
            const std::function<void(uint64_t)>& tick) {
  Processor proc(engine, store, sink);
  (void)proc.init();
  uint64_t n = 0;
  for (const InputEvent& ev : inputs) {
    auto v = proc.process(ev);
    if (v.outcome == Processor::Outcome::Bad && rejected) ++*rejected;
    if (tick) tick(++n);
  }
  if (until) (void)proc.advance_to(*until);
  (void)proc.commit();
}

Run run_side(const Engine& engine, const std::vector<InputEvent>& inputs,
             std::optional<Timestamp> until, const std::function<void(uint64_t)>& tick) {
  Run run;
  const Org& org = engine.org();
  const size_t n = org.levels.size();
  Side& s = run.side;
  s.by_final_level.assign(n, 0);
  s.closed_at_level.assign(n, 0);
  s.escalations.assign(n, 0);
  s.breaches.assign(n, 0);
  MemoryStore store;
  Recorder rec(org, run);
  replay(engine, inputs, until, rec, store, &s.rejected_inputs, tick);
  (void)store.for_each_case([&](const Case& c) {
    const Workflow& wf = engine.workflows()[c.workflow];
    Outcome o;
    o.exists = true;
    o.workflow = wf.name;
    o.state = wf.states[c.state].name;
    o.level = wf.levels[c.level];
    o.unit = c.unit == kNoUnit ? "" : org.units[c.unit].id;
    o.closed = c.closed;
    size_t lv = static_cast<size_t>(wf.level_org[c.level]);
    ++s.cases;
    ++s.by_final_level[lv];
    if (c.closed) {
      ++s.closed;
      ++s.closed_at_level[lv];
    }
    run.outcomes.emplace(c.id, std::move(o));
  });
  if (s.closed > 0) {
    s.closed_in_grid = static_cast<double>(s.closed_at_level[0]) / static_cast<double>(s.closed);
    uint64_t village = s.closed_at_level[0] + (n > 1 ? s.closed_at_level[1] : 0);
    s.closed_in_village = static_cast<double>(village) / static_cast<double>(s.closed);
  }
  return run;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.exists == b.exists && a.workflow == b.workflow && a.state == b.state &&
         a.level == b.level && a.unit == b.unit && a.closed == b.closed;
}

}  // namespace

Report compare(const Engine& old_engine, const Engine& new_engine,
               const std::vector<InputEvent>& inputs, std::optional<Timestamp> until,
               const ProgressFn& progress) {
  Report r;
  r.levels = old_engine.org().levels;
  r.inputs = inputs.size();
  const uint64_t total = 2 * inputs.size();
  auto tick_from = [&](uint64_t base) -> std::function<void(uint64_t)> {
    if (!progress) return {};
    return [&progress, base, total](uint64_t n) { progress(base + n, total); };
  };
  Run old_run = run_side(old_engine, inputs, until, tick_from(0));
  Run new_run = run_side(new_engine, inputs, until, tick_from(inputs.size()));
  r.old_side = old_run.side;
  r.new_side = new_run.side;

  std::set<std::string> ids;
  for (const auto& [id, o] : old_run.outcomes) ids.insert(id);
  for (const auto& [id, o] : new_run.outcomes) ids.insert(id);
  std::map<std::pair<std::string, int64_t>, EventBrief> want_old, want_new;
  static const Track kNoTrack;
  static const Outcome kNoOutcome;
  for (const std::string& id : ids) {
    auto oo = old_run.outcomes.find(id);
    auto no = new_run.outcomes.find(id);
    const Outcome& a = oo == old_run.outcomes.end() ? kNoOutcome : oo->second;
    const Outcome& b = no == new_run.outcomes.end() ? kNoOutcome : no->second;
    auto ot = old_run.tracks.find(id);
    auto nt = new_run.tracks.find(id);
    const Track& ta = ot == old_run.tracks.end() ? kNoTrack : ot->second;
    const Track& tb = nt == new_run.tracks.end() ? kNoTrack : nt->second;
    if (same(a, b)) {
      if (ta.hashes != tb.hashes) ++r.same_outcome_other_history;
      continue;
    }
    Difference d;
    d.case_id = id;
    d.old_outcome = a;
    d.new_outcome = b;
    size_t i = 0;
    while (i < ta.hashes.size() && i < tb.hashes.size() && ta.hashes[i] == tb.hashes[i]) ++i;
    d.diverge_seq = static_cast<int64_t>(i) + 1;
    if (i < ta.hashes.size()) want_old[{id, d.diverge_seq}] = {};
    if (i < tb.hashes.size()) want_new[{id, d.diverge_seq}] = {};
    r.differences.push_back(std::move(d));
  }
  // The differing events themselves: the replays are deterministic, so a second run of
  // each side finds them without keeping every event of the first.
  if (!r.differences.empty()) {
    if (!want_old.empty()) {
      MemoryStore store;
      Capture cap(want_old);
      replay(old_engine, inputs, until, cap, store, nullptr, {});
    }
    if (!want_new.empty()) {
      MemoryStore store;
      Capture cap(want_new);
      replay(new_engine, inputs, until, cap, store, nullptr, {});
    }
    for (Difference& d : r.differences) {
      if (auto it = want_old.find({d.case_id, d.diverge_seq}); it != want_old.end()) {
        d.has_old_event = true;
        d.first_old = it->second;
      }
      if (auto it = want_new.find({d.case_id, d.diverge_seq}); it != want_new.end()) {
        d.has_new_event = true;
        d.first_new = it->second;
      }
    }
  }
  return r;
}

}  // namespace gridcase::whatif
