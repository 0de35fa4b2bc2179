#pragma once
// The Intake port: where the HTTP API puts the input events it accepts. An answer of 202
// means the event is durable in the input topic (the embedded log: a synced RocksDB write;
// Kafka: acknowledged by all in-sync replicas), so the engine will see it even if the
// process dies right after answering.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/result.hpp"

namespace gridcase::http {

struct IntakeRecord {
  std::string key;      // origin grid (the Kafka partition key)
  std::string payload;  // one input event (interfaces.md), JSON on one line
};

class Intake {
 public:
  using Done = std::function<void(Result<bool>)>;
  virtual ~Intake() = default;
  // Appends the records durably and in order, all or none, then calls `done` once, never
  // inside submit(): on the runner given to run_callbacks_on() (the HTTP server's io
  // threads), else on the thread that does the appends. `done` should be quick (hand the
  // answer over, do not wait).
  virtual void submit(std::vector<IntakeRecord> records, Done done) = 0;
  // Whether the intake can take records now; `why` says what is wrong when not.
  virtual bool ready(std::string* why) = 0;

  // Where the `done` callbacks run from now on: the intake hands `run` one task per group
  // of callbacks (run it exactly once, on any thread, soon); null: on the intake's own
  // thread. The HTTP server passes its io threads, so the thread that appends never waits
  // for the answers to be written.
  using Runner = std::function<void(std::function<void()> task)>;
  virtual void run_callbacks_on(Runner run) { (void)run; }
};

// Group commit over any durable append: one writer thread takes every submission pending
// when it wakes and appends them with ONE call (one fsync, one Kafka flush), so the cost
// of durability is shared by all concurrent requests. A finished group's callbacks go, as
// one task, to the runner set by run_callbacks_on() (the HTTP server's io threads), and
// the writer goes on with the next group at once; without a runner they run on the writer
// thread. (A completion thread of its own cost a thread switch per group.)
class GroupCommitIntake final : public Intake {
 public:
  using Append = std::function<Result<bool>(const std::vector<IntakeRecord>&)>;
  explicit GroupCommitIntake(Append append, size_t max_group_records = 10000);
  ~GroupCommitIntake() override;  // finishes what was submitted, then stops
  GroupCommitIntake(const GroupCommitIntake&) = delete;
  GroupCommitIntake& operator=(const GroupCommitIntake&) = delete;

  void submit(std::vector<IntakeRecord> records, Done done) override;
  bool ready(std::string* why) override;
  void run_callbacks_on(Runner run) override;

  struct Stats {
    uint64_t groups = 0;
    uint64_t records = 0;
    uint64_t failures = 0;
  };
  Stats stats();

 private:
  void run();

  struct Pending {
    std::vector<IntakeRecord> records;
    Done done;
  };
  Append append_;
  size_t max_group_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stop_ = false;
  std::string last_error_;
  Stats stats_;
  std::shared_ptr<const Runner> runner_;  // under mu_; null: the writer runs the callbacks
  std::thread writer_;
};

}  // namespace gridcase::http
