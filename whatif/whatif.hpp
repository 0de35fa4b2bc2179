#pragma once
// What-if: the same recorded input replayed on two rule sets, in virtual time, compared.
// In memory (no Kafka, no disk state); deterministic: the same inputs give the same report.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/case.hpp"
#include "engine/engine.hpp"

namespace gridcase::whatif {

// The figures of one replay.
struct Side {
  uint64_t cases = 0;
  uint64_t closed = 0;
  uint64_t case_events = 0;
  uint64_t rejected_inputs = 0;           // input events the runtime refused (bad)
  std::vector<uint64_t> by_final_level;   // per org level: cases whose last level it is
  std::vector<uint64_t> closed_at_level;  // per org level: closed cases closed there
  std::vector<uint64_t> escalations;      // per org level: level_changed upwards from it
  std::vector<uint64_t> breaches;         // per org level: sla_breached at the level held
  double closed_in_grid = 0;              // share of closed cases closed at the lowest level
  double closed_in_village = 0;           // ... at the two lowest levels
};

// One case event, as much of it as a comparison shows.
struct EventBrief {
  int64_t seq = 0;
  std::string type, at, state, level, unit, trigger;
};

struct Outcome {
  bool exists = false;
  std::string workflow, state, level, unit;
  bool closed = false;
};

// A case whose outcome (workflow, final state, level, unit, closed) differs, or that exists
// on one side only; `first_old`/`first_new` are the first case events where the histories
// part (absent on a side whose history ended there).
struct Difference {
  std::string case_id;
  Outcome old_outcome, new_outcome;
  int64_t diverge_seq = 0;  // seq of the first differing case event
  bool has_old_event = false, has_new_event = false;
  EventBrief first_old, first_new;
};

struct Report {
  std::vector<std::string> levels;  // the org tree's levels, lowest first
  uint64_t inputs = 0;              // input lines replayed (parsed ones)
  uint64_t bad_lines = 0;           // lines that did not parse (skipped on both sides)
  Side old_side, new_side;
  uint64_t same_outcome_other_history = 0;  // cases whose events differ but outcome does not
  std::vector<Difference> differences;      // sorted by case id
};

// Progress: done and total work units (input events over both replays).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Replays `inputs` (already parsed; in order) on both engines, which must share the org
// tree's levels, and compares. `until`: the clock is moved on to it at the end (timers due
// by then fire), as simulate --until does.
Report compare(const Engine& old_engine, const Engine& new_engine,
               const std::vector<InputEvent>& inputs, std::optional<Timestamp> until,
               const ProgressFn& progress = {});

// Renderings (zh-CN labels with English, as the rest of the CLI).
std::string to_table(const Report& r, size_t max_rows = 50);
std::string to_json(const Report& r);
std::string to_html(const Report& r, const std::string& title);

}  // namespace gridcase::whatif
