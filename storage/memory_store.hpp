#pragma once
// The in-memory CaseStore: for simulate without --state-dir, and for tests. Built with an
// Engine it also keeps the read models (engine/views.hpp), for tests of their meaning:
// its views() must not be used while another thread writes.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/store.hpp"
#include "engine/view_model.hpp"

namespace gridcase {

class MemoryStore final : public CaseStore {
 public:
  MemoryStore() = default;
  explicit MemoryStore(const Engine& engine) : model_(std::in_place, engine) {}

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
  void put_outbox(uint64_t batch, std::string bytes) override;
  void drop_outbox(uint64_t batch) override { outboxes_.erase(batch); }
  Result<std::vector<std::pair<uint64_t, std::string>>> stored_outboxes() override;
  // Writes are immediate; fails only when a view record could not be updated.
  Result<bool> commit() override;
  Result<bool> for_each_case(const std::function<void(const Case&)>& fn) override;
  void record_event(const CaseEvent& e, std::string_view json) override;
  uint64_t feed_head() override { return feed_head_; }

  // The read models; null when the store was built without an Engine.
  std::unique_ptr<CaseViews> views();

 private:
  class Families;
  class Reader;
  void update_views(const std::string& case_id, const std::vector<const CaseEvent*>& events);

  static std::string join(std::string_view a, std::string_view b, std::string_view c = {});
  std::map<std::string, Case, std::less<>> cases_;
  std::unordered_set<std::string> reports_;
  std::unordered_map<std::string, std::vector<std::string>> correlation_;
  std::map<std::pair<int64_t, uint64_t>, std::string> timers_;
  std::map<std::string, std::string, std::less<>> meta_;
  std::map<uint64_t, std::string> outboxes_;

  std::optional<ViewModel> model_;
  std::map<std::string, std::string, std::less<>> views_[kViewCfCount];
  uint64_t feed_head_ = 0;
  std::optional<Error> views_error_;
};

}  // namespace gridcase
