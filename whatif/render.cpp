// The what-if report as a terminal table, JSON and a self-contained HTML page.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "whatif/whatif.hpp"

namespace gridcase::whatif {

namespace {

// Terminal columns of a UTF-8 string: CJK and full-width characters take two.
size_t width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    if (len > 1 && i + len <= s.size()) {
      cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                (cp >= 0xFFE0 && cp <= 0xFFE6);
    w += wide ? 2 : 1;
    i += len;
  }
  return w;
}

std::string pad_right(const std::string& s, size_t w) {
  size_t have = width(s);
  return s + std::string(have < w ? w - have : 0, ' ');
}
std::string pad_left(const std::string& s, size_t w) {
  size_t have = width(s);
  return std::string(have < w ? w - have : 0, ' ') + s;
}

std::string level_label(const std::string& level) {
  if (level == "grid") return "网格 grid";
  if (level == "village") return "村(社区) village";
  if (level == "township") return "乡镇 township";
  if (level == "county") return "县 county";
  return level;
}

std::string pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * share);
  return buf;
}

std::string signed_num(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v > 0 ? "+%lld" : "%lld", static_cast<long long>(v));
  return buf;
}

std::string signed_pct(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f", 100.0 * d);
  return std::string(buf) + " pt";
}

struct Row {
  std::string label, old_v, new_v, delta;
};

std::vector<Row> rows(const Report& r) {
  std::vector<Row> out;
  const Side& a = r.old_side;
  const Side& b = r.new_side;
  auto num = [&](std::string label, uint64_t x, uint64_t y) {
    out.push_back({std::move(label), std::to_string(x), std::to_string(y),
                   signed_num(static_cast<int64_t>(y) - static_cast<int64_t>(x))});
  };
  num("案件总数 cases", a.cases, b.cases);
  num("已结案 closed", a.closed, b.closed);
  for (size_t l = 0; l < r.levels.size(); ++l) {
    num("最终层级 final level: " + level_label(r.levels[l]), a.by_final_level[l],
        b.by_final_level[l]);
  }
  out.push_back({"网格内结案占比 closed in grid", pct(a.closed_in_grid), pct(b.closed_in_grid),
                 signed_pct(b.closed_in_grid - a.closed_in_grid)});
  out.push_back({"村内结案占比 closed in village", pct(a.closed_in_village),
                 pct(b.closed_in_village), signed_pct(b.closed_in_village - a.closed_in_village)});
  for (size_t l = 0; l < r.levels.size(); ++l) {
    num("上移 escalations from " + level_label(r.levels[l]), a.escalations[l], b.escalations[l]);
  }
  for (size_t l = 0; l < r.levels.size(); ++l) {
    num("超时 SLA breaches at " + level_label(r.levels[l]), a.breaches[l], b.breaches[l]);
  }
  num("案件事件 case events", a.case_events, b.case_events);
  num("被拒输入 rejected inputs", a.rejected_inputs, b.rejected_inputs);
  return out;
}

std::string outcome_text(const Outcome& o) {
  if (!o.exists) return "（无此案件 none）";
  return o.workflow + "/" + o.state + "@" + o.level + (o.closed ? " 已结案" : " 在办");
}

std::string event_text(bool has, const EventBrief& e) {
  if (!has) return "（无 none）";
  return e.type + " " + e.at + " " + e.state + "@" + e.level;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

nlohmann::json side_json(const Report& r, const Side& s) {
  nlohmann::json j;
  j["cases"] = s.cases;
  j["closed"] = s.closed;
  j["case_events"] = s.case_events;
  j["rejected_inputs"] = s.rejected_inputs;
  j["closed_in_grid"] = s.closed_in_grid;
  j["closed_in_village"] = s.closed_in_village;
  for (size_t l = 0; l < r.levels.size(); ++l) {
    j["by_final_level"][r.levels[l]] = s.by_final_level[l];
    j["closed_at_level"][r.levels[l]] = s.closed_at_level[l];
    j["escalations"][r.levels[l]] = s.escalations[l];
    j["sla_breaches"][r.levels[l]] = s.breaches[l];
  }
  return j;
}

nlohmann::json outcome_json(const Outcome& o) {
  if (!o.exists) return nullptr;
  return {{"workflow", o.workflow},
          {"state", o.state},
          {"level", o.level},
          {"unit", o.unit},
          {"closed", o.closed}};
}

nlohmann::json event_json(bool has, const EventBrief& e) {
  if (!has) return nullptr;
  return {{"seq", e.seq},     {"type", e.type}, {"at", e.at},          {"state", e.state},
          {"level", e.level}, {"unit", e.unit}, {"trigger", e.trigger}};
}

// A grouped bar chart (old grey, new blue) as inline SVG.
std::string bar_chart(const std::string& title, const std::vector<std::string>& labels,
                      const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  uint64_t top = 1;
  for (uint64_t v : a) top = std::max(top, v);
  for (uint64_t v : b) top = std::max(top, v);
  const int group = 120, bar = 40, height = 200, base = 230;
  const int w = 60 + group * static_cast<int>(labels.size());
  std::ostringstream o;
  o << "<figure><figcaption>" << html_escape(title)
    << "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w
    << "\" height=\"270\" role=\"img\">\n";
  o << "<line x1=\"40\" y1=\"" << base << "\" x2=\"" << w << "\" y2=\"" << base
    << "\" stroke=\"#333\"/>\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    int x = 50 + group * static_cast<int>(i);
    for (int side = 0; side < 2; ++side) {
      uint64_t v = side == 0 ? a[i] : b[i];
      int h = static_cast<int>(static_cast<double>(v) / static_cast<double>(top) * height);
      int bx = x + side * (bar + 4);
      o << "<rect x=\"" << bx << "\" y=\"" << base - h << "\" width=\"" << bar << "\" height=\""
        << h << "\" fill=\"" << (side == 0 ? "#9e9e9e" : "#1e6fd9") << "\"><title>"
        << (side == 0 ? "旧 OLD " : "新 NEW ") << v << "</title></rect>\n";
      o << "<text x=\"" << bx + bar / 2 << "\" y=\"" << base - h - 4
        << "\" font-size=\"11\" text-anchor=\"middle\">" << v << "</text>\n";
    }
    o << "<text x=\"" << x + bar << "\" y=\"" << base + 18
      << "\" font-size=\"12\" text-anchor=\"middle\">" << html_escape(labels[i]) << "</text>\n";
  }
  o << "</svg></figure>\n";
  return o.str();
}

}  // namespace

std::string to_table(const Report& r, size_t max_rows) {
  std::vector<Row> rs = rows(r);
  Row head{"指标 metric", "旧规则 OLD", "新规则 NEW", "差值 Δ"};
  size_t w0 = width(head.label), w1 = width(head.old_v), w2 = width(head.new_v),
         w3 = width(head.delta);
  for (const Row& x : rs) {
    w0 = std::max(w0, width(x.label));
    w1 = std::max(w1, width(x.old_v));
    w2 = std::max(w2, width(x.new_v));
    w3 = std::max(w3, width(x.delta));
  }
  std::ostringstream o;
  o << "输入 inputs: " << r.inputs << " 行";
  if (r.bad_lines) o << "（另有 " << r.bad_lines << " 行无法解析，已跳过 skipped）";
  o << "\n";
  auto line = [&](const Row& x) {
    o << pad_right(x.label, w0) << "  " << pad_left(x.old_v, w1) << "  " << pad_left(x.new_v, w2)
      << "  " << pad_left(x.delta, w3) << "\n";
  };
  line(head);
  o << std::string(w0 + w1 + w2 + w3 + 6, '-') << "\n";
  for (const Row& x : rs) line(x);
  o << "\n结果不同的案件 cases with a different outcome: " << r.differences.size() << "\n";
  if (r.same_outcome_other_history) {
    o << "结果相同但过程不同 same outcome, different history: " << r.same_outcome_other_history
      << "\n";
  }
  size_t shown = 0;
  for (const Difference& d : r.differences) {
    if (shown++ == max_rows) {
      o << "  …… 另有 " << r.differences.size() - max_rows << " 件 (more; see --json)\n";
      break;
    }
    o << "  " << d.case_id << ": 旧 " << outcome_text(d.old_outcome) << " → 新 "
      << outcome_text(d.new_outcome) << "\n      首个分歧 first divergence, seq " << d.diverge_seq
      << ": 旧 " << event_text(d.has_old_event, d.first_old) << " | 新 "
      << event_text(d.has_new_event, d.first_new) << "\n";
  }
  return o.str();
}

std::string to_json(const Report& r) {
  nlohmann::json j;
  j["inputs"] = r.inputs;
  j["bad_lines"] = r.bad_lines;
  j["levels"] = r.levels;
  j["old"] = side_json(r, r.old_side);
  j["new"] = side_json(r, r.new_side);
  j["same_outcome_other_history"] = r.same_outcome_other_history;
  j["differing_cases"] = r.differences.size();
  nlohmann::json diffs = nlohmann::json::array();
  for (const Difference& d : r.differences) {
    diffs.push_back({{"case_id", d.case_id},
                     {"old", outcome_json(d.old_outcome)},
                     {"new", outcome_json(d.new_outcome)},
                     {"diverge_seq", d.diverge_seq},
                     {"old_event", event_json(d.has_old_event, d.first_old)},
                     {"new_event", event_json(d.has_new_event, d.first_new)}});
  }
  j["differences"] = std::move(diffs);
  return j.dump(2);
}

std::string to_html(const Report& r, const std::string& title) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>"
    << html_escape(title) << "</title>\n<style>body{font-family:sans-serif;margin:2em;}"
    << "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
    << "td.n{text-align:right}figure{display:inline-block;margin:1em}"
    << ".old{color:#757575}.new{color:#1e6fd9}</style></head><body>\n";
  o << "<h1>" << html_escape(title) << "</h1>\n<p>输入 inputs: " << r.inputs
    << " 行。<span class=\"old\">■ 旧规则 OLD</span> <span class=\"new\">■ 新规则 NEW</span></p>\n";
  std::vector<std::string> labels;
  for (const auto& l : r.levels) labels.push_back(level_label(l));
  o << bar_chart("最终层级的案件数 cases by final level", labels, r.old_side.by_final_level,
                 r.new_side.by_final_level);
  o << bar_chart("各层级超时次数 SLA breaches per level", labels, r.old_side.breaches,
                 r.new_side.breaches);
  o << bar_chart("各层级上移次数 escalations per level", labels, r.old_side.escalations,
                 r.new_side.escalations);
  o << "<table><tr><th>指标 metric</th><th>旧规则 OLD</th><th>新规则 NEW</th><th>差值 "
       "Δ</th></tr>\n";
  for (const Row& x : rows(r)) {
    o << "<tr><td>" << html_escape(x.label) << "</td><td class=\"n\">" << html_escape(x.old_v)
      << "</td><td class=\"n\">" << html_escape(x.new_v) << "</td><td class=\"n\">"
      << html_escape(x.delta) << "</td></tr>\n";
  }
  o << "</table>\n<h2>结果不同的案件 cases with a different outcome (" << r.differences.size()
    << ")</h2>\n<table><tr><th>案件 case</th><th>旧 OLD</th><th>新 NEW</th><th>首个分歧 "
       "first divergence</th></tr>\n";
  for (const Difference& d : r.differences) {
    o << "<tr><td>" << html_escape(d.case_id) << "</td><td>"
      << html_escape(outcome_text(d.old_outcome)) << "</td><td>"
      << html_escape(outcome_text(d.new_outcome)) << "</td><td>seq " << d.diverge_seq << ": 旧 "
      << html_escape(event_text(d.has_old_event, d.first_old)) << "<br>新 "
      << html_escape(event_text(d.has_new_event, d.first_new)) << "</td></tr>\n";
  }
  o << "</table>\n</body></html>\n";
  return o.str();
}

}  // namespace gridcase::whatif
