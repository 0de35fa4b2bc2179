#pragma once
// The workflow model (workflow-dsl.md), loaded from YAML and checked once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/calendar.hpp"
#include "engine/diagnostics.hpp"
#include "engine/expr.hpp"
#include "engine/org.hpp"
#include "engine/value.hpp"

namespace gridcase {

// Who may trigger a transition; a bit set. Empty means any.
enum ActorRole : uint8_t {
  kByAssignee = 1,
  kBySupervisor = 2,
  kByCoHandler = 4,
  kByAny = 8,
};

struct Located {
  std::string file;
  SourcePos pos;
  std::string str() const {
    return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.col);
  }
};

// A compiled expression of a workflow file, whose errors (at load and at run time) name
// the place in the file, however the YAML scalar was written (quoted, escaped, folded).
class Expr {
 public:
  Expr(expr::Program program, std::shared_ptr<const std::vector<SourcePos>> map, SourcePos pos)
      : program_(std::move(program)), map_(std::move(map)), pos_(pos) {}
  Result<Value> eval(const expr::Env& env) const;
  Result<bool> eval_bool(const expr::Env& env) const;
  // Where the expression starts in the file.
  SourcePos pos() const { return pos_; }
  const std::string& source() const { return program_.source(); }
  // A position inside the source text (line/col from 1:1) as a position in the file.
  SourcePos locate(SourcePos in_source) const;

 private:
  expr::Program program_;
  std::shared_ptr<const std::vector<SourcePos>> map_;  // per code point of the source
  SourcePos pos_;
};

struct SetOp {
  int var = -1;  // index into Workflow::vars
  std::optional<Expr> expr;
  Value literal;
};

enum class LevelMove : uint8_t { None, Up, Down, Top, Named };

struct NotifyTarget {
  enum class Kind : uint8_t { Level, Assignee, CoHandlers, Unit } kind = Kind::Assignee;
  int org_level = -1;   // Kind::Level: index into Org::levels
  std::string unit_id;  // Kind::Unit
};

struct Transition {
  std::optional<Expr> when;
  uint8_t by = kByAny;
  std::vector<SetOp> set;
  LevelMove level = LevelMove::None;
  int level_to = -1;  // LevelMove::Named: index into Workflow::levels
  std::optional<Expr> co_handle;
  std::vector<NotifyTarget> notify;
  int goto_state = -1;  // -1: stay
  Located where;
};

struct TimerSpec {
  Duration after;
  std::string event;
  bool repeat = false;
};

struct State {
  std::string name;
  bool final = false;
  bool sla = false;
  std::vector<TimerSpec> timers;
  // event type -> transitions tried in order
  std::vector<std::pair<std::string, std::vector<Transition>>> on;
  SourcePos pos;

  const std::vector<Transition>* find(std::string_view event) const {
    for (const auto& [name, ts] : on) {
      if (name == event) return &ts;
    }
    return nullptr;
  }
};

struct Workflow {
  std::string name;
  SourcePos name_pos;  // where the name is written (a second workflow of that name is told there)
  // Deployed version (`gridcase deploy`): 1, 2, ... per name, and the content hash. 0 for a
  // workflow loaded straight from a file. Cases record the version they run on.
  int64_t version = 0;
  std::string hash;
  std::string description;
  std::string file;
  std::optional<Expr> match;          // none: matches every report
  bool matches_every_report = false;  // no match, or one that is always true
  int64_t priority = 0;
  std::vector<std::string> levels;           // the ladder, lowest first
  std::vector<int> level_org;                // levels[i] as an index into Org::levels
  std::vector<std::optional<Duration>> sla;  // per ladder level
  // Per ladder level, for a working-time SLA (`sla: {grid: 4h working}`): the working time
  // allowed, counted on `calendar`. Then `sla[i]` is the same period read as wall-clock time
  // (a day as 24 h), used for cases that calendar.except keeps on wall-clock time.
  std::vector<std::optional<Duration>> sla_working;
  std::shared_ptr<const Calendar> calendar;  // `calendar:`; none: every SLA is wall-clock
  std::optional<Expr> calendar_except;       // cases for which every SLA stays wall-clock
  std::optional<double> sla_warning;         // share of the period, 0 < p < 1 (for display)
  std::optional<int64_t> sla_warning_ppm;    // the same, exactly, in parts per million
  std::optional<Expr> correlate_key;
  Duration correlate_window;
  std::vector<std::pair<std::string, Value>> vars;  // declared vars and their initial values
  int initial = 0;
  std::vector<State> states;

  int state_index(std::string_view name) const;
  int var_index(std::string_view name) const;
  int level_index(std::string_view name) const;
};

// The names `case.NAME` may use in this workflow: built-ins and declared vars.
std::vector<std::string> case_field_names(const std::vector<std::pair<std::string, Value>>& vars);
extern const std::vector<std::string> kEventFields;

// Loads one workflow file. `org` may be null: then level names are checked against the
// ladder only. Problems go to diags; nullopt if there were errors.
std::optional<Workflow> load_workflow_text(std::string_view text, const std::string& file,
                                           const Org* org, Diagnostics& diags);
std::optional<Workflow> load_workflow_file(const std::string& path, const Org* org,
                                           Diagnostics& diags);

// Files to load from PATH: a file, or the *.yaml / *.yml files of a directory, sorted.
std::vector<std::string> yaml_files(const std::string& path, Diagnostics& diags);

// Warns, at its name, about each workflow ranked below one that matches every report (no
// `match`, or one always true): the engine never picks it.
void warn_shadowed(const std::vector<Workflow>& workflows, Diagnostics& diags);

// Loads every workflow under `paths`, checks names are unique, warns of shadowed ones.
std::optional<std::vector<Workflow>> load_workflows(const std::vector<std::string>& paths,
                                                    const Org* org, Diagnostics& diags);

}  // namespace gridcase
