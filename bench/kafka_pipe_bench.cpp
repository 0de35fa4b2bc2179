// The baseline of the serve benchmark: a bare librdkafka consume -> produce pipe over the
// same input topic and messages, with the engine's client settings (read_committed
// consumer; idempotent, acks=all producer) and no engine in between. It forwards each
// input record to an output topic and stops once `count` records are delivered.
//   kafka_pipe_bench BROKERS INPUT_TOPIC OUTPUT_TOPIC COUNT
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

rd_kafka_t* client(rd_kafka_type_t type, const char* brokers, bool consumer) {
  char err[512];
  rd_kafka_conf_t* c = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", k, err);
      std::exit(2);
    }
  };
  set("bootstrap.servers", brokers);
  if (consumer) {
    set("group.id",
        "pipe-bench-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    set("auto.offset.reset", "earliest");
    set("enable.auto.commit", "false");
    set("isolation.level", "read_committed");
  } else {
    set("enable.idempotence", "true");
    set("acks", "all");
    set("partitioner", "murmur2_random");
  }
  rd_kafka_t* rk = rd_kafka_new(type, c, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "client: %s\n", err);
    std::exit(2);
  }
  return rk;
}

long delivered = 0;
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++delivered;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BROKERS INPUT_TOPIC OUTPUT_TOPIC COUNT\n", argv[0]);
    return 2;
  }
  const char* brokers = argv[1];
  const char* in = argv[2];
  const char* out = argv[3];
  const long count = std::atol(argv[4]);
  rd_kafka_t* consumer = client(RD_KAFKA_CONSUMER, brokers, true);
  rd_kafka_poll_set_consumer(consumer);
  char err[512];
  rd_kafka_conf_t* pc = rd_kafka_conf_new();
  rd_kafka_conf_set(pc, "bootstrap.servers", brokers, err, sizeof err);
  rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(pc, "acks", "all", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, in, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);

  long consumed = 0;
  bool assigned = false;
  std::chrono::steady_clock::time_point start;
  while (delivered < count) {
    if (!assigned) {  // said once, for a script that waits for it (a latency baseline)
      rd_kafka_topic_partition_list_t* a = nullptr;
      rd_kafka_assignment(consumer, &a);
      assigned = a && a->cnt > 0;
      if (a) rd_kafka_topic_partition_list_destroy(a);
      if (assigned) std::fprintf(stderr, "pipe: assigned\n");
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, consumed < count ? 100 : 0);
    if (m) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && consumed < count) {
        if (consumed++ == 0) start = std::chrono::steady_clock::now();
        while (rd_kafka_producev(
                   producer, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_KEY(m->key, m->key_len),
                   RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                   RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer, 10);
        }
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(producer, 0);
    if (consumed >= count) rd_kafka_flush(producer, 100);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("pipe: %ld records in %.2f s = %.0f records/s\n", count, secs, count / secs);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  return 0;
}
