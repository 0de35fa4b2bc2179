#pragma once
// The workflow registry on Kafka: the compacted topic gridcase.workflows carries every
// deployed version, audit record and migration order to every engine (docs/lifecycle.md).
// Tools mirror it into a scratch registry, run the same code as on a state directory, and
// publish what that added, under a transactional lock so two deploys never interleave.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka.hpp"
#include "engine/result.hpp"

namespace gridcase::app {

inline constexpr const char* kWorkflowsTopic = "gridcase.workflows";

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Creates the topic where missing (one partition, compacted).
Result<bool> ensure_registry_topic(const std::string& brokers, const std::string& topic);

// Runs `work` on a scratch state directory whose registry mirrors the topic. With
// `publish`, the records `work` added or changed are then written to the topic in one
// transaction, under the lock taken before the topic was read. Returns work's status (or
// 2 with the error printed when Kafka fails).
int with_registry_topic(const std::string& brokers, const std::string& topic, bool publish,
                        const std::function<int(const std::string& state_dir)>& work);

// Follows the topic for a running engine: each call mirrors what arrived into the local
// registry of `state_dir`.
class RegistryFollower {
 public:
  static Result<std::unique_ptr<RegistryFollower>> open(const std::string& brokers,
                                                        const std::string& topic,
                                                        std::string state_dir);
  // Mirrors new records; waits up to timeout_ms for the topic's end. Returns how many
  // records changed the local registry.
  Result<size_t> mirror(int timeout_ms);

 private:
  RegistryFollower() = default;
  std::unique_ptr<kafka::TopicReader> reader_;
  std::string state_dir_;
};

}  // namespace gridcase::app
