#include "connectors/http/intake.hpp"

namespace gridcase::http {

GroupCommitIntake::GroupCommitIntake(Append append, size_t max_group_records)
    : append_(std::move(append)), max_group_(max_group_records) {
  writer_ = std::thread([this] { run(); });
}

GroupCommitIntake::~GroupCommitIntake() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void GroupCommitIntake::submit(std::vector<IntakeRecord> records, Done done) {
  {
    std::lock_guard g(mu_);
    queue_.push_back({std::move(records), std::move(done)});
  }
  cv_.notify_one();
}

bool GroupCommitIntake::ready(std::string* why) {
  std::lock_guard g(mu_);
  if (last_error_.empty()) return true;
  if (why) *why = last_error_;
  return false;
}

void GroupCommitIntake::run_callbacks_on(Runner run) {
  std::lock_guard g(mu_);
  runner_ = run ? std::make_shared<const Runner>(std::move(run)) : nullptr;
}

GroupCommitIntake::Stats GroupCommitIntake::stats() {
  std::lock_guard g(mu_);
  return stats_;
}

void GroupCommitIntake::run() {
  std::vector<IntakeRecord> group;
  std::vector<Pending> taken;
  for (;;) {
    std::shared_ptr<const Runner> runner;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      // Whole submissions only: a request's records are all in one append or none.
      size_t n = 0;
      while (!queue_.empty() &&
             (taken.empty() || n + queue_.front().records.size() <= max_group_)) {
        n += queue_.front().records.size();
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      runner = runner_;
    }
    group.clear();
    for (auto& p : taken) {
      for (auto& r : p.records) group.push_back(std::move(r));
    }
    Result<bool> r = group.empty() ? Result<bool>(true) : append_(group);
    {
      std::lock_guard g(mu_);
      ++stats_.groups;
      if (r.ok()) {
        stats_.records += group.size();
        last_error_.clear();
      } else {
        ++stats_.failures;
        last_error_ = r.error().message;
      }
    }
    if (runner) {
      auto finished =
          std::make_shared<std::pair<std::vector<Pending>, Result<bool>>>(std::move(taken), r);
      (*runner)([finished] {
        for (auto& p : finished->first) p.done(finished->second);
      });
    } else {
      for (auto& p : taken) p.done(r);
    }
    taken.clear();
  }
}

}  // namespace gridcase::http
