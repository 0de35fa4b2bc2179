#pragma once
// The in-memory CaseStore: for simulate without --state-dir, and for tests.
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/store.hpp"

namespace gridcase {

class MemoryStore final : public CaseStore {
 public:
  Result<std::optional<Case>> load(std::string_view id) override;
  void save(const Case& c) override;
  bool exists(std::string_view id) override;
  bool report_seen(std::string_view grid, std::string_view report_id) override;
  void mark_report(std::string_view grid, std::string_view report_id) override;
  std::vector<std::string> correlated(std::string_view workflow, std::string_view grid,
                                      std::string_view key) override;
  void add_correlation(std::string_view workflow, std::string_view grid, std::string_view key,
                       std::string_view case_id) override;
  void remove_correlation(std::string_view workflow, std::string_view grid, std::string_view key,
                          std::string_view case_id) override;
  void add_timer(Timestamp due, uint64_t seq, std::string_view case_id) override;
  void remove_timer(Timestamp due, uint64_t seq) override;
  std::optional<TimerRef> next_timer() override;
  size_t pending_timers() override { return timers_.size(); }
  std::optional<std::string> get_meta(std::string_view key) override;
  void put_meta(std::string_view key, std::string_view value) override;
  Result<bool> commit() override { return true; }
  Result<bool> for_each_case(const std::function<void(const Case&)>& fn) override;

 private:
  static std::string join(std::string_view a, std::string_view b, std::string_view c = {});
  std::map<std::string, Case, std::less<>> cases_;
  std::unordered_set<std::string> reports_;
  std::unordered_map<std::string, std::vector<std::string>> correlation_;
  std::map<std::pair<int64_t, uint64_t>, std::string> timers_;
  std::map<std::string, std::string, std::less<>> meta_;
};

}  // namespace gridcase
