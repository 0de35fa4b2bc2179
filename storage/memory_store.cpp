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

Result<bool> MemoryStore::for_each_case(const std::function<void(const Case&)>& fn) {
  for (const auto& [id, c] : cases_) fn(c);
  return true;
}

}  // namespace gridcase
