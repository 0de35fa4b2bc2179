#pragma once
// The step function: (case, event, now) -> (case', case events, timer changes).
// Pure and deterministic: no I/O, no clock, no randomness; timer ids come from a counter
// the caller owns and persists.
#include <memory>
#include <string>
#include <vector>

#include "engine/case.hpp"
#include "engine/org.hpp"
#include "engine/workflow.hpp"

namespace gridcase {

struct RuleError {
  std::string message;
  std::string location;  // FILE:LINE:COL in the workflow file
};

struct StepResult {
  std::vector<CaseEvent> events;
  std::vector<TimerChange> timers;
  bool closed_now = false;  // the case entered a final state in this step
  void clear() {
    events.clear();
    timers.clear();
    closed_now = false;
  }
};

class Engine {
 public:
  Engine(std::shared_ptr<const Org> org, std::vector<Workflow> workflows);

  const Org& org() const { return *org_; }
  // Every loaded workflow; with versions, several entries may share a name: the highest
  // version of each name is the live one, which new reports open cases in. Cases opened on
  // an older version keep running on it.
  const std::vector<Workflow>& workflows() const { return workflows_; }
  // The live workflow of that name; -1 if none.
  int workflow_index(std::string_view name) const;
  // That exact version (0: unversioned); -1 if not loaded.
  int workflow_index(std::string_view name, int64_t version) const;

  // Adds newly deployed versions (a hot reload): appended, so every index held so far
  // stays valid; the highest version of each name becomes live. Call only between steps,
  // on the thread that runs them (other threads may read org() meanwhile, nothing else),
  // and not while a store writes a batch behind: RocksStore's writer thread reads the
  // workflows to encode that batch's cases, so call the store's durable() first.
  void add_versions(std::vector<Workflow> more);

  // The workflow a new report opens a case in: the highest-priority one whose match holds
  // (ties by name); -1 if none. Failing matches count as false and are listed in `errors`.
  int select_workflow(const InputEvent& report, Timestamp now,
                      std::vector<RuleError>* errors) const;

  // The correlation key of `report` under workflow `wf`: null when the workflow does not
  // correlate, the key is null, or it failed (then `error` says why).
  Value correlation_key(int wf, const Value& report, Timestamp now, RuleError* error,
                        bool* failed) const;

  // Opens case `c` (empty on entry) from `ev`. `pre_errors` are rule errors found while
  // routing (a failed correlate.key), written after `opened`.
  void open(Case& c, int wf, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
            const std::vector<RuleError>& pre_errors, StepResult& out) const;
  // Merges a correlated report into the open case `c`.
  void merge(Case& c, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
             StepResult& out) const;
  // Applies an action (the caller has checked action_id duplicates and the grid).
  void act(Case& c, const InputEvent& ev, Timestamp now, uint64_t& timer_seq,
           StepResult& out) const;
  // Fires the pending timer `timer_id` of `c` (now = its due time). Returns false if the
  // case has no such timer (already cancelled): nothing happens then.
  bool fire(Case& c, uint64_t timer_id, Timestamp now, uint64_t& timer_seq, StepResult& out) const;

  // Moves the open case `c` to workflow `to` (normally another version of its workflow) if
  // its state and level exist there (and the state is not final): vars are kept by name,
  // new vars take their initial values; every timer is recomputed under the new rules: the
  // SLA clock counts from `level_since` (time already spent at the level counts, so a
  // deadline may already have passed: it fires at once), state timers start again at `now`.
  // Writes a `migrated` case event (from_version, to_version). Returns false and says why
  // when the case cannot move; nothing changes then.
  bool migrate(Case& c, int to, Timestamp now, uint64_t& timer_seq, StepResult& out,
               std::string* why) const;

  // Evaluates a boolean expression (compiled with the case fields of `c`'s workflow) over
  // the case as it is: `case.*`, `report.*` (its opening report), `now`. For tools such as
  // `migrate --where`.
  Result<bool> case_matches(const Expr& e, const Case& c, Timestamp now) const;

  // The actor's unit: the action's actor_unit if it is in the org tree, else the actor's
  // unit in people; kNoUnit if neither.
  UnitIdx actor_unit(const InputEvent& ev) const;

 private:
  struct Step;
  void rank();  // by_priority_ from the live versions
  std::shared_ptr<const Org> org_;
  std::vector<Workflow> workflows_;
  std::vector<int> by_priority_;  // workflow indices, highest priority first, ties by name
};

}  // namespace gridcase
