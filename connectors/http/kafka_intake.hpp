#pragma once
// The intake on Kafka: input events produced to the input topic (key = origin grid, so a
// grid's events share a partition) by an idempotent producer with acks=all. One writer
// thread publishes each group and waits for every delivery report: KafkaSink is not
// thread-safe, and one flush per group is the point of grouping anyway.
#include <memory>

#include "connectors/http/intake.hpp"
#include "connectors/kafka.hpp"

namespace gridcase::http {

class KafkaIntake final : public Intake {
 public:
  // Opens the producer (fails within options.timeout_ms when the cluster is unreachable).
  static Result<std::unique_ptr<KafkaIntake>> open(const kafka::KafkaOptions& options);
  void submit(std::vector<IntakeRecord> records, Done done) override;
  bool ready(std::string* why) override;
  void run_callbacks_on(Runner run) override;
  GroupCommitIntake& group() { return *group_; }

 private:
  KafkaIntake() = default;
  std::unique_ptr<kafka::KafkaSink> sink_;
  std::unique_ptr<GroupCommitIntake> group_;  // after sink_: stopped (drained) first
};

}  // namespace gridcase::http
