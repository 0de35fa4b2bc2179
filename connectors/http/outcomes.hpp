#pragma once
// Which case events did an action cause? The Service runs each input record through
// codecs.parse, then the Processor (whose case events go through codecs.format as they are
// written), then codecs.dead_letter if the record was bad. OutcomeTracker wraps those three
// to follow each action with an action_id through its batch: parse() opens it, format()
// collects its case events (same case, trigger = the action; timers that fire meanwhile
// have other triggers), dead_letter() marks it invalid, the next parse() closes it.
// batch_done() hands the outcomes out only after run_once() committed and published the
// batch, so an answer never shows a state the engine could still lose.
#include <functional>
#include <string>
#include <vector>

#include "connectors/http/api.hpp"
#include "engine/service.hpp"

namespace gridcase::http {

class OutcomeTracker {
 public:
  using Deliver = std::function<void(const std::string& action_id, const ActionOutcome& outcome,
                                     const std::vector<std::string>& events)>;
  // Wraps the codecs in place; the tracker must outlive the Service using them. All calls
  // come from the service's thread.
  void wrap(ServiceCodecs& codecs);
  // After each run_once(): `committed` = it returned ok (else the records are read again
  // and the outcomes of this attempt are dropped).
  void batch_done(bool committed, const Deliver& deliver);

 private:
  void close();

  struct Current {
    bool active = false;
    std::string action_id, case_id, action;
    std::vector<std::string> events;
    bool invalid = false;
    std::string reason;
  };
  struct Done {
    std::string action_id;
    ActionOutcome outcome;
    std::vector<std::string> events;
  };
  Current cur_;
  std::vector<Done> done_;
};

}  // namespace gridcase::http
