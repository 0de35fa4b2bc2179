// The Kafka intake against librdkafka's mock cluster: concurrent submissions are produced
// (key = grid) and acknowledged before their callbacks run; a failed produce fails the
// submissions of its group and makes the intake not ready until the next success.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <condition_variable>
#include <mutex>

#include "connectors/http/kafka_intake.hpp"

namespace gridcase::http {
namespace {

constexpr int16_t kProduce = 0;  // the Produce ApiKey

class KafkaIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[256];
    ASSERT_EQ(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", errstr, sizeof errstr),
              RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ASSERT_NE(owner_, nullptr) << errstr;
    mcluster_ = rd_kafka_handle_mock_cluster(owner_);
    ASSERT_EQ(rd_kafka_mock_topic_create(mcluster_, "gridcase.input", 3, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    opt_.brokers = rd_kafka_mock_cluster_bootstraps(mcluster_);
    opt_.timeout_ms = 5000;
    opt_.delivery_timeout_ms = 3000;
    opt_.properties["retry.backoff.ms"] = "10";
  }
  void TearDown() override {
    if (owner_) rd_kafka_destroy(owner_);
  }
  int64_t count() {
    int64_t total = 0;
    for (int p = 0; p < 3; ++p) {
      int64_t lo = 0, hi = 0;
      rd_kafka_query_watermark_offsets(owner_, "gridcase.input", p, &lo, &hi, 5000);
      total += hi - lo;
    }
    return total;
  }
  // Submits and waits for the callback (on the intake's thread).
  Result<bool> submit(Intake& in, std::vector<IntakeRecord> records) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<bool>> out;
    in.submit(std::move(records), [&](Result<bool> r) {
      std::lock_guard g(mu);
      out = std::move(r);
      cv.notify_one();
    });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return out.has_value(); });
    return *out;
  }

  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  kafka::KafkaOptions opt_;
};

TEST_F(KafkaIntakeTest, RecordsAreAcknowledgedBeforeTheAnswer) {
  auto in = KafkaIntake::open(opt_);
  ASSERT_TRUE(in.ok()) << in.error().message;
  auto r = submit(*in.value(), {{"g1", R"({"type": "report"})"}, {"g2", R"({"type": "report"})"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(count(), 2);
  EXPECT_TRUE(in.value()->ready(nullptr));
}

TEST_F(KafkaIntakeTest, AFailedProduceFailsTheGroupAndTheReadiness) {
  auto in = KafkaIntake::open(opt_);
  ASSERT_TRUE(in.ok()) << in.error().message;
  rd_kafka_mock_push_request_errors(mcluster_, kProduce, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  auto r = submit(*in.value(), {{"g1", "x"}});
  ASSERT_FALSE(r.ok());
  std::string why;
  EXPECT_FALSE(in.value()->ready(&why));
  EXPECT_NE(why.find("MSG_SIZE_TOO_LARGE"), std::string::npos) << why;
  ASSERT_TRUE(submit(*in.value(), {{"g1", "y"}}).ok());
  EXPECT_TRUE(in.value()->ready(nullptr));
}

}  // namespace
}  // namespace gridcase::http
