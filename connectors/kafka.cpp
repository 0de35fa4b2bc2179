#include "connectors/kafka.hpp"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace gridcase::kafka {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct PartsDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartsDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// librdkafka logs from its own threads; spdlog's default logger is thread-safe.
void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const char* name = rk ? rd_kafka_name(rk) : "rdkafka";
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  spdlog::log(lvl, "kafka {} [{}]: {}", name, fac, buf);
}

Result<Conf> make_conf(const KafkaOptions& o,
                       const std::vector<std::pair<std::string, std::string>>& settings) {
  if (o.brokers.empty()) return err("kafka: no brokers given (bootstrap host:port)");
  Conf conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", o.brokers},
      {"client.id", o.client_id.empty() ? std::string("gridcase") : o.client_id},
      // A dead address fails a connection attempt within the timeout, not after 30 s.
      {"socket.connection.setup.timeout.ms", std::to_string(std::max(1000, o.timeout_ms))},
      {"log.connection.close", "false"},
  };
  all.insert(all.end(), settings.begin(), settings.end());
  for (const auto& kv : o.properties) all.push_back(kv);
  char errstr[512];
  for (const auto& [key, value] : all) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return err("kafka: property " + key + "=" + value + ": " + errstr);
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_cb);
  return conf;
}

// Takes ownership of conf (librdkafka frees it once the handle exists).
Result<Handle> make_handle(rd_kafka_type_t type, Conf conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!rk) return err(std::string("kafka: creating the client: ") + errstr);
  conf.release();
  return Handle(rk);
}

std::string fatal_error(rd_kafka_t* rk) {
  char buf[512];
  rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, buf, sizeof buf);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return std::string(rd_kafka_err2name(e)) + ": " + buf;
}

// One metadata round trip: a Metadata request for `topic` (or, when null, for all topics
// when `all`, else for the client's own topics, which still proves the cluster answers).
Result<Metadata> fetch_metadata(rd_kafka_t* rk, bool all, rd_kafka_topic_t* topic, int timeout_ms,
                                const std::string& brokers) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, all ? 1 : 0, topic, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return err("kafka: brokers " + brokers + " did not answer within " +
               std::to_string(timeout_ms) + " ms (" + rd_kafka_err2str(e) + ")");
  }
  return Metadata(md);
}

const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t* md,
                                            const std::string& name) {
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (name == md->topics[i].topic) return &md->topics[i];
  }
  return nullptr;
}

bool topic_ready(const rd_kafka_metadata_topic_t* t) {
  if (!t || t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0) return false;
  for (int p = 0; p < t->partition_cnt; ++p) {
    if (t->partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partitions[p].leader < 0) {
      return false;
    }
  }
  return true;
}

// Consumer errors that do not go away by waiting: the caller must see them.
bool is_permanent(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Topics

Result<bool> ensure_topics(const KafkaOptions& options) {
  return ensure_topics(options,
                       {options.input_topic, options.case_events_topic, options.dead_letter_topic});
}

Result<bool> ensure_topics(const KafkaOptions& o, const std::vector<std::string>& topics) {
  auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  auto conf = make_conf(o, {});
  if (!conf.ok()) return conf.error();
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!rk.ok()) return rk.error();

  auto md = fetch_metadata(rk->get(), true, nullptr, o.timeout_ms, o.brokers);
  if (!md.ok()) return md.error();
  std::vector<std::string> missing;
  for (const auto& t : topics) {
    const auto* mt = find_topic(md->get(), t);
    if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) missing.push_back(t);
  }

  if (!missing.empty()) {
    char errstr[512];
    std::vector<rd_kafka_NewTopic_t*> news;
    auto free_news = [&] {
      rd_kafka_NewTopic_destroy_array(news.data(), news.size());
      news.clear();
    };
    for (const auto& t : missing) {
      const bool table = std::find(o.compacted_topics.begin(), o.compacted_topics.end(), t) !=
                         o.compacted_topics.end();
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.c_str(), table ? 1 : o.partitions,
                                                      o.replication_factor, errstr, sizeof errstr);
      if (!nt) {
        free_news();
        return err("kafka: topic " + t + ": " + errstr);
      }
      // Input events and case events are a log, not a table: never compacted. A table
      // (the workflow registry) keeps the last record of each key.
      rd_kafka_NewTopic_set_config(nt, "cleanup.policy", table ? "compact" : "delete");
      if (t == o.input_topic) {
        rd_kafka_NewTopic_set_config(nt, "max.message.bytes",
                                     std::to_string(o.max_message_bytes).c_str());
      }
      news.push_back(nt);
    }
    rd_kafka_AdminOptions_t* aopts =
        rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    int wait = std::max(1, ms_left(deadline));
    rd_kafka_AdminOptions_set_request_timeout(aopts, wait, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(aopts, wait, errstr, sizeof errstr);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk->get());
    rd_kafka_CreateTopics(rk->get(), news.data(), news.size(), aopts, q);
    free_news();
    rd_kafka_AdminOptions_destroy(aopts);

    // Wait a little past the request timeout: the result then always arrives.
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, ms_left(deadline) + 2000);
    std::string failure;
    if (!ev) {
      failure = "kafka: creating topics timed out after " + std::to_string(o.timeout_ms) + " ms";
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = std::string("kafka: creating topics: ") + rd_kafka_event_error_string(ev);
    } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
      for (size_t i = 0; i < n && failure.empty(); ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        // Another client created it in the meantime: that is what we wanted.
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
          continue;
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        failure = std::string("kafka: creating topic ") + rd_kafka_topic_result_name(results[i]) +
                  ": " + (msg ? msg : rd_kafka_err2str(e));
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    if (!failure.empty()) return err(failure);
  }

  // Created is not yet usable: wait until every partition has a leader.
  for (;;) {
    auto now_md =
        fetch_metadata(rk->get(), true, nullptr, std::max(1, ms_left(deadline)), o.brokers);
    std::string not_ready;
    if (now_md.ok()) {
      for (const auto& t : topics) {
        if (!topic_ready(find_topic(now_md->get(), t))) {
          not_ready = t;
          break;
        }
      }
      if (not_ready.empty()) return true;
    }
    if (ms_left(deadline) == 0) {
      if (!now_md.ok()) return now_md.error();
      return err("kafka: topic " + not_ready + " has no leader for every partition after " +
                 std::to_string(o.timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------------------------------
// Source

struct KafkaSource::Impl {
  KafkaOptions opt;
  Handle rk;
  std::map<int32_t, int64_t> seek_pos;  // from seek(): the store's positions
  std::map<int32_t, int64_t> next_pos;  // after the last record handed out
  std::set<int32_t> assigned;           // partitions of the input topic held now
  std::string last_transient;
  std::string pending_error;  // seen while records were in hand: returned by the next poll
  // Positions given to committed() and not yet committed to the group (monitoring only).
  std::map<std::pair<std::string, int32_t>, int64_t> to_commit;
  Clock::time_point last_commit{};

  // Commits the waiting positions to the group: asynchronously, or (wait_ms >= 0) waiting
  // for the answer at most wait_ms, at close, where nothing would serve a later one (and a
  // broker that is away must not hold up the shutdown).
  void commit_now(int wait_ms) {
    last_commit = Clock::now();
    if (to_commit.empty()) return;
    PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(to_commit.size())));
    for (const auto& [tp, offset] : to_commit) {
      rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
    }
    to_commit.clear();
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (wait_ms < 0) {
      e = rd_kafka_commit(rk.get(), list.get(), 1);
    } else {
      rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
      e = rd_kafka_commit_queue(rk.get(), list.get(), q, nullptr, nullptr);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, wait_ms)) {
          e = rd_kafka_event_error(ev);
          rd_kafka_event_destroy(ev);
        } else {
          e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        }
      }
      rd_kafka_queue_destroy(q);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_transient = std::string("kafka: commit: ") + rd_kafka_err2str(e);
      if (wait_ms >= 0) {
        spdlog::warn("kafka {}: offset commit at close failed: {}", rd_kafka_name(rk.get()),
                     rd_kafka_err2str(e));
      }
    }
  }

  int64_t start_offset(const char* topic, int32_t partition) const {
    if (opt.input_topic != topic) return RD_KAFKA_OFFSET_BEGINNING;
    if (auto it = next_pos.find(partition); it != next_pos.end()) return it->second;
    if (auto it = seek_pos.find(partition); it != seek_pos.end()) return it->second;
    return RD_KAFKA_OFFSET_BEGINNING;
  }

  // Served inside rd_kafka_consumer_poll(), i.e. inside poll(), on the caller's thread.
  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t* parts) {
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        auto& p = parts->elems[i];
        p.offset = start_offset(p.topic, p.partition);
        if (opt.input_topic == p.topic) assigned.insert(p.partition);
      }
      if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, parts)) {
          pending_error =
              std::string("kafka: assigning partitions: ") + rd_kafka_error_string(error);
          rd_kafka_error_destroy(error);
        }
      } else if (rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts)) {
        pending_error = std::string("kafka: assigning partitions: ") + rd_kafka_err2str(ae);
      }
      spdlog::info("kafka {}: assigned {} partition(s) of {}", rd_kafka_name(rk), parts->cnt,
                   opt.input_topic);
      return;
    }
    // Revoked, or an error in the group protocol: let go of what we hold (eager), or of
    // what is revoked (cooperative); the group hands partitions back later. What was
    // consumed is committed first, while the partitions are still ours.
    commit_now(-1);
    if (e != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      last_transient = std::string("kafka: rebalance: ") + rd_kafka_err2str(e);
    }
    if (cooperative) {
      for (int i = 0; i < parts->cnt; ++i) assigned.erase(parts->elems[i].partition);
      if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, parts)) {
        rd_kafka_error_destroy(error);
      }
    } else {
      assigned.clear();
      rd_kafka_assign(rk, nullptr);
    }
  }

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t e,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Impl*>(opaque)->rebalance(rk, e, parts);
  }

  static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t*,
                        void* opaque) {
    // Committed offsets are for monitoring: a failed commit is a warning, never an error.
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      static_cast<Impl*>(opaque)->last_transient =
          std::string("kafka: commit: ") + rd_kafka_err2str(e);
      spdlog::warn("kafka {}: offset commit failed: {}", rd_kafka_name(rk), rd_kafka_err2str(e));
    }
  }

  static void error_cb(rd_kafka_t* rk, int e, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto code = static_cast<rd_kafka_resp_err_t>(e);
    if (is_permanent(code)) {
      self->pending_error = std::string("kafka: consumer: ") + reason;
    } else {
      self->last_transient = std::string("kafka: ") + reason;
    }
    spdlog::warn("kafka {}: {}: {}", rd_kafka_name(rk), rd_kafka_err2name(code), reason);
  }
};

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSource::~KafkaSource() {
  // A static member does not leave the group on close: the same group.instance.id gets
  // the same partitions back without a rebalance when it returns within the session.
  if (!impl_ || !impl_->rk) return;
  impl_->commit_now(2000);
  rd_kafka_consumer_close(impl_->rk.get());
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::open(const KafkaOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  std::vector<std::pair<std::string, std::string>> settings = {
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "false"},
      {"allow.auto.create.topics", "false"},
      // An empty fetch waits at the broker for this long; requests on the same connection
      // (the watermark queries of caught_up()) queue behind it. A new record still ends the
      // wait at once, so this costs no latency.
      {"fetch.wait.max.ms", "100"},
  };
  if (!options.group_instance_id.empty()) {
    settings.push_back({"group.instance.id", options.group_instance_id});
  }
  auto conf = make_conf(options, settings);
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), Impl::rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), Impl::commit_cb);
  rd_kafka_conf_set_error_cb(conf->get(), Impl::error_cb);
  auto rk = make_handle(RD_KAFKA_CONSUMER, std::move(conf).value());
  if (!rk.ok()) return rk.error();
  impl->rk = std::move(rk).value();
  rd_kafka_t* h = impl->rk.get();
  // One queue for everything: records, rebalances and errors are all served by poll().
  rd_kafka_poll_set_consumer(h);

  // Fail at start-up, not in the first poll, when the cluster or the topic is missing.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(h, options.input_topic.c_str(), nullptr);
  auto md = fetch_metadata(h, false, rkt, options.timeout_ms, options.brokers);
  rd_kafka_topic_destroy(rkt);
  if (!md.ok()) {
    rd_kafka_destroy_flags(impl->rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return md.error();
  }
  const auto* t = find_topic(md->get(), options.input_topic);
  if (!t || t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy_flags(impl->rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return err("kafka: input topic " + options.input_topic + ": " +
               (t ? rd_kafka_err2str(t->err) : "not in the metadata") +
               " (create the topics first: ensure_topics)");
  }

  PartList sub(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(sub.get(), options.input_topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(h, sub.get())) {
    rd_kafka_destroy_flags(impl->rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return err("kafka: subscribing to " + options.input_topic + ": " + rd_kafka_err2str(e));
  }
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

Result<bool> KafkaSource::seek(const std::vector<SourcePosition>& positions) {
  Impl& s = *impl_;
  s.seek_pos.clear();
  s.next_pos.clear();  // the store knows better than what this process handed out
  for (const auto& p : positions) {
    if (p.topic == s.opt.input_topic) s.seek_pos[p.partition] = p.next_offset;
  }
  if (s.assigned.empty()) return true;  // the usual case: applied when the group assigns
  PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(s.assigned.size())));
  for (int32_t p : s.assigned) {
    rd_kafka_topic_partition_list_add(list.get(), s.opt.input_topic.c_str(), p)->offset =
        s.start_offset(s.opt.input_topic.c_str(), p);
  }
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(s.rk.get(), list.get(), s.opt.timeout_ms)) {
    std::string msg = std::string("kafka: seek: ") + rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return err(msg);
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return err("kafka: seek " + s.opt.input_topic + " [" +
                 std::to_string(list->elems[i].partition) +
                 "]: " + rd_kafka_err2str(list->elems[i].err));
    }
  }
  return true;
}

Result<std::vector<SourceRecord>> KafkaSource::poll(size_t max, int timeout_ms) {
  Impl& s = *impl_;
  std::vector<SourceRecord> out;
  auto take_error = [&s]() -> Error {
    Error e = err(std::move(s.pending_error));
    s.pending_error.clear();
    return e;
  };
  if (!s.pending_error.empty()) return take_error();
  auto deadline = Clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  while (out.size() < max) {
    // Wait only for the first record; then take what is already here.
    int wait = out.empty() ? ms_left(deadline) : 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(s.rk.get(), wait);
    if (!m) {
      if (!s.pending_error.empty() || !out.empty() || ms_left(deadline) == 0) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      SourceRecord r;
      r.topic = rd_kafka_topic_name(m->rkt);
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.payload.assign(static_cast<const char*>(m->payload), m->len);
      s.next_pos[r.partition] = r.offset + 1;
      s.last_transient.clear();
      out.push_back(std::move(r));
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
               m->err != RD_KAFKA_RESP_ERR__TIMED_OUT) {
      std::string where = m->rkt ? std::string(" ") + rd_kafka_topic_name(m->rkt) + " [" +
                                       std::to_string(m->partition) + "]"
                                 : std::string();
      std::string text = "kafka: consumer" + where + ": " + rd_kafka_message_errstr(m);
      if (m->err == RD_KAFKA_RESP_ERR__FATAL) text += " (" + fatal_error(s.rk.get()) + ")";
      if (is_permanent(m->err)) {
        s.pending_error = text;
      } else {
        s.last_transient = text;
      }
    }
    rd_kafka_message_destroy(m);
    if (!s.pending_error.empty()) break;
  }
  if (s.pending_error.empty()) {
    if (std::string f = fatal_error(s.rk.get()); !f.empty()) {
      s.pending_error = "kafka: consumer fatal error: " + f;
    }
  }
  // Records in hand are never dropped: an error waits for the next poll.
  if (!s.pending_error.empty() && out.empty()) return take_error();
  return out;
}

void KafkaSource::committed(const std::vector<SourcePosition>& positions) {
  Impl& s = *impl_;
  for (const auto& p : positions) {
    int64_t& offset = s.to_commit[{p.topic, p.partition}];
    offset = std::max(offset, p.next_offset);
  }
  if (Clock::now() - s.last_commit >= std::chrono::milliseconds(s.opt.offset_commit_interval_ms)) {
    s.commit_now(-1);
  }
}

std::vector<int32_t> KafkaSource::assignment() const {
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

Result<bool> KafkaSource::caught_up(int timeout_ms) {
  if (impl_->assigned.empty()) return false;
  // Every assigned partition's end in one request (time -1: the latest offset; the last
  // stable one, the consumer being read_committed).
  PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(impl_->assigned.size())));
  for (int32_t p : impl_->assigned) {
    rd_kafka_topic_partition_list_add(list.get(), impl_->opt.input_topic.c_str(), p)->offset = -1;
  }
  if (rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), timeout_ms)) {
    return err("kafka: end offsets of " + impl_->opt.input_topic + ": " + rd_kafka_err2str(e));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return err("kafka: end offset of " + impl_->opt.input_topic + "[" +
                 std::to_string(tp.partition) + "]: " + rd_kafka_err2str(tp.err));
    }
    int64_t next = 0;
    if (auto it = impl_->next_pos.find(tp.partition); it != impl_->next_pos.end()) {
      next = it->second;
    } else if (auto it2 = impl_->seek_pos.find(tp.partition); it2 != impl_->seek_pos.end()) {
      next = it2->second;
    } else {
      // Nothing read from it yet: caught up only when it is empty.
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
          impl_->rk.get(), impl_->opt.input_topic.c_str(), tp.partition, &low, &high, timeout_ms);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return err("kafka: watermarks of " + impl_->opt.input_topic + "[" +
                   std::to_string(tp.partition) + "]: " + rd_kafka_err2str(e));
      }
      next = low;
    }
    if (next < tp.offset) return false;
  }
  return true;
}

const std::string& KafkaSource::last_transient_error() const {
  return impl_->last_transient;
}

// ---------------------------------------------------------------------------------------
// Sink

namespace {

// The delivery reports of one publish() call. Reports are served by whichever thread polls
// (the engine's, or the producing thread's while the queue is full), hence the atomics.
struct Deliveries {
  std::atomic<int64_t> pending{0};
  std::atomic<size_t> failed{0};
  std::mutex mu;
  std::string first_failure;  // guarded by mu
};

// Not rd_kafka_message_errstr(): for a delivery report it returns the (unterminated) value.
void delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* d = static_cast<Deliveries*>(m->_private);
  if (!d) return;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && d->failed.fetch_add(1) == 0) {
    std::lock_guard lock(d->mu);
    d->first_failure = std::string("topic ") + rd_kafka_topic_name(m->rkt) + ": " +
                       rd_kafka_err2name(m->err) + ": " + rd_kafka_err2str(m->err);
  }
  d->pending.fetch_sub(1, std::memory_order_release);
}

void sink_error_cb(rd_kafka_t* rk, int e, const char* reason, void*) {
  spdlog::warn("kafka {}: {}: {}", rd_kafka_name(rk),
               rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(e)), reason);
}

}  // namespace

struct KafkaSink::Impl {
  KafkaOptions opt;
  Handle rk;
  rd_kafka_t* consumer = nullptr;  // exactly_once: the source's consumer (group metadata)
  // One start_publish(): its messages (the caller keeps them) and their delivery reports.
  struct Publish {
    const std::vector<OutMessage>* messages = nullptr;
    Deliveries d;
    std::string refused;    // what the producing thread could not hand to librdkafka
    bool produced = false;  // guarded by mu: the producing thread is done with `messages`
    Clock::time_point deadline;
  };
  // The publishes in flight, oldest first (the engine's thread only).
  std::deque<std::unique_ptr<Publish>> inflight;

  // start_publish() hands its messages to this thread, which produces them while the engine
  // goes on with the next batch (producing is a copy and a queue insert per message).
  std::thread producer;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Publish*> jobs;  // guarded by mu: to produce, in order
  bool stopping = false;      // guarded by mu

  ~Impl() {
    if (!producer.joinable()) return;
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    producer.join();
  }

  std::chrono::milliseconds delivery_wait() const {
    return std::chrono::milliseconds(opt.delivery_timeout_ms + opt.timeout_ms);
  }

  void produce_in_background(Publish* p) {
    if (!producer.joinable()) producer = std::thread([this] { produce_loop(); });
    {
      std::lock_guard lock(mu);
      jobs.push_back(p);
    }
    cv.notify_all();
  }

  bool produced(Publish& p) {
    std::lock_guard lock(mu);
    return p.produced;
  }
  void wait_produced(Publish& p) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&p] { return p.produced; });
  }

  void produce_loop() {
    pthread_setname_np(pthread_self(), "gc-sink");  // as top -H, perf and gdb show it
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) return;
      Publish* p = jobs.front();
      jobs.pop_front();
      lock.unlock();
      p->refused = produce_all(*p->messages, &p->d);
      // Timed from now: a publish queued behind others is not purged before its time.
      p->deadline = Clock::now() + delivery_wait();
      lock.lock();
      p->produced = true;
      cv.notify_all();
    }
  }

  // Produces every message (waiting on a full queue); stops at the first refusal, so that
  // later messages of the same key cannot overtake it. "" or what was refused.
  std::string produce_all(const std::vector<OutMessage>& messages, Deliveries* d) {
    rd_kafka_t* h = rk.get();
    for (const OutMessage& m : messages) {
      for (;;) {
        // An empty key is no key: partitioned like a keyless record.
        rd_kafka_resp_err_t e = rd_kafka_producev(
            h, RD_KAFKA_V_TOPIC(m.topic.c_str()),
            RD_KAFKA_V_KEY(m.key.empty() ? nullptr : m.key.data(), m.key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (d) d->pending.fetch_add(1, std::memory_order_relaxed);
          break;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(h, 50);  // serve delivery reports: that frees the queue
          continue;
        }
        return "topic " + m.topic + ": " + rd_kafka_err2name(e) + ": " + rd_kafka_err2str(e);
      }
    }
    return {};
  }
};

namespace {

std::string error_text(rd_kafka_error_t* e) {
  std::string text = std::string(rd_kafka_error_name(e)) + ": " + rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return text;
}

constexpr std::string_view kBatchTag = "gridcase-batch=";

}  // namespace

KafkaSink::KafkaSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSink::~KafkaSink() {
  // The reports point into `inflight`.
  while (impl_ && !impl_->inflight.empty()) (void)finish_publish();
  if (impl_ && impl_->rk) rd_kafka_flush(impl_->rk.get(), impl_->opt.timeout_ms);
}

Result<std::unique_ptr<KafkaSink>> KafkaSink::open(const KafkaOptions& options,
                                                   KafkaSource* source) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  std::vector<std::pair<std::string, std::string>> settings = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // The Java client's partitioner: a key lands where Java producers and Kafka Streams
      // put it.
      {"partitioner", "murmur2_random"},
      {"message.timeout.ms", std::to_string(std::max(1, options.delivery_timeout_ms))},
      {"message.max.bytes", std::to_string(std::max(1000, options.max_message_bytes))},
      // Case events are JSON: LZ4 shrinks them about 4x for little CPU, so the broker and
      // the network carry a quarter of the bytes.
      {"compression.type", "lz4"},
  };
  if (options.exactly_once) {
    if (!source) return err("kafka: exactly_once needs the source's consumer (internal error)");
    impl->consumer = source->impl_->rk.get();
    std::string id = options.transactional_id;
    if (id.empty()) {
      id = "gridcase-" +
           (options.group_instance_id.empty() ? options.group_id : options.group_instance_id);
    }
    settings.push_back({"transactional.id", id});
    settings.push_back({"transaction.timeout.ms", std::to_string(options.transaction_timeout_ms)});
  }
  auto conf = make_conf(options, settings);
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), delivery_cb);
  rd_kafka_conf_set_error_cb(conf->get(), sink_error_cb);
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!rk.ok()) return rk.error();
  impl->rk = std::move(rk).value();
  auto md = fetch_metadata(impl->rk.get(), false, nullptr, options.timeout_ms, options.brokers);
  if (!md.ok()) return md.error();
  if (options.exactly_once) {
    // Fences any earlier producer with this transactional.id and aborts what it left open.
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(impl->rk.get(), options.timeout_ms)) {
      return err("kafka: init_transactions: " + error_text(e));
    }
  }
  return std::unique_ptr<KafkaSink>(new KafkaSink(std::move(impl)));
}

bool KafkaSink::transactional() const {
  return impl_->opt.exactly_once;
}

// A publish joins those in flight: produced by the producing thread, or `here`, on the
// calling thread (nothing else travelling: no hand-over needed).
Result<bool> KafkaSink::start(const std::vector<OutMessage>& messages, bool here) {
  if (std::string f = fatal_error(impl_->rk.get()); !f.empty()) {
    return err("kafka: producer fatal error (reopen the sink): " + f);
  }
  // On the heap: the delivery reports point at it until finish_publish() has them all.
  impl_->inflight.push_back(std::make_unique<Impl::Publish>());
  Impl::Publish& p = *impl_->inflight.back();
  p.messages = &messages;
  if (!here) {
    impl_->produce_in_background(&p);
    return true;
  }
  p.refused = impl_->produce_all(messages, &p.d);
  p.deadline = Clock::now() + impl_->delivery_wait();
  p.produced = true;  // the producing thread never sees this one
  return true;
}

Result<bool> KafkaSink::publish(const std::vector<OutMessage>& messages) {
  if (impl_->opt.exactly_once) return publish_batch(messages, 0, {});
  // After the ones travelling, if any, in order; the first failure is the answer.
  if (auto r = start(messages, impl_->inflight.empty()); !r.ok()) return r;
  Result<bool> result = true;
  while (!impl_->inflight.empty()) {
    auto r = finish_publish();
    if (!r.ok() && result.ok()) result = r;
  }
  return result;
}

Result<bool> KafkaSink::start_publish(const std::vector<OutMessage>& messages) {
  if (impl_->opt.exactly_once) return publish_batch(messages, 0, {});
  return start(messages, false);
}

bool KafkaSink::publish_done() {
  if (impl_->inflight.empty()) return true;
  Impl::Publish& p = *impl_->inflight.front();
  if (!impl_->produced(p)) return false;
  rd_kafka_poll(impl_->rk.get(), 0);  // serves the delivery reports that are in
  return p.d.pending.load(std::memory_order_acquire) == 0;
}

Result<bool> KafkaSink::finish_publish() {
  if (impl_->inflight.empty()) return true;
  Impl::Publish& p = *impl_->inflight.front();
  impl_->wait_produced(p);
  rd_kafka_t* rk = impl_->rk.get();
  Deliveries& d = p.d;
  // Every report must be in before `d` goes. librdkafka reports each message within
  // message.timeout.ms; past that (plus slack) purge, which reports at once. (Polling, not
  // flushing: a flush would wait for the newer publishes too.)
  bool purged = false;
  while (d.pending > 0) {
    rd_kafka_poll(rk, 10);
    if (!purged && d.pending > 0 && ms_left(p.deadline) == 0) {
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      purged = true;
    }
  }
  std::unique_ptr<Impl::Publish> done = std::move(impl_->inflight.front());
  impl_->inflight.pop_front();
  if (!done->refused.empty()) return err("kafka: publish refused: " + done->refused);
  if (done->d.failed > 0) {
    std::string msg = "kafka: publish failed: " + done->d.first_failure;
    if (done->d.failed > 1) {
      msg += " (and " + std::to_string(done->d.failed - 1) + " more failed)";
    }
    if (std::string f = fatal_error(rk); !f.empty()) msg += "; fatal (reopen the sink): " + f;
    return err(msg);
  }
  return true;
}

Result<bool> KafkaSink::publish_batch(const std::vector<OutMessage>& messages, uint64_t batch,
                                      const std::vector<SourcePosition>& positions) {
  if (!impl_->opt.exactly_once) return publish(messages);
  rd_kafka_t* rk = impl_->rk.get();
  const int timeout = impl_->opt.delivery_timeout_ms + impl_->opt.timeout_ms;
  // After an error the transaction is aborted, so a retry starts from scratch.
  auto abort_with = [&](std::string what) -> Result<bool> {
    if (std::string f = fatal_error(rk); !f.empty()) {
      return err("kafka: transaction failed fatally (fenced by another instance?): " + what + "; " +
                 f);
    }
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk, impl_->opt.timeout_ms)) {
      what += "; abort: " + error_text(e);
    }
    return err("kafka: transaction aborted: " + what);
  };
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk)) {
    std::string text = error_text(e);
    // A previous attempt's abort may have timed out: finish it, then begin again.
    if (rd_kafka_error_t* a = rd_kafka_abort_transaction(rk, impl_->opt.timeout_ms)) {
      return err("kafka: begin_transaction: " + text + "; abort: " + error_text(a));
    }
    if (rd_kafka_error_t* e2 = rd_kafka_begin_transaction(rk)) {
      return err("kafka: begin_transaction: " + error_text(e2));
    }
  }
  if (std::string refused = impl_->produce_all(messages, nullptr); !refused.empty()) {
    return abort_with("publish refused: " + refused);
  }
  if (!positions.empty()) {
    PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    std::string tag = std::string(kBatchTag) + std::to_string(batch);
    for (const auto& p : positions) {
      auto* tp = rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
      tp->offset = p.next_offset;
      // Freed by rd_kafka_topic_partition_list_destroy().
      tp->metadata = malloc(tag.size());
      std::memcpy(tp->metadata, tag.data(), tag.size());
      tp->metadata_size = tag.size();
    }
    rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(impl_->consumer);
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(rk, list.get(), group, timeout);
    rd_kafka_consumer_group_metadata_destroy(group);
    if (e) return abort_with("send_offsets_to_transaction: " + error_text(e));
  }
  for (int attempt = 1;; ++attempt) {
    rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, timeout);
    if (!e) return true;
    if (rd_kafka_error_is_retriable(e) && attempt < 3) {  // outcome unknown yet: ask again
      spdlog::warn("kafka: commit_transaction: {}; retrying", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
      continue;
    }
    return abort_with("commit_transaction: " + error_text(e));
  }
}

Result<uint64_t> KafkaSink::last_published_batch(const std::vector<SourcePosition>& positions) {
  if (!impl_->opt.exactly_once || positions.empty()) return uint64_t{0};
  PartList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& p : positions) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  }
  if (rd_kafka_resp_err_t e =
          rd_kafka_committed(impl_->consumer, list.get(), impl_->opt.timeout_ms)) {
    return err(std::string("kafka: reading the group's committed offsets: ") + rd_kafka_err2str(e));
  }
  uint64_t last = 0;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return err("kafka: committed offset of " + std::string(tp.topic) + " [" +
                 std::to_string(tp.partition) + "]: " + rd_kafka_err2str(tp.err));
    }
    std::string_view md(static_cast<const char*>(tp.metadata), tp.metadata ? tp.metadata_size : 0);
    if (md.substr(0, kBatchTag.size()) == kBatchTag) {
      last = std::max<uint64_t>(
          last, std::strtoull(std::string(md.substr(kBatchTag.size())).c_str(), nullptr, 10));
    }
  }
  return last;
}

Result<bool> produce_lines(const KafkaOptions& options,
                           const std::vector<std::pair<std::string, std::string>>& key_values,
                           const std::string& topic) {
  auto sink = KafkaSink::open(options);
  if (!sink.ok()) return sink.error();
  std::vector<OutMessage> messages;
  messages.reserve(key_values.size());
  for (const auto& [key, value] : key_values) messages.push_back({topic, key, value});
  return (*sink)->publish(messages);
}

// ---------------------------------------------------------------------------------------
// TopicReader

struct TopicReader::Impl {
  KafkaOptions opt;
  std::string topic;
  Handle rk;
  std::vector<bool> at_end;  // per partition: read to its end, nothing since
};

TopicReader::TopicReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TopicReader::~TopicReader() {
  if (impl_ && impl_->rk) rd_kafka_consumer_close(impl_->rk.get());
}

Result<std::unique_ptr<TopicReader>> TopicReader::open(const KafkaOptions& options,
                                                       const std::string& topic,
                                                       std::optional<int64_t> from_ms) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->topic = topic;
  // librdkafka's assign() needs a group id; nothing joins or commits to it.
  auto conf = make_conf(options, {{"group.id", "gridcase-reader-" + std::to_string(::getpid())},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"isolation.level", "read_committed"},
                                  {"enable.partition.eof", "true"},
                                  {"allow.auto.create.topics", "false"},
                                  // The end of a partition is known when a fetch comes back
                                  // empty, and the broker holds an empty fetch this long.
                                  {"fetch.wait.max.ms", "50"}});
  if (!conf.ok()) return conf.error();
  auto rk = make_handle(RD_KAFKA_CONSUMER, std::move(conf).value());
  if (!rk.ok()) return rk.error();
  impl->rk = std::move(rk).value();
  rd_kafka_t* h = impl->rk.get();
  rd_kafka_poll_set_consumer(h);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(h, topic.c_str(), nullptr);
  auto md = fetch_metadata(h, false, rkt, options.timeout_ms, options.brokers);
  rd_kafka_topic_destroy(rkt);
  if (!md.ok()) return md.error();
  const auto* t = find_topic(md->get(), topic);
  if (!t || t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0) {
    return err("kafka: topic " + topic + ": " +
               (t ? rd_kafka_err2str(t->err) : "not in the metadata"));
  }
  PartList list(rd_kafka_topic_partition_list_new(t->partition_cnt));
  for (int p = 0; p < t->partition_cnt; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), t->partitions[p].id)->offset =
        from_ms ? *from_ms : RD_KAFKA_OFFSET_BEGINNING;
  }
  if (from_ms) {
    // Each partition's first offset at or after the time (the end when there is none).
    if (rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(h, list.get(), options.timeout_ms)) {
      return err("kafka: offsets for times on " + topic + ": " + rd_kafka_err2str(e));
    }
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
  }
  if (rd_kafka_resp_err_t e = rd_kafka_assign(h, list.get())) {
    return err("kafka: assigning " + topic + ": " + rd_kafka_err2str(e));
  }
  impl->at_end.assign(static_cast<size_t>(t->partition_cnt), false);
  return std::unique_ptr<TopicReader>(new TopicReader(std::move(impl)));
}

Result<std::vector<TopicRecord>> TopicReader::read(size_t max, int timeout_ms) {
  Impl& s = *impl_;
  std::vector<TopicRecord> out;
  auto deadline = Clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  while (out.size() < max) {
    // At the end: only what is here already (new records clear the end mark).
    rd_kafka_message_t* m = rd_kafka_consumer_poll(s.rk.get(), at_end() ? 0 : ms_left(deadline));
    if (!m) {
      if (at_end() || ms_left(deadline) == 0) break;
      continue;
    }
    const size_t p = static_cast<size_t>(std::max<int32_t>(0, m->partition));
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TopicRecord r;
      r.partition = m->partition;
      r.offset = m->offset;
      rd_kafka_timestamp_type_t type;
      r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
      if (p < s.at_end.size()) s.at_end[p] = false;
      out.push_back(std::move(r));
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p < s.at_end.size()) s.at_end[p] = true;
    } else if (is_permanent(m->err)) {
      std::string text = "kafka: reading " + s.topic + ": " + rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      return err(text);
    }
    rd_kafka_message_destroy(m);
  }
  return out;
}

Result<bool> TopicReader::read_to_end(int timeout_ms,
                                      const std::function<void(TopicRecord&&)>& take) {
  while (!at_end()) {
    auto got = read(10000, timeout_ms);
    if (!got.ok()) return got.error();
    if (got.value().empty() && !at_end()) {
      return err("kafka: " + impl_->topic + " not read to its end within " +
                 std::to_string(timeout_ms) + " ms");
    }
    for (auto& r : got.value()) take(std::move(r));
  }
  return true;
}

bool TopicReader::at_end() const {
  return std::all_of(impl_->at_end.begin(), impl_->at_end.end(), [](bool b) { return b; });
}

int TopicReader::partitions() const {
  return static_cast<int>(impl_->at_end.size());
}

// ---------------------------------------------------------------------------------------
// TopicWriter

struct TopicWriter::Impl {
  KafkaOptions opt;
  Handle rk;
};

TopicWriter::TopicWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TopicWriter::~TopicWriter() {
  if (impl_ && impl_->rk) rd_kafka_flush(impl_->rk.get(), impl_->opt.timeout_ms);
}

Result<std::unique_ptr<TopicWriter>> TopicWriter::open(const KafkaOptions& options,
                                                       const std::string& transactional_id) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  auto conf = make_conf(options, {{"enable.idempotence", "true"},
                                  {"acks", "all"},
                                  {"transactional.id", transactional_id},
                                  {"transaction.timeout.ms", "60000"},
                                  {"message.max.bytes", "4194304"}});
  if (!conf.ok()) return conf.error();
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(conf).value());
  if (!rk.ok()) return rk.error();
  impl->rk = std::move(rk).value();
  auto md = fetch_metadata(impl->rk.get(), false, nullptr, options.timeout_ms, options.brokers);
  if (!md.ok()) return md.error();
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(impl->rk.get(), options.timeout_ms)) {
    return err("kafka: init_transactions: " + error_text(e));
  }
  return std::unique_ptr<TopicWriter>(new TopicWriter(std::move(impl)));
}

Result<bool> TopicWriter::write(const std::string& topic,
                                const std::vector<std::pair<std::string, std::string>>& kv) {
  rd_kafka_t* h = impl_->rk.get();
  const int timeout = impl_->opt.timeout_ms;
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(h)) {
    return err("kafka: begin_transaction: " + error_text(e));
  }
  for (const auto& [key, value] : kv) {
    rd_kafka_resp_err_t e =
        rd_kafka_producev(h, RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (rd_kafka_error_t* a = rd_kafka_abort_transaction(h, timeout)) rd_kafka_error_destroy(a);
      return err("kafka: producing to " + topic + ": " + rd_kafka_err2str(e));
    }
  }
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(h, timeout)) {
    std::string text = error_text(e);
    if (rd_kafka_error_t* a = rd_kafka_abort_transaction(h, timeout)) rd_kafka_error_destroy(a);
    return err("kafka: commit_transaction on " + topic + ": " + text);
  }
  return true;
}

}  // namespace gridcase::kafka
