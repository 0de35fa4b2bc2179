#include "connectors/http/kafka_intake.hpp"

namespace gridcase::http {

Result<std::unique_ptr<KafkaIntake>> KafkaIntake::open(const kafka::KafkaOptions& options) {
  auto sink = kafka::KafkaSink::open(options);
  if (!sink.ok()) return sink.error();
  std::unique_ptr<KafkaIntake> k(new KafkaIntake());
  k->sink_ = std::move(sink).value();
  kafka::KafkaSink* raw = k->sink_.get();
  std::string topic = options.input_topic;
  k->group_ = std::make_unique<GroupCommitIntake>(
      [raw, topic](const std::vector<IntakeRecord>& records) -> Result<bool> {
        std::vector<OutMessage> msgs;
        msgs.reserve(records.size());
        for (const auto& r : records) msgs.push_back({topic, r.key, r.payload});
        return raw->publish(msgs);
      });
  return k;
}

void KafkaIntake::submit(std::vector<IntakeRecord> records, Done done) {
  group_->submit(std::move(records), std::move(done));
}

bool KafkaIntake::ready(std::string* why) {
  return group_->ready(why);
}

void KafkaIntake::run_callbacks_on(Runner run) {
  group_->run_callbacks_on(std::move(run));
}

}  // namespace gridcase::http
