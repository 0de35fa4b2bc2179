#pragma once
// Which case events did an action cause? The Service reports each committed batch
// (ServiceOptions::on_batch) with, per input record, its outcome, its action_id and the case
// events of its own step; deliver_outcomes() hands those of actions with an action_id to
// the requests waiting for them (HttpServer::on_outcome).
#include <functional>
#include <string>
#include <vector>

#include "connectors/http/api.hpp"
#include "engine/service.hpp"

namespace gridcase::http {

using DeliverOutcome =
    std::function<void(const std::string& action_id, const ActionOutcome& outcome,
                       const std::vector<std::string>& events)>;

void deliver_outcomes(const BatchOutcome& batch, const DeliverOutcome& deliver);

}  // namespace gridcase::http
