#pragma once
// The closing summary of a run: the county's headline figures over the stored cases.
#include <cstdint>
#include <ostream>

#include "engine/engine.hpp"
#include "engine/store.hpp"

namespace gridcase::app {

struct RunStats {
  uint64_t lines = 0;
  uint64_t bad = 0;
  uint64_t events_in = 0;
  uint64_t events_out = 0;
  uint64_t timers_fired = 0;
  double seconds = 0;
};

// Cases by level, closed at each level, and the share closed within the grid and within
// the village (小事不出网格、大事不出村).
Result<bool> print_summary(const Engine& engine, CaseStore& store, const RunStats& stats,
                           std::ostream& out);

}  // namespace gridcase::app
