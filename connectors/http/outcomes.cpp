#include "connectors/http/outcomes.hpp"

namespace gridcase::http {

void deliver_outcomes(const BatchOutcome& batch, const DeliverOutcome& deliver) {
  for (const RecordOutcome& r : batch.records) {
    if (!r.action_id) continue;
    ActionOutcome o;
    switch (r.outcome) {
      case RecordOutcome::Kind::Applied:
        o.kind = ActionOutcome::Kind::Applied;
        break;
      case RecordOutcome::Kind::Duplicate:
        o.kind = ActionOutcome::Kind::Duplicate;
        break;
      case RecordOutcome::Kind::Bad:
        o.kind = ActionOutcome::Kind::Invalid;
        o.reason = r.error;
        break;
    }
    deliver(*r.action_id, o, r.events);
  }
}

}  // namespace gridcase::http
