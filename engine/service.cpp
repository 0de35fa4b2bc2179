#include "engine/service.hpp"

#include <algorithm>
#include <map>
#include <span>
#include <utility>

namespace gridcase {

namespace {

constexpr std::string_view kOutboxKey = "outbox";
constexpr std::string_view kBatchKey = "batch";        // number of the last committed batch
constexpr std::string_view kOffsetPrefix = "offset/";  // offset/TOPIC/PARTITION -> next offset

void put_u32(uint32_t v, std::string& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool get_u32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  in.remove_prefix(4);
  return true;
}

std::string offset_key(const std::string& topic, int32_t partition) {
  return std::string(kOffsetPrefix) + topic + "/" + std::to_string(partition);
}

}  // namespace

namespace {

std::string encode_lists(const std::vector<std::span<const OutMessage>>& lists) {
  std::string out;
  size_t n = 0, bytes = 4;
  for (const auto& list : lists) {
    n += list.size();
    for (const auto& m : list) bytes += 12 + m.topic.size() + m.key.size() + m.value.size();
  }
  out.reserve(bytes);
  put_u32(static_cast<uint32_t>(n), out);
  for (const auto& list : lists) {
    for (const auto& m : list) {
      for (const std::string* f : {&m.topic, &m.key, &m.value}) {
        put_u32(static_cast<uint32_t>(f->size()), out);
        out += *f;
      }
    }
  }
  return out;
}

}  // namespace

std::string encode_outbox(const std::vector<OutMessage>& messages,
                          const std::vector<OutMessage>& more) {
  return encode_lists({messages, more});
}

void stage_outbox(CaseStore& store, const std::vector<OutMessage>& more) {
  uint64_t batch = 0;
  if (auto b = store.get_meta(kBatchKey)) batch = std::stoull(*b);
  store.put_outbox(batch + 1, encode_outbox(more));
  store.put_meta(kBatchKey, std::to_string(batch + 1));
}

Result<std::vector<OutMessage>> decode_outbox(std::string_view in) {
  std::vector<OutMessage> out;
  if (in.empty()) return out;
  uint32_t n = 0;
  if (!get_u32(in, n)) return err("outbox: truncated");
  for (uint32_t i = 0; i < n; ++i) {
    OutMessage m;
    for (std::string* f : {&m.topic, &m.key, &m.value}) {
      uint32_t len = 0;
      if (!get_u32(in, len) || len > in.size()) return err("outbox: truncated");
      f->assign(in.substr(0, len));
      in.remove_prefix(len);
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Case events become outbox messages as they are written.
class Service::OutboxSink final : public EventSink {
 public:
  OutboxSink(Service& s) : s_(s) {}
  void emit(const CaseEvent& e) override {
    std::string line = s_.codecs_.format(e);
    s_.store_.record_event(e, line);  // the views keep exactly what is published
    ++s_.batch_events_;
    s_.outbox_.push_back({s_.options_.case_events_topic, e.case_id, std::move(line)});
  }

 private:
  Service& s_;
};

Service::Service(const Engine& engine, CaseStore& store, EventSource& source, MessageSink& sink,
                 Clock& clock, ServiceCodecs codecs, ServiceOptions options)
    : engine_(engine),
      store_(store),
      source_(source),
      sink_(sink),
      clock_(clock),
      codecs_(std::move(codecs)),
      options_(std::move(options)),
      parse_ahead_(codecs_.parse) {}

Service::~Service() {
  for (size_t i = 0; i < inflight_.size(); ++i) (void)sink_.finish_publish();
}

Result<bool> Service::start() {
  // Positions: every offset/* key in the metadata.
  std::vector<SourcePosition> positions;
  if (auto list = store_.get_meta("offsets")) {
    std::string_view in = *list;
    while (!in.empty()) {
      size_t nl = in.find('\n');
      std::string key(in.substr(0, nl));
      in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
      auto value = store_.get_meta(key);
      size_t slash = key.rfind('/');
      if (!value || slash == std::string::npos || slash <= kOffsetPrefix.size()) continue;
      SourcePosition p;
      p.topic = key.substr(kOffsetPrefix.size(), slash - kOffsetPrefix.size());
      p.partition = std::stoi(key.substr(slash + 1));
      p.next_offset = std::stoll(*value);
      positions.push_back(std::move(p));
    }
  }
  if (auto r = source_.seek(positions); !r.ok()) return r;
  positions_ = positions;
  if (auto b = store_.get_meta(kBatchKey)) batch_ = std::stoull(*b);
  // The stored outbox: a single value in a state directory written before each batch's
  // messages were kept on their own (number 0 below), then each batch's, oldest first.
  std::vector<std::pair<uint64_t, std::string>> stored;
  if (auto legacy = store_.get_meta(kOutboxKey); legacy && !legacy->empty()) {
    stored.emplace_back(0, std::move(*legacy));
  }
  auto batches = store_.stored_outboxes();
  if (!batches.ok()) return batches.error();
  for (auto& b : batches.value()) stored.push_back(std::move(b));
  for (const auto& [n, bytes] : stored) {
    auto msgs = decode_outbox(bytes);
    if (!msgs.ok()) return msgs.error();
    outbox_.insert(outbox_.end(), std::make_move_iterator(msgs->begin()),
                   std::make_move_iterator(msgs->end()));
    outbox_stored_.push_back(n);
  }
  if (!outbox_stored_.empty()) {
    if (!outbox_.empty() && sink_.transactional()) {
      // The last batch's transaction may have committed before the crash: then its
      // messages are out already and publishing them again would show them twice.
      auto last = sink_.last_published_batch(positions_);
      if (!last.ok()) return last.error();
      if (*last >= batch_) outbox_.clear();
    }
    publish_pending_ = !outbox_.empty();
    if (!publish_pending_) forget_stored(outbox_stored_);  // nothing (more) to send
    if (auto r = publish_outbox(); !r.ok()) return r;
  }
  return true;
}

// Their messages are out: the stored copies go with the next commit.
void Service::forget_stored(std::vector<uint64_t>& batches) {
  for (uint64_t n : batches) {
    if (n == 0) {
      store_.put_meta(kOutboxKey, "");
    } else {
      store_.drop_outbox(n);
    }
  }
  batches.clear();
}

Result<bool> Service::publish_outbox() {
  if (!publish_pending_) return true;
  auto r = sink_.transactional() ? sink_.publish_batch(outbox_, batch_, positions_)
                                 : sink_.publish(outbox_);
  if (!r.ok()) return r;  // the outbox stays pending: the next run_once() tries again
  stats_.published += outbox_.size();
  outbox_.clear();
  forget_stored(outbox_stored_);
  if (!outbox_positions_.empty() && !sink_.transactional()) source_.committed(outbox_positions_);
  outbox_positions_.clear();
  publish_pending_ = false;
  return true;
}

// Waits for the oldest publish in flight. If it failed, every publish still in flight is
// waited for too, and all their messages, with whatever followed them, are published again
// in order before anything new is taken.
Result<bool> Service::finish_oldest() {
  if (inflight_.empty()) return true;
  auto r = sink_.finish_publish();
  if (r.ok()) {
    Inflight& done = inflight_.front();
    stats_.published += done.messages.size();
    if (!done.positions.empty()) source_.committed(done.positions);
    if (done.stored != 0) store_.drop_outbox(done.stored);
    inflight_.pop_front();
    return true;
  }
  for (size_t i = 1; i < inflight_.size(); ++i) (void)sink_.finish_publish();
  std::vector<OutMessage> again;
  std::vector<uint64_t> stored;
  for (auto& f : inflight_) {
    again.insert(again.end(), std::make_move_iterator(f.messages.begin()),
                 std::make_move_iterator(f.messages.end()));
    // Acknowledged to the source once they are out after all.
    outbox_positions_.insert(outbox_positions_.end(), f.positions.begin(), f.positions.end());
    if (f.stored != 0) stored.push_back(f.stored);
  }
  again.insert(again.end(), std::make_move_iterator(outbox_.begin()),
               std::make_move_iterator(outbox_.end()));
  outbox_ = std::move(again);
  stored.insert(stored.end(), outbox_stored_.begin(), outbox_stored_.end());
  outbox_stored_ = std::move(stored);
  inflight_.clear();
  publish_pending_ = true;
  return r.error();
}

Result<bool> Service::finish_inflight() {
  while (!inflight_.empty()) {
    if (auto r = finish_oldest(); !r.ok()) return r;
  }
  return true;
}

Result<bool> Service::flush() {
  if (auto r = settle_unwritten(); !r.ok()) return r;
  if (auto r = finish_inflight(); !r.ok()) return r;
  if (auto r = publish_outbox(); !r.ok()) return r;
  // Everything is out: the stored copies go now, so a clean stop leaves nothing for the
  // next start to publish again. (Not after a failed commit: its batch is in the store's
  // overlay, and only a restart may apply it.)
  if (broken_) return true;
  return store_.commit();
}

Result<size_t> Service::run_once() {
  // A batch whose publish failed (broker away) goes out before anything new is taken.
  if (auto r = publish_outbox(); !r.ok()) return r.error();
  // Wait for input no longer than until the next timer falls due: timers fire on time.
  int wait_ms = options_.poll_timeout_ms;
  if (auto next = store_.next_timer()) {
    int64_t until_due = next->due.ms - clock_.now().ms;
    wait_ms = static_cast<int>(std::clamp<int64_t>(until_due, 0, wait_ms));
  }
  // While the last batch is being written, what input is here already is built on it
  // meanwhile; with none here, it is seen written and sent before waiting for more.
  auto polled = source_.poll(options_.max_batch, unwritten_.active ? 0 : wait_ms);
  if (unwritten_.active && polled.ok() && polled.value().empty()) {
    if (auto r = settle_unwritten(); !r.ok()) return r.error();
    polled = source_.poll(options_.max_batch, wait_ms);
  }
  if (!polled.ok()) return polled.error();
  std::vector<SourceRecord>& records = polled.value();

  OutboxSink sink(*this);
  batch_events_ = 0;
  batch_from_ = outbox_.size();
  const uint64_t feed_start = store_.feed_head();
  BatchOutcome outcome;
  Processor proc(engine_, store_, sink);
  if (auto r = proc.init(); !r.ok()) return r.error();
  // Timers first: what fell due (also while the engine was down) fires now, in due order.
  if (auto r = proc.advance_to(clock_.now()); !r.ok()) return r.error();

  std::map<std::pair<std::string, int32_t>, int64_t> next;  // consumed positions
  // Parsed on a second thread as they are applied (the worker lets go before `records` go).
  parse_ahead_.start(records);
  struct Finish {
    ParseAhead& p;
    ~Finish() { p.finish(); }
  } finish{parse_ahead_};
  for (size_t i = 0; i < records.size(); ++i) {
    const SourceRecord& rec = records[i];
    next[{rec.topic, rec.partition}] = rec.offset + 1;
    const Result<InputEvent>& ev = parse_ahead_.get(i);
    std::string reason, error;
    Processor::Verdict v;
    if (!ev.ok()) {
      reason = "bad_input";
      error = ev.error().message;
    } else {
      v = proc.process(*ev);
      if (v.outcome == Processor::Outcome::Bad) {
        reason = "rejected";
        error = v.error;
      }
    }
    if (options_.on_batch) {
      outcome.records.push_back(record_outcome(rec, ev, v, reason, error, feed_start));
    }
    if (!reason.empty()) {
      outbox_.push_back(
          {options_.dead_letter_topic, rec.key, codecs_.dead_letter(rec, reason, error)});
      ++stats_.dead_letters;
    }
    // The batch before goes out as soon as it is written, not when this one is done.
    if (unwritten_.active && store_.written()) {
      if (auto r = settle_unwritten(); !r.ok() && broken_) return r.error();
    }
  }
  if (records.empty() && outbox_.empty() && proc.timers_fired() == 0) {
    // Idle: what is still travelling is waited for, so idle means published.
    if (auto r = settle_unwritten(); !r.ok()) return r.error();
    if (auto r = finish_inflight(); !r.ok()) return r.error();
    return size_t{0};
  }

  std::vector<SourcePosition> positions;  // of this batch
  std::string offsets_list = store_.get_meta("offsets").value_or("");
  for (const auto& [tp, off] : next) {
    std::string key = offset_key(tp.first, tp.second);
    store_.put_meta(key, std::to_string(off));
    if (("\n" + offsets_list + "\n").find("\n" + key + "\n") == std::string::npos) {
      offsets_list += (offsets_list.empty() ? "" : "\n") + key;
    }
    positions.push_back({tp.first, tp.second, off});
    const auto& topic_partition = tp;  // (clang 14 cannot capture a structured binding)
    auto known = std::find_if(positions_.begin(), positions_.end(), [&](const SourcePosition& p) {
      return p.topic == topic_partition.first && p.partition == topic_partition.second;
    });
    if (known == positions_.end()) {
      positions_.push_back({tp.first, tp.second, off});
    } else {
      known->next_offset = off;
    }
  }
  store_.put_meta("offsets", offsets_list);
  // Written behind: the next batch is polled and applied while this one is written.
  if (auto r = commit_and_publish(proc, std::move(positions), records.size(), outcome,
                                  options_.write_behind);
      !r.ok()) {
    return r.error();
  }
  return records.size();
}

Result<size_t> Service::run_admin(const std::function<Result<bool>(Processor&)>& work) {
  if (auto r = publish_outbox(); !r.ok()) return r.error();
  OutboxSink sink(*this);
  batch_events_ = 0;
  batch_from_ = outbox_.size();
  Processor proc(engine_, store_, sink);
  if (auto r = proc.init(); !r.ok()) return r.error();
  if (auto r = proc.advance_to(clock_.now()); !r.ok()) return r.error();
  if (auto r = work(proc); !r.ok()) {
    outbox_.clear();
    return r.error();
  }
  const size_t events = batch_events_;
  BatchOutcome outcome;
  if (auto r = commit_and_publish(proc, {}, 0, outcome); !r.ok()) return r.error();
  return events;
}

// The end of every batch: the stored outbox and the batch number go into the commit (one
// WriteBatch with everything the batch changed), then the outbox is published.
Result<bool> Service::commit_and_publish(Processor& proc, std::vector<SourcePosition> positions,
                                         size_t records, BatchOutcome& outcome, bool behind) {
  // The publishes through already are let go, oldest first; the stored outbox keeps every
  // one still unconfirmed and this batch, so a crash publishes them all again. (A failure
  // here merges the unconfirmed messages into outbox_, to be published before anything new.)
  const size_t this_batch = outbox_.size() - batch_from_;  // older ones may be before them
  // The batch before, if it was written behind, goes to the sink first, after those in
  // flight. A failed write breaks the service (this batch was built on it); a failed
  // hand-over leaves all that is unconfirmed in outbox_, in order, before this batch's
  // messages, as a failed publish below does. (First: a failure below would put the ones in
  // flight after this batch's messages, where the batch behind could not go before them.)
  if (auto r = settle_unwritten(); !r.ok() && broken_) return r;
  while (!inflight_.empty() && sink_.publish_done()) {
    if (!finish_oldest().ok()) break;
  }
  // Behind only in the plain case: one batch's messages in outbox_, none waiting for a
  // publish to succeed, no transaction, and no observer to be told the batch is committed.
  behind = behind && !publish_pending_ && outbox_.size() == this_batch && !sink_.transactional() &&
           !options_.on_batch;
  // This batch's messages are stored under its number (older unconfirmed ones are under
  // theirs); a crash before they are confirmed publishes them again.
  uint64_t stored = 0;
  if (this_batch > 0) {
    stored = batch_ + 1;
    store_.put_outbox(stored,
                      encode_lists({std::span<const OutMessage>(outbox_).last(this_batch)}));
  }
  store_.put_meta(kBatchKey, std::to_string(batch_ + 1));
  auto committed = proc.commit(behind);  // one WriteBatch: all of the above
  if (!committed.ok()) {
    // Only this batch's messages go; older unconfirmed ones stay (they are also in the stored
    // outbox). The batch's records were taken from the source, so only a restart (which
    // seeks to the stored offsets) reads them again: the service is broken.
    outbox_.resize(outbox_.size() - this_batch);
    broken_ = true;
    return committed.error();
  }
  const bool written_behind = behind && committed.value();
  ++batch_;
  stats_.records += records;
  ++stats_.batches;
  // Committed: the views show this batch and its outcome is final, published or not yet.
  if (options_.on_batch) {
    outcome.feed_head = store_.feed_head();
    outcome.case_events = batch_events_;
    options_.on_batch(outcome);
  }
  if (written_behind) {
    unwritten_.active = true;
    unwritten_.messages = std::move(outbox_);
    outbox_.clear();
    unwritten_.positions = std::move(positions);
    unwritten_.stored = stored;
    return true;
  }
  if (stored != 0) outbox_stored_.push_back(stored);
  if (sink_.transactional()) {
    // Offsets go with the messages in one transaction, even when there are none: one batch
    // at a time.
    publish_pending_ = !outbox_.empty() || !positions.empty();
    return publish_outbox();
  }
  return hand_to_sink(std::move(positions), stored);
}

// The batch written behind: once the store says it is durable, its messages go to the sink
// before those of the batch being built (which wait in outbox_ meanwhile). An error with
// broken_ set: the write failed; without: the hand-over failed (publish_pending_ is set and
// outbox_ holds every unconfirmed message, the batch being built's last).
Result<bool> Service::settle_unwritten() {
  if (!unwritten_.active) return true;
  Unwritten u = std::exchange(unwritten_, {});
  if (auto r = store_.durable(); !r.ok()) {
    broken_ = true;  // not written: only a restart, from what is, goes on
    return r;
  }
  std::vector<OutMessage> later = std::exchange(outbox_, std::move(u.messages));
  if (u.stored != 0) outbox_stored_.push_back(u.stored);
  auto r = hand_to_sink(std::move(u.positions), u.stored);
  // After whatever is still to be sent (all of it, if the hand-over failed).
  batch_from_ = outbox_.size();
  outbox_.insert(outbox_.end(), std::make_move_iterator(later.begin()),
                 std::make_move_iterator(later.end()));
  return r;
}

// A committed (and durable) batch's messages, in outbox_, go to the sink.
Result<bool> Service::hand_to_sink(std::vector<SourcePosition> positions, uint64_t stored) {
  // At least once, pipelined: this batch is handed over, and the next batches are computed
  // and committed while it travels; at most publish_depth publishes travel at once.
  if (publish_pending_) {
    // A failed publish: outbox_ holds all that is unconfirmed (nothing is in flight then),
    // sent whole before new input.
    if (auto r = publish_outbox(); !r.ok()) return r;
    if (!positions.empty()) source_.committed(positions);
    return true;
  }
  while (inflight_.size() >= std::max<size_t>(1, options_.publish_depth)) {
    if (auto r = finish_oldest(); !r.ok()) return r;  // then outbox_ holds them all
  }
  if (outbox_.empty()) {
    if (positions.empty()) return true;
    if (inflight_.empty()) {
      source_.committed(positions);
      return true;
    }
  }
  // Handed over from where they stay until the publish is finished.
  inflight_.push_back({std::move(outbox_), std::move(positions), stored});
  outbox_.clear();
  outbox_stored_.clear();
  if (auto r = sink_.start_publish(inflight_.back().messages); !r.ok()) {
    outbox_ = std::move(inflight_.back().messages);
    outbox_stored_ = {stored};
    inflight_.pop_back();
    (void)finish_inflight();  // the earlier ones first, then outbox_ after them
    publish_pending_ = true;
    return r;
  }
  return true;
}

Result<bool> Service::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto r = run_once();
    if (!r.ok()) return r.error();
  }
  return flush();
}

// For the batch observer: what became of one record. Called right after it was applied,
// before a dead letter for it joins the outbox.
RecordOutcome Service::record_outcome(const SourceRecord& rec, const Result<InputEvent>& ev,
                                      const Processor::Verdict& v, const std::string& reason,
                                      const std::string& error, uint64_t feed_start) const {
  RecordOutcome out;
  out.topic = rec.topic;
  out.partition = rec.partition;
  out.offset = rec.offset;
  if (!reason.empty()) {
    out.outcome = RecordOutcome::Kind::Bad;
    out.reason = reason;
    out.error = error;
  } else {
    out.outcome = v.outcome == Processor::Outcome::Duplicate ? RecordOutcome::Kind::Duplicate
                                                             : RecordOutcome::Kind::Applied;
  }
  if (!ev.ok()) return out;
  out.case_id = v.case_id;
  if (ev->action_id.is_string()) out.action_id = ev->action_id.as_string();
  // The step's own events are the last case events emitted, still at the outbox's end.
  for (size_t i = outbox_.size() - v.step_events; i < outbox_.size(); ++i) {
    out.events.push_back(outbox_[i].value);
  }
  if (v.step_events > 0 && store_.feed_head() > 0) {
    out.first_feed_id = feed_start + batch_events_ - v.step_events + 1;
  }
  return out;
}

}  // namespace gridcase
