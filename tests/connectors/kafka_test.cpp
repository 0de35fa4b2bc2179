// The Kafka adapters against a real Apache Kafka broker. The broker comes from
// GRIDCASE_KAFKA_BROKERS, or, when that is unset, this binary starts one with
// ops/kafka/start.sh on a free port (once per process) and stops and purges it at the end.
// No broker is a failure with the reason, never a skip.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectors/kafka.hpp"

#ifndef GRIDCASE_SOURCE_DIR
#error "GRIDCASE_SOURCE_DIR must point at the source tree (ops/kafka/start.sh)"
#endif

namespace gridcase::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP port nothing listens on right now (the kernel's choice).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Runs a shell command; returns its exit status and the last line of its stdout.
int run(const std::string& cmd, std::string* last_line) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string line;
  while (std::fgets(buf.data(), buf.size(), p)) {
    std::string s = buf.data();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (!s.empty()) line = s;
  }
  int status = ::pclose(p);
  if (last_line) *last_line = line;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Started lazily by the first test that needs a broker, so tests that need none (and
// `--gtest_list_tests`) start nothing; stopped and purged when the process ends.
class BrokerEnvironment : public ::testing::Environment {
 public:
  // The bootstrap address, or "" with reason() saying why there is none.
  const std::string& brokers() {
    if (tried_) return brokers_;
    tried_ = true;
    if (const char* b = std::getenv("GRIDCASE_KAFKA_BROKERS"); b && *b) {
      brokers_ = b;
      return brokers_;
    }
    port_ = free_port();
    if (port_ == 0) {
      reason_ = "GRIDCASE_KAFKA_BROKERS is unset and no free port was found for a broker";
      return brokers_;
    }
    char tmpl[] = "/tmp/gridcase-kafka-test-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      reason_ = "GRIDCASE_KAFKA_BROKERS is unset and no temp dir could be made for a broker";
      return brokers_;
    }
    data_ = tmpl;
    started_ = true;
    std::string cmd = std::string(GRIDCASE_SOURCE_DIR) + "/ops/kafka/start.sh --port " +
                      std::to_string(port_) + " --data " + data_;
    std::fprintf(stderr, "kafka_test: GRIDCASE_KAFKA_BROKERS is unset, starting a broker: %s\n",
                 cmd.c_str());
    std::string addr;
    int rc = run(cmd, &addr);
    if (rc != 0 || addr.empty()) {
      reason_ = "GRIDCASE_KAFKA_BROKERS is unset and `" + cmd + "` failed (exit " +
                std::to_string(rc) + "); see its output above";
      return brokers_;
    }
    brokers_ = addr;
    return brokers_;
  }

  void TearDown() override {
    if (!started_) return;
    std::string cmd = std::string(GRIDCASE_SOURCE_DIR) + "/ops/kafka/stop.sh --port " +
                      std::to_string(port_) + " --data " + data_ + " --purge";
    if (run(cmd, nullptr) != 0) std::fprintf(stderr, "kafka_test: `%s` failed\n", cmd.c_str());
  }

  const std::string& reason() const { return reason_; }

 private:
  std::string brokers_, reason_, data_;
  int port_ = 0;
  bool tried_ = false;
  bool started_ = false;
};

BrokerEnvironment* g_env =
    static_cast<BrokerEnvironment*>(::testing::AddGlobalTestEnvironment(new BrokerEnvironment));

// Kafka's Utils.murmur2, as the Java client's default partitioner uses it.
int32_t java_murmur2(const std::string& key) {
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const auto length = static_cast<uint32_t>(key.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28c ^ length;
  for (uint32_t i = 0; i + 4 <= length; i += 4) {
    uint32_t k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
                 (static_cast<uint32_t>(data[i + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t java_partition(const std::string& key, int partitions) {
  return (java_murmur2(key) & 0x7fffffff) % partitions;
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (needs_broker()) {
      ASSERT_FALSE(g_env->brokers().empty()) << "no Kafka broker: " << g_env->reason();
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    static int counter = 0;
    suffix_ = std::string(info->name()) + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(++counter) + "-" +
              std::to_string(Clock::now().time_since_epoch().count() % 1000000);
    if (needs_broker()) opt_.brokers = g_env->brokers();
    opt_.input_topic = "t.input." + suffix_;
    opt_.case_events_topic = "t.case-events." + suffix_;
    opt_.dead_letter_topic = "t.dead-letter." + suffix_;
    opt_.group_id = "g." + suffix_;
    opt_.group_instance_id = "i." + suffix_;
    opt_.client_id = "kafka_test";
    opt_.timeout_ms = 20000;
  }

  virtual bool needs_broker() const { return true; }

  // The partition count of a topic, -1 if it does not exist.
  int partition_count(const std::string& topic) {
    rd_kafka_t* rk = producer_handle();
    const rd_kafka_metadata_t* md = nullptr;
    int n = -1;
    if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          n = md->topics[i].partition_cnt;
        }
      }
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return n;
  }

  // Messages in a topic: the sum of the partitions' high watermarks.
  int64_t message_count(const std::string& topic, int partitions) {
    rd_kafka_t* rk = producer_handle();
    int64_t total = 0;
    for (int p = 0; p < partitions; ++p) {
      int64_t lo = 0, hi = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      total += hi - lo;
    }
    rd_kafka_destroy(rk);
    return total;
  }

  rd_kafka_t* producer_handle() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", opt_.brokers.c_str(), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  }

  // Polls until `n` records came in or `timeout` ran out.
  static std::vector<SourceRecord> poll_until(KafkaSource& src, size_t n,
                                              std::chrono::milliseconds timeout) {
    std::vector<SourceRecord> got;
    auto deadline = Clock::now() + timeout;
    while (got.size() < n && Clock::now() < deadline) {
      auto r = src.poll(n - got.size(), 200);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
      if (!r.ok()) break;
      for (auto& rec : *r) got.push_back(std::move(rec));
    }
    return got;
  }

  // n input events over `grids` keys; value "KEY#i" with i counting per key.
  static std::vector<std::pair<std::string, std::string>> keyed_events(int n, int grids,
                                                                       int first = 0) {
    std::vector<std::pair<std::string, std::string>> kv;
    for (int i = first; i < first + n; ++i) {
      std::string key = "jjbl-c" + std::to_string(i % grids) + "-g0" + std::to_string(i % 7);
      kv.emplace_back(key, key + "#" + std::to_string(i));
    }
    return kv;
  }

  std::string suffix_;
  KafkaOptions opt_;
};

TEST(Murmur2, MatchesKafkaJavaClient) {
  // Kafka's own UtilsTest vectors.
  EXPECT_EQ(java_murmur2("21"), -973932308);
  EXPECT_EQ(java_murmur2("foobar"), -790332482);
  EXPECT_EQ(java_murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(java_murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(java_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(java_murmur2(std::string("abc")), 479470107);
}

TEST_F(KafkaTest, EnsureTopicsCreatesThemAndIsIdempotent) {
  auto t0 = Clock::now();
  auto r = ensure_topics(opt_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto first_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  for (const auto& t : {opt_.input_topic, opt_.case_events_topic, opt_.dead_letter_topic}) {
    EXPECT_EQ(partition_count(t), 3) << t;
  }
  // Again, and with a different partition count: existing topics are left alone.
  KafkaOptions again = opt_;
  again.partitions = 5;
  auto r2 = ensure_topics(again);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(partition_count(opt_.input_topic), 3);
  // One new topic among existing ones.
  std::string extra = "t.extra." + suffix_;
  auto r3 = ensure_topics(opt_, {opt_.input_topic, extra});
  ASSERT_TRUE(r3.ok()) << r3.error().message;
  EXPECT_EQ(partition_count(extra), 3);
  std::printf("first ensure_topics took %lld ms\n", static_cast<long long>(first_ms.count()));
}

TEST_F(KafkaTest, OpenSourceOnMissingTopicIsAnError) {
  opt_.timeout_ms = 5000;
  auto src = KafkaSource::open(opt_);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message.find(opt_.input_topic), std::string::npos) << src.error().message;
  std::printf("KafkaSource::open: %s\n", src.error().message.c_str());
}

TEST_F(KafkaTest, SourceReadsEverythingBackInOrderPerPartition) {
  ASSERT_TRUE(ensure_topics(opt_).ok());
  const int n = 600;
  auto kv = keyed_events(n, 13);
  auto p = produce_lines(opt_, kv, opt_.input_topic);
  ASSERT_TRUE(p.ok()) << p.error().message;

  auto src = KafkaSource::open(opt_);
  ASSERT_TRUE(src.ok()) << src.error().message;
  ASSERT_TRUE((*src)->seek({}).ok());
  auto got = poll_until(**src, n, std::chrono::seconds(60));
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  // Nothing more arrives.
  auto more = (*src)->poll(10, 500);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());

  std::map<int32_t, int64_t> next_offset;  // per partition: offsets 0, 1, 2, ...
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, int32_t> partition_of;
  for (const auto& r : got) {
    EXPECT_EQ(r.topic, opt_.input_topic);
    EXPECT_EQ(r.offset, next_offset[r.partition]) << "partition " << r.partition;
    next_offset[r.partition] = r.offset + 1;
    by_key[r.key].push_back(r.payload);
    auto [it, fresh] = partition_of.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << "key " << r.key << " in two partitions";
    // The Java client's partitioner would have chosen the same partition.
    EXPECT_EQ(r.partition, java_partition(r.key, 3)) << "key " << r.key;
  }
  EXPECT_EQ(next_offset.size(), 3u) << "all partitions used";
  std::map<std::string, std::vector<std::string>> want;
  for (const auto& [k, v] : kv) want[k].push_back(v);
  EXPECT_EQ(by_key, want);  // every message, in produce order per key
  EXPECT_EQ((*src)->assignment(), (std::vector<int32_t>{0, 1, 2}));
}

TEST_F(KafkaTest, SeekResumesExactlyAtStoredPositionsAfterReopen) {
  ASSERT_TRUE(ensure_topics(opt_).ok());
  const int n = 400;
  auto kv = keyed_events(n, 11);
  ASSERT_TRUE(produce_lines(opt_, kv, opt_.input_topic).ok());

  // First run: take 150 records, "store" the positions after them; the source had more in
  // hand, and commits positions beyond the stored ones to the group: neither may matter.
  std::vector<SourceRecord> first;
  std::vector<SourcePosition> stored;
  {
    auto src = KafkaSource::open(opt_);
    ASSERT_TRUE(src.ok()) << src.error().message;
    ASSERT_TRUE((*src)->seek({}).ok());
    auto got = poll_until(**src, n, std::chrono::seconds(60));
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    first.assign(got.begin(), got.begin() + 150);
    std::map<int32_t, int64_t> pos;
    for (const auto& r : first) pos[r.partition] = r.offset + 1;
    for (const auto& [p, off] : pos) stored.push_back({opt_.input_topic, p, off});
    std::vector<SourcePosition> all;
    std::map<int32_t, int64_t> end;
    for (const auto& r : got) end[r.partition] = r.offset + 1;
    for (const auto& [p, off] : end) all.push_back({opt_.input_topic, p, off});
    (*src)->committed(all);
    (void)(*src)->poll(1, 300);  // serve the commit result
  }
  // More input while the engine is down.
  auto later = keyed_events(100, 11, n);
  ASSERT_TRUE(produce_lines(opt_, later, opt_.input_topic).ok());

  // Second run, same static member: resumes exactly at the stored positions.
  auto t0 = Clock::now();
  auto src = KafkaSource::open(opt_);
  ASSERT_TRUE(src.ok()) << src.error().message;
  ASSERT_TRUE((*src)->seek(stored).ok());
  size_t rest = n + 100 - first.size();
  auto second = poll_until(**src, rest, std::chrono::seconds(60));
  auto resume_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  ASSERT_EQ(second.size(), rest);
  auto extra = (*src)->poll(10, 500);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->empty()) << "duplicates after the stored positions";

  std::map<std::string, std::vector<std::string>> want, got;
  for (const auto& [k, v] : kv) want[k].push_back(v);
  for (const auto& [k, v] : later) want[k].push_back(v);
  std::set<std::pair<int32_t, int64_t>> seen;
  for (const auto* part : {&first, &second}) {
    for (const auto& r : *part) {
      EXPECT_TRUE(seen.insert({r.partition, r.offset}).second)
          << "duplicate " << r.partition << "@" << r.offset;
      got[r.key].push_back(r.payload);
    }
  }
  EXPECT_EQ(got, want);  // nothing missing, nothing twice, order per key kept
  std::printf("reopen + resume of %zu records took %lld ms\n", rest,
              static_cast<long long>(resume_ms.count()));
}

TEST_F(KafkaTest, SeekWhileAssignedRepositions) {
  ASSERT_TRUE(ensure_topics(opt_).ok());
  const int n = 90;
  ASSERT_TRUE(produce_lines(opt_, keyed_events(n, 9), opt_.input_topic).ok());
  auto src = KafkaSource::open(opt_);
  ASSERT_TRUE(src.ok()) << src.error().message;
  ASSERT_TRUE((*src)->seek({}).ok());
  auto got = poll_until(**src, n, std::chrono::seconds(60));
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  std::map<int32_t, int64_t> size;
  for (const auto& r : got) size[r.partition] = r.offset + 1;
  ASSERT_GE(size[0], 5);

  // Partition 0 from offset 5; the others, not listed, from their beginning.
  ASSERT_TRUE((*src)->seek({{opt_.input_topic, 0, 5}}).ok());
  size_t expect = static_cast<size_t>(n - 5);
  auto again = poll_until(**src, expect, std::chrono::seconds(30));
  ASSERT_EQ(again.size(), expect);
  std::map<int32_t, int64_t> first_offset;
  for (const auto& r : again) first_offset.emplace(r.partition, r.offset);
  EXPECT_EQ(first_offset[0], 5);
  for (const auto& [p, off] : first_offset) {
    if (p != 0) {
      EXPECT_EQ(off, 0) << "partition " << p;
    }
  }
}

// The group's committed offsets of the input topic, as a monitoring tool reads them.
std::map<int32_t, int64_t> group_offsets(const KafkaOptions& o) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", o.brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", o.group_id.c_str(), errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  std::map<int32_t, int64_t> out;
  if (!rk) return out;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
  for (int32_t p = 0; p < 3; ++p) {
    rd_kafka_topic_partition_list_add(list, o.input_topic.c_str(), p);
  }
  if (rd_kafka_committed(rk, list, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

TEST_F(KafkaTest, CommittedOffsetsReachTheGroupAtMostOncePerIntervalAndAtClose) {
  ASSERT_TRUE(ensure_topics(opt_).ok());
  const int n = 60;
  ASSERT_TRUE(produce_lines(opt_, keyed_events(n, 6), opt_.input_topic).ok());
  opt_.offset_commit_interval_ms = 600000;  // nothing between the first commit and close
  std::map<int32_t, int64_t> end;           // after the last record of each partition
  {
    auto src = KafkaSource::open(opt_);
    ASSERT_TRUE(src.ok()) << src.error().message;
    ASSERT_TRUE((*src)->seek({}).ok());
    auto got = poll_until(**src, n, std::chrono::seconds(60));
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    for (const auto& r : got) end[r.partition] = r.offset + 1;
    ASSERT_GE(end[0], 2);
    // The first positions go at once; the next ones, within the interval, wait.
    (*src)->committed({{opt_.input_topic, 0, 1}});
    (void)(*src)->poll(1, 300);  // serves the commit's answer
    ASSERT_EQ(group_offsets(opt_)[0], 1);
    std::vector<SourcePosition> all;
    for (const auto& [p, off] : end) all.push_back({opt_.input_topic, p, off});
    (*src)->committed(all);
    (void)(*src)->poll(1, 300);
    EXPECT_EQ(group_offsets(opt_)[0], 1) << "committed again within the interval";
  }
  // Closing the source commits what waited.
  auto after = group_offsets(opt_);
  for (const auto& [p, off] : end) EXPECT_EQ(after[p], off) << "partition " << p;
}

TEST_F(KafkaTest, SinkPublishReturnsOnceDelivered) {
  ASSERT_TRUE(ensure_topics(opt_).ok());
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  std::vector<OutMessage> msgs;
  for (int i = 0; i < 250; ++i) {
    msgs.push_back({opt_.case_events_topic, "r-" + std::to_string(i % 17),
                    R"({"case_id":"r-)" + std::to_string(i % 17) + R"(","seq":)" +
                        std::to_string(i / 17 + 1) + "}"});
  }
  for (int i = 0; i < 7; ++i) {
    msgs.push_back(
        {opt_.dead_letter_topic, i % 2 ? "" : "jjbl-c1-g01", R"({"reason":"bad_input"})"});
  }
  auto t0 = Clock::now();
  auto r = (*sink)->publish(msgs);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Durable as soon as publish returned: no waiting here.
  EXPECT_EQ(message_count(opt_.case_events_topic, 3), 250);
  EXPECT_EQ(message_count(opt_.dead_letter_topic, 3), 7);
  // An empty batch is fine.
  EXPECT_TRUE((*sink)->publish({}).ok());
  std::printf("publish of %zu messages took %lld ms\n", msgs.size(),
              static_cast<long long>(ms.count()));
}

TEST_F(KafkaTest, SinkPublishToMissingTopicIsAnErrorNamingIt) {
  opt_.delivery_timeout_ms = 3000;
  auto sink = KafkaSink::open(opt_);
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  std::string missing = "t.missing." + suffix_;
  auto t0 = Clock::now();
  auto r = (*sink)->publish({{missing, "k", "v"}});
  auto elapsed = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(missing), std::string::npos) << r.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  std::printf("publish: %s\n", r.error().message.c_str());
}

// Needs no running broker: only a port nothing listens on.
class KafkaNoBrokerTest : public KafkaTest {
 protected:
  bool needs_broker() const override { return false; }
};

TEST_F(KafkaNoBrokerTest, BadBrokerAddressIsAnErrorWithinTheTimeout) {
  KafkaOptions bad = opt_;
  bad.brokers = "127.0.0.1:" + std::to_string(free_port());  // nothing listens there
  bad.timeout_ms = 2000;
  bad.delivery_timeout_ms = 2000;
  auto within = [](auto start) { return Clock::now() - start < std::chrono::seconds(6); };

  auto t0 = Clock::now();
  auto topics = ensure_topics(bad);
  ASSERT_FALSE(topics.ok());
  EXPECT_TRUE(within(t0));
  EXPECT_NE(topics.error().message.find(bad.brokers), std::string::npos) << topics.error().message;
  std::printf("ensure_topics: %s\n", topics.error().message.c_str());

  t0 = Clock::now();
  auto src = KafkaSource::open(bad);
  ASSERT_FALSE(src.ok());
  EXPECT_TRUE(within(t0));
  std::printf("KafkaSource::open: %s\n", src.error().message.c_str());

  t0 = Clock::now();
  auto sink = KafkaSink::open(bad);
  ASSERT_FALSE(sink.ok());
  EXPECT_TRUE(within(t0));
  std::printf("KafkaSink::open: %s\n", sink.error().message.c_str());

  t0 = Clock::now();
  auto lines = produce_lines(bad, {{"k", "v"}}, bad.input_topic);
  ASSERT_FALSE(lines.ok());
  EXPECT_TRUE(within(t0));
  std::printf("produce_lines: %s\n", lines.error().message.c_str());

  KafkaOptions none = opt_;
  none.brokers.clear();
  EXPECT_FALSE(ensure_topics(none).ok());
}

}  // namespace
}  // namespace gridcase::kafka
