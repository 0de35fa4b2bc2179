// Fault injection for KafkaSink with librdkafka's built-in mock cluster (no broker, fast):
// request errors and a broker going down must surface as Errors, or be retried to success.
// The real broker tests (kafka_test) remain the proof that Kafka works.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <string>
#include <vector>

#include "connectors/kafka.hpp"

namespace gridcase::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// The Kafka protocol's ApiKey of Produce (librdkafka's kProduce is not public).
constexpr int16_t kProduce = 0;

// Named like its binary (not CamelCase) so that `ctest -R kafka_mock` selects these tests.
class kafka_mock : public ::testing::Test {
 protected:
  void SetUp() override {
    // A client handle whose only job is to own a one-broker mock cluster.
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[256];
    ASSERT_EQ(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", errstr, sizeof errstr),
              RD_KAFKA_CONF_OK)
        << errstr;
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);  // the sink logs
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ASSERT_NE(owner_, nullptr) << errstr;
    mcluster_ = rd_kafka_handle_mock_cluster(owner_);
    ASSERT_NE(mcluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(mcluster_, topic_.c_str(), 3, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    opt_.brokers = rd_kafka_mock_cluster_bootstraps(mcluster_);
    opt_.timeout_ms = 5000;
    opt_.delivery_timeout_ms = 5000;
    opt_.properties["retry.backoff.ms"] = "10";
  }

  void TearDown() override {
    if (owner_) rd_kafka_destroy(owner_);
  }

  std::vector<OutMessage> messages(int n) const {
    std::vector<OutMessage> out;
    for (int i = 0; i < n; ++i) {
      out.push_back({topic_, "r-" + std::to_string(i % 5), "event " + std::to_string(i)});
    }
    return out;
  }

  int64_t message_count() {
    int64_t total = 0;
    for (int p = 0; p < 3; ++p) {
      int64_t lo = 0, hi = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(owner_, topic_.c_str(), p, &lo, &hi, 5000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      total += hi - lo;
    }
    return total;
  }

  std::string topic_ = "gridcase.case-events";
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  KafkaOptions opt_;
};

TEST_F(kafka_mock, PublishesToTheMockCluster) {
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  auto r = (*sink)->publish(messages(40));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(message_count(), 40);
}

TEST_F(kafka_mock, RetriableProduceErrorsAreRetriedToSuccessWithoutDuplicates) {
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  rd_kafka_mock_push_request_errors(
      mcluster_, kProduce, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  auto r = (*sink)->publish(messages(30));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(message_count(), 30);  // the idempotent producer wrote each once
}

TEST_F(kafka_mock, PermanentProduceErrorIsAnErrorNamingTheTopicAndReason) {
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  rd_kafka_mock_push_request_errors(mcluster_, kProduce, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  auto r = (*sink)->publish({{topic_, "r-1", "one"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(topic_), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << r.error().message;
  // The fault is gone: the same sink publishes again (the idempotent producer recovers).
  auto again = (*sink)->publish(messages(5));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(message_count(), 5);
}

TEST_F(kafka_mock, AuthorizationFailureIsAnErrorNamingTheTopicAndReason) {
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  rd_kafka_mock_push_request_errors(mcluster_, kProduce, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto r = (*sink)->publish(messages(4));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(topic_), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos)
      << r.error().message;
}

TEST_F(kafka_mock, RetriesRunningOutIsAnErrorWithinTheDeliveryTimeout) {
  opt_.delivery_timeout_ms = 1500;
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  std::vector<rd_kafka_resp_err_t> errors(1000, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(mcluster_, kProduce, errors.size(), errors.data());
  auto t0 = Clock::now();
  auto r = (*sink)->publish(messages(3));
  auto elapsed = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(topic_), std::string::npos) << r.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  rd_kafka_mock_clear_request_errors(mcluster_, kProduce);
}

TEST_F(kafka_mock, BrokerDownIsAnErrorWithinTheDeliveryTimeout) {
  opt_.delivery_timeout_ms = 1500;
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  ASSERT_TRUE((*sink)->publish(messages(2)).ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mcluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto t0 = Clock::now();
  auto r = (*sink)->publish(messages(3));
  auto elapsed = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(topic_), std::string::npos) << r.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(mcluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
}

}  // namespace
}  // namespace gridcase::kafka
