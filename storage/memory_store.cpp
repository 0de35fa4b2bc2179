#include "storage/memory_store.hpp"

#include <algorithm>

namespace gridcase {

std::string MemoryStore::join(std::string_view a, std::string_view b, std::string_view c) {
  std::string k;
  k.reserve(a.size() + b.size() + c.size() + 2);
  k.append(a).push_back('\0');
  k.append(b).push_back('\0');
  k.append(c);
  return k;
}

Result<std::optional<Case>> MemoryStore::load(std::string_view id) {
  auto it = cases_.find(id);
  if (it == cases_.end()) return std::optional<Case>();
  return std::optional<Case>(it->second);
}

void MemoryStore::save(const Case& c) {
  cases_.insert_or_assign(c.id, c);
  if (model_) update_views(c.id, {});
}

bool MemoryStore::exists(std::string_view id) {
  return cases_.find(id) != cases_.end();
}

bool MemoryStore::report_seen(std::string_view grid, std::string_view report_id) {
  return reports_.count(join(grid, report_id)) > 0;
}

void MemoryStore::mark_report(std::string_view grid, std::string_view report_id) {
  reports_.insert(join(grid, report_id));
}

std::vector<std::string> MemoryStore::correlated(std::string_view workflow, std::string_view grid,
                                                 std::string_view key) {
  auto it = correlation_.find(join(workflow, grid, key));
  return it == correlation_.end() ? std::vector<std::string>{} : it->second;
}

void MemoryStore::add_correlation(std::string_view workflow, std::string_view grid,
                                  std::string_view key, std::string_view case_id) {
  auto& ids = correlation_[join(workflow, grid, key)];
  if (std::find(ids.begin(), ids.end(), case_id) == ids.end()) ids.emplace_back(case_id);
}

void MemoryStore::remove_correlation(std::string_view workflow, std::string_view grid,
                                     std::string_view key, std::string_view case_id) {
  auto it = correlation_.find(join(workflow, grid, key));
  if (it == correlation_.end()) return;
  auto& ids = it->second;
  ids.erase(std::remove(ids.begin(), ids.end(), case_id), ids.end());
  if (ids.empty()) correlation_.erase(it);
}

void MemoryStore::add_timer(Timestamp due, uint64_t seq, std::string_view case_id) {
  timers_.insert_or_assign({due.ms, seq}, std::string(case_id));
}

void MemoryStore::remove_timer(Timestamp due, uint64_t seq) {
  timers_.erase({due.ms, seq});
}

std::optional<TimerRef> MemoryStore::next_timer() {
  if (timers_.empty()) return std::nullopt;
  const auto& [k, id] = *timers_.begin();
  return TimerRef{Timestamp{k.first}, k.second, id};
}

std::optional<std::string> MemoryStore::get_meta(std::string_view key) {
  auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::put_meta(std::string_view key, std::string_view value) {
  meta_.insert_or_assign(std::string(key), std::string(value));
}

// ---- views ----

// The maps as the families the ViewModel writes.
class MemoryStore::Families final : public ViewWriter {
 public:
  explicit Families(MemoryStore& s) : s_(s) {}
  void put(ViewCf cf, std::string_view key, std::string_view value) override {
    s_.views_[static_cast<size_t>(cf)].insert_or_assign(std::string(key), std::string(value));
  }
  void del(ViewCf cf, std::string_view key) override {
    auto& m = s_.views_[static_cast<size_t>(cf)];
    if (auto it = m.find(key); it != m.end()) m.erase(it);
  }

 private:
  MemoryStore& s_;
};

class MemoryStore::Reader final : public ViewReader {
 public:
  explicit Reader(MemoryStore& s) : s_(s) {}
  Result<std::optional<std::string>> get(ViewCf cf, std::string_view key) override {
    const auto& m = s_.views_[static_cast<size_t>(cf)];
    auto it = m.find(key);
    if (it == m.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<std::vector<std::pair<std::string, std::string>>> range(ViewCf cf, std::string_view from,
                                                                 std::string_view to,
                                                                 size_t max) override {
    const auto& m = s_.views_[static_cast<size_t>(cf)];
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = m.lower_bound(from); it != m.end() && out.size() < max; ++it) {
      if (!to.empty() && it->first >= to) break;
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  uint64_t feed_head() override { return s_.feed_head_; }

 private:
  MemoryStore& s_;
};

void MemoryStore::update_views(const std::string& case_id,
                               const std::vector<const CaseEvent*>& events) {
  const auto& summaries = views_[static_cast<size_t>(ViewCf::Summaries)];
  std::optional<std::string> old;
  if (auto it = summaries.find(case_id); it != summaries.end()) old = it->second;
  auto c = cases_.find(case_id);
  Families w(*this);
  auto r = model_->update_case(old, c == cases_.end() ? nullptr : &c->second, events, w);
  if (!r.ok() && !views_error_) views_error_ = r.error();
}

void MemoryStore::record_event(const CaseEvent& e, std::string_view json) {
  if (!model_) return;
  Families w(*this);
  model_->write_feed(model_->feed_entry(++feed_head_, e, json), w);
  update_views(e.case_id, {&e});
}

void MemoryStore::put_outbox(uint64_t batch, std::string bytes) {
  outboxes_.insert_or_assign(batch, std::move(bytes));
}

Result<std::vector<std::pair<uint64_t, std::string>>> MemoryStore::stored_outboxes() {
  return std::vector<std::pair<uint64_t, std::string>>(outboxes_.begin(), outboxes_.end());
}

Result<bool> MemoryStore::commit() {
  if (views_error_) return *views_error_;
  return true;
}

std::unique_ptr<CaseViews> MemoryStore::views() {
  if (!model_) return nullptr;
  return std::make_unique<ViewQueries>(model_->engine(),
                                       [this] { return std::make_unique<Reader>(*this); });
}

Result<bool> MemoryStore::for_each_case(const std::function<void(const Case&)>& fn) {
  for (const auto& [id, c] : cases_) fn(c);
  return true;
}

}  // namespace gridcase
