#include "connectors/http/outcomes.hpp"

namespace gridcase::http {

void OutcomeTracker::close() {
  if (cur_.active) {
    ActionOutcome o;
    // An applied action always writes a case event (a transition or event_rejected), so
    // none at all means the engine saw its action_id before.
    o.kind = cur_.invalid          ? ActionOutcome::Kind::Invalid
             : cur_.events.empty() ? ActionOutcome::Kind::Duplicate
                                   : ActionOutcome::Kind::Applied;
    o.reason = cur_.reason;
    done_.push_back({cur_.action_id, o, std::move(cur_.events)});
  }
  cur_ = Current{};
}

void OutcomeTracker::wrap(ServiceCodecs& codecs) {
  codecs.parse = [this, parse = codecs.parse](std::string_view payload) {
    close();
    auto r = parse(payload);
    if (r.ok() && r->type == InputEvent::Type::Action && r->action_id.is_string()) {
      cur_.active = true;
      cur_.action_id = r->action_id.as_string();
      cur_.case_id = r->case_id;
      cur_.action = r->action;
    }
    return r;
  };
  codecs.format = [this, format = codecs.format](const CaseEvent& e) {
    std::string line = format(e);
    if (cur_.active && e.case_id == cur_.case_id && e.trigger == cur_.action) {
      cur_.events.push_back(line);
    }
    return line;
  };
  codecs.dead_letter = [this, dead = codecs.dead_letter](const SourceRecord& r,
                                                         const std::string& reason,
                                                         const std::string& error) {
    if (cur_.active) {
      cur_.invalid = true;
      cur_.reason = error;
    }
    return dead(r, reason, error);
  };
}

void OutcomeTracker::batch_done(bool committed, const Deliver& deliver) {
  close();
  if (committed) {
    for (const auto& d : done_) deliver(d.action_id, d.outcome, d.events);
  }
  done_.clear();
}

}  // namespace gridcase::http
