#pragma once
// What the HTTP API knows of the workflows the engine runs: the actions each state of each
// version accepts (GET /v1/cases/{id}), and the versions with their YAML for the
// administrators (GET /v1/workflows, /v1/workflows/{name}/{version}). Filled on the engine
// thread (sync() after start and after each hot reload), read from the HTTP threads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/org.hpp"
#include "engine/workflow.hpp"

namespace gridcase::http {

// One transition an action may take in a state: who may trigger it (the DSL's `by`, a
// bit set of ActorRole) and its `when` as written ("" when it has none).
struct ActionRule {
  uint8_t by = kByAny;
  std::string when;
  std::optional<Expr> when_expr;
};

// What the API knows of a case when it asks whether a `when` holds: the case's own fields
// (no variables), the action's name and actor. Anything else (vars, report, event.note,
// event.data, unit()) is unknown.
struct CaseFacts {
  std::string id, state, level, unit, grid, workflow;
  std::vector<std::string> co_handlers;
  Timestamp opened_at;
  bool closed = false;
  std::string action;  // event.type
  std::string actor;   // event.actor
};

// Whether `when` holds for the case: True or False when it could be decided from the facts
// alone (&& and || short-circuit left to right, so `case.level != "grid" && size(event.note)
// > 0` is False at the grid without knowing the note), else Unknown. An expression that
// fails is False, as in the engine.
enum class WhenVerdict { True, False, Unknown };
WhenVerdict probe_when(const Expr& when, const CaseFacts& facts, Timestamp now);

// An action (an event name of the state's `on:`) with its transitions, in order.
struct OfferedAction {
  std::string action;
  std::vector<ActionRule> rules;
};

// The actions a state offers: every event name its `on:` handles except those the engine
// delivers itself (opened, report, sla_warning, sla_expired) and the names of the
// workflow's timer events (`timers:` of any state), in the order of the file.
std::vector<OfferedAction> offered_actions(const Workflow& wf, const State& st);

// The DSL's `by` names of a bit set: "assignee", "supervisor", "co_handler", "any".
std::vector<std::string> by_names(uint8_t by);

// How an actor of unit `actor` stands to a case held by `unit` with these co-handlers, as
// the engine checks `by` (engine.cpp): a bit set of ActorRole, always with kByAny.
uint8_t actor_relation(const Org& org, UnitIdx actor, UnitIdx unit,
                       const std::vector<UnitIdx>& co_handlers);

struct WorkflowInfo {
  std::string name;
  int64_t version = 0;  // 0: loaded from a file, not deployed
  std::string hash;     // the registry's hash; for a file, SHA-256 of its text
  std::string file;
  std::string description;
  std::string deployed_at;  // "" for a file
  std::string actor;        // "" for a file
  bool live = false;        // the highest version of its name: new cases open on it
  std::string text;         // the YAML (empty in list())
};

class WorkflowCatalog {
 public:
  // Registry data of a deployed version (deployed_at, actor, text): nullopt when unknown.
  using Meta = std::function<std::optional<WorkflowInfo>(const std::string& name, int64_t version)>;

  // Adds the versions of `workflows` not known yet (by name and version); the highest
  // version of each name is the live one. A file's text is read from Workflow::file.
  void sync(const std::vector<Workflow>& workflows, const Meta& meta = {});
  // How many workflow versions sync() has seen (the engine's count at the last sync).
  size_t synced() const;

  std::vector<WorkflowInfo> list() const;  // by name, then version; without texts
  std::optional<WorkflowInfo> get(std::string_view name, int64_t version) const;
  // The actions `state` of that version offers; version < 0: the live version of the
  // name. nullopt: no such workflow, version or state.
  std::optional<std::vector<OfferedAction>> actions(std::string_view name, int64_t version,
                                                    std::string_view state) const;

 private:
  struct Entry {
    WorkflowInfo info;
    std::map<std::string, std::vector<OfferedAction>, std::less<>> by_state;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, Entry, std::less<>> entries_;
  size_t synced_ = 0;
};

}  // namespace gridcase::http
