#pragma once
// The runtime loop over the ports: routes input events (dedupe, workflow selection,
// correlation), drives the clock and the timers, applies steps to the store.
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/store.hpp"

namespace gridcase {

// A correlation key as stored: type-tagged so that "1" and 1 never meet.
std::string encode_correlation_key(const Value& key);

class Processor {
 public:
  Processor(const Engine& engine, CaseStore& store, EventSink& sink);

  // Restores the clock and the timer counter from the store.
  Result<bool> init();

  enum class Outcome { Applied, Duplicate, Bad };
  struct Verdict {
    Outcome outcome = Outcome::Applied;
    std::string error;                // Outcome::Bad: why
    std::vector<RuleError> warnings;  // failed `match` expressions
    // Applied: the case the event opened, merged into or acted on; an action's case also
    // when Duplicate.
    std::string case_id;
    // The case events of the event's own step: the last ones it emitted (timers that fell
    // due before it fire first and emit theirs before these).
    size_t step_events = 0;
  };

  // Checks and applies one input event. A bad event changes nothing and does not move the
  // clock. Storage read errors are returned as Bad with the reason.
  Verdict process(const InputEvent& ev);

  // Moves the clock to `t` (never backwards), firing every timer due at or before it, in
  // due order, each at its due time.
  Result<bool> advance_to(Timestamp t);

  // Moves case `case_id` to workflow index `to` at the current clock (Engine::migrate).
  // Ok(false) with `why` when it cannot move.
  Result<bool> migrate(const std::string& case_id, int to, std::string* why);

  // Saves the clock and counters, then commits the store.
  // behind: through CaseStore::commit_behind(), whose Ok(true) means written behind (durable
  // once the store's durable() says so).
  Result<bool> commit(bool behind = false);

  Timestamp clock() const { return clock_; }
  uint64_t events_in() const { return events_in_; }
  uint64_t events_out() const { return events_out_; }
  uint64_t timers_fired() const { return timers_fired_; }

 private:
  void apply(Case&& c, StepResult& r);  // saves the case (taken) and emits its events
  Verdict process_report(const InputEvent& ev);
  Verdict process_action(const InputEvent& ev);

  const Engine& engine_;
  CaseStore& store_;
  EventSink& sink_;
  Timestamp clock_{INT64_MIN};
  uint64_t timer_seq_ = 0;
  uint64_t events_in_ = 0;
  uint64_t events_out_ = 0;
  uint64_t timers_fired_ = 0;
  StepResult scratch_;
};

}  // namespace gridcase
