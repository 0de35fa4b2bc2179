#pragma once
// Synthetic input for load tests and demos: a JSON Lines stream of reports and actions
// (docs/interfaces.md, "Input events") shaped like a pastoral county's grid work.
//
// The stream is a function of (org, options) only: the same seed and org give the same
// bytes on every machine and library version (own PRNG, no std:: distributions).
// Memory stays bounded however long the stream: only a capped pool of recent cases that
// still have actions to come, and the correlation keys of the last few days, are kept.
//
// What the stream assumes about the shipped workflows (workflows/*.yaml): the category
// routing below, each workflow's SLA ladder and correlation window, and who may act.
// It mirrors them so that most actions are accepted; an action the engine rejects is
// still a valid input line.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string_view>
#include <vector>

#include "engine/org.hpp"
#include "engine/time.hpp"

namespace gridcase::gen {

// Which shipped workflow a category is meant for.
enum class Flow {
  GridEscalation,    // grid-escalation.yaml: ordinary matters
  Emergency,         // emergency.yaml: flood, fire, epidemic, snow_disaster
  RelocatedHerders,  // relocated-herders.yaml: policy matters that carry hukou_township
};

struct CategoryInfo {
  std::string_view name;   // the report's `category`
  std::string_view label;  // Chinese label
  Flow flow;               // policy categories without hukou_township go to GridEscalation
};

// Every category the generator writes, in a fixed order.
const std::vector<CategoryInfo>& categories();

struct Options {
  uint64_t seed = 1;
  int64_t events = 10000;                     // output lines (reports + actions)
  Timestamp start{1780272000000};             // 2026-06-01T00:00:00Z: time of the first line
  double action_share = 0.5;                  // share of lines that are actions; 0..0.9
  bool flood_week = true;                     // one week of heavy rain (June flood season)
  std::optional<Timestamp> flood_week_start;  // default: the first 8 June 00:00Z at/after start
  int flood_townships = 3;                    // how many townships the rain hits
  double flood_factor = 3.0;                  // extra flood-related reports in the hit grids,
                                              // as a multiple of their normal total rate
  double reports_per_household_day = 0.04;    // normal rate (> 0): 100 households -> 4 a day
  double repeat_share = 0.03;                 // share of reports repeating an open case (merge)
  size_t max_open_cases = 1u << 15;           // cap on cases with actions still to come
};

// Writes exactly `opt.events` lines to `out`: reports and actions, times non-decreasing.
// Report ids are r-NNNNNNNN and action ids a-NNNNNNNN, unique in the stream. An action
// names a case opened earlier in the stream (case id = the opening report's id, grid = its
// origin grid); reports meant to merge into an open case are never acted on.
// The org must have at least one grid.
void generate(const Org& org, const Options& opt, std::ostream& out);

}  // namespace gridcase::gen
