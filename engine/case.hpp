#pragma once
// A case, the input events that drive it and the case events it writes.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/org.hpp"
#include "engine/time.hpp"
#include "engine/value.hpp"

namespace gridcase {

struct PendingTimer {
  enum class Kind : uint8_t { SlaWarning = 0, SlaExpiry = 1, State = 2 };
  uint64_t seq = 0;  // scheduling order: ties at the same due time fire by seq
  Timestamp due;
  Kind kind = Kind::State;
  int32_t index = 0;  // Kind::State: index into the state's timers
  Timestamp sla_due;  // SLA kinds: the deadline of the period
};

struct Case {
  std::string id;
  int workflow = -1;  // index into Engine::workflows()
  int state = 0;      // index into Workflow::states
  int level = 0;      // index into Workflow::levels
  UnitIdx unit = kNoUnit;
  UnitIdx grid = kNoUnit;  // origin grid
  bool closed = false;
  int64_t report_count = 1;
  std::vector<UnitIdx> co_handlers;
  std::vector<Value> vars;  // parallel to Workflow::vars
  Value report;             // the opening report
  Timestamp opened_at;
  Timestamp level_since;
  Timestamp last_report_at;
  int64_t seq = 0;  // seq of the last case event written
  Value corr_key;   // from the opening report; null never merges
  std::vector<PendingTimer> timers;
  std::vector<std::string> action_ids;  // seen action_ids, for idempotent actions
};

// An input event after parsing and validation at the edge.
struct InputEvent {
  enum class Type : uint8_t { Report, Action };
  Type type = Type::Report;
  Timestamp at;
  // Report
  Value report;  // the whole report object (severity defaulted to 1)
  std::string report_id;
  std::string grid;  // reports: report.grid; actions: the case's origin grid, "" if not given
  std::string category;
  // Action
  std::string case_id;
  std::string action;
  Value actor;       // string or null
  Value actor_unit;  // string or null
  Value note;
  Value action_id;  // string or null
  Value data;
};

struct CaseEvent {
  std::string case_id;
  int64_t seq = 0;
  std::string type;
  Timestamp at;
  std::string workflow;
  std::string state;
  std::string level;
  std::string unit;
  std::string trigger;
  std::vector<std::pair<std::string, Value>> extra;  // type-specific fields, in order
};

struct TimerChange {
  enum class Op : uint8_t { Add, Remove };
  Op op = Op::Add;
  Timestamp due;
  uint64_t seq = 0;
};

}  // namespace gridcase
