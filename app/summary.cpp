#include "app/summary.hpp"

#include <cstdio>
#include <map>
#include <vector>

namespace gridcase::app {

Result<bool> print_summary(const Engine& engine, CaseStore& store, const RunStats& stats,
                           std::ostream& out) {
  const Org& org = engine.org();
  std::vector<uint64_t> open(org.levels.size()), closed(org.levels.size());
  uint64_t total = 0, n_closed = 0;
  auto r = store.for_each_case([&](const Case& c) {
    const Workflow& wf = engine.workflows()[c.workflow];
    int level = wf.level_org[c.level];
    ++total;
    if (c.closed) {
      ++n_closed;
      ++closed[level];
    } else {
      ++open[level];
    }
  });
  if (!r.ok()) return r;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "== 运行摘要 summary ==\n输入 %llu 行, 有效事件 %llu, 坏行 %llu, 输出案件事件 "
                "%llu, 定时器触发 %llu",
                static_cast<unsigned long long>(stats.lines),
                static_cast<unsigned long long>(stats.events_in),
                static_cast<unsigned long long>(stats.bad),
                static_cast<unsigned long long>(stats.events_out),
                static_cast<unsigned long long>(stats.timers_fired));
  out << buf;
  if (stats.seconds > 0) {
    std::snprintf(buf, sizeof buf, ", 用时 %.2f 秒 (%.0f 事件/秒)", stats.seconds,
                  stats.events_in / stats.seconds);
    out << buf;
  }
  out << "\n案件 cases: " << total << ", 已结案 closed: " << n_closed << '\n';
  for (size_t l = 0; l < org.levels.size(); ++l) {
    std::snprintf(buf, sizeof buf, "  %-10s 在办 open %8llu   结案 closed %8llu\n",
                  org.levels[l].c_str(), static_cast<unsigned long long>(open[l]),
                  static_cast<unsigned long long>(closed[l]));
    out << buf;
  }
  if (n_closed > 0 && org.levels.size() >= 2) {
    double grid = 100.0 * closed[0] / n_closed;
    double village = 100.0 * (closed[0] + closed[1]) / n_closed;
    std::snprintf(buf, sizeof buf,
                  "小事不出网格: %.1f%% 的结案在网格内 (closed within the grid)\n"
                  "大事不出村:   %.1f%% 的结案在村/社区及以下 (closed within the village)\n",
                  grid, village);
    out << buf;
  }
  return true;
}

}  // namespace gridcase::app
