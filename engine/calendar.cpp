#include "engine/calendar.hpp"

#include <algorithm>
#include <map>

#include "engine/yaml_util.hpp"

namespace gridcase {

namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kDayMs = 24 * 60 * kMinute;
// A deadline search never walks further than this many days (a calendar always has
// working days: it has hours and at most six weekend days a week, and finitely many holidays).
constexpr int64_t kMaxDays = 200 * 366;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "08:30" as milliseconds since midnight; "24:00" is allowed as the end of the day.
std::optional<int64_t> parse_clock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':' || !digits(s.substr(0, 2)) || !digits(s.substr(3, 2)))
    return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return (h * 60 + m) * kMinute;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

const std::map<std::string, int, std::less<>> kWeekdays = {
    {"sunday", 0}, {"monday", 1},   {"tuesday", 2}, {"wednesday", 3}, {"thursday", 4},
    {"friday", 5}, {"saturday", 6}, {"周日", 0},    {"周一", 1},      {"周二", 2},
    {"周三", 3},   {"周四", 4},     {"周五", 5},    {"周六", 6}};

}  // namespace

std::optional<int64_t> parse_local_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s.substr(0, 4)) ||
      !digits(s.substr(5, 2)) || !digits(s.substr(8, 2)))
    return std::nullopt;
  int y = std::stoi(std::string(s.substr(0, 4)));
  int m = std::stoi(std::string(s.substr(5, 2)));
  int d = std::stoi(std::string(s.substr(8, 2)));
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  return days_from_civil(y, m, d);
}

int64_t Calendar::day_ms() const {
  int64_t sum = 0;
  for (const auto& [a, b] : hours) sum += b - a;
  return sum;
}

bool Calendar::is_working_day(int64_t day) const {
  if (workdays.count(day)) return true;
  if (holidays.count(day)) return false;
  int weekday = static_cast<int>(((day % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  return (weekend_mask & (1 << weekday)) == 0;
}

Timestamp Calendar::add(Timestamp start, Duration work) const {
  if (work.ms <= 0 || hours.empty()) return start;
  int64_t left = work.ms;
  int64_t local = start.ms + utc_offset_ms;
  int64_t day = floor_div(local, kDayMs);
  for (int64_t n = 0; n < kMaxDays; ++n, ++day) {
    if (!is_working_day(day)) continue;
    int64_t base = day * kDayMs;
    for (const auto& [a, b] : hours) {
      int64_t from = std::max(local, base + a);
      int64_t to = base + b;
      if (from >= to) continue;
      if (left <= to - from) return {from + left - utc_offset_ms};
      left -= to - from;
    }
  }
  return {start.ms + work.ms};  // unreachable for a valid calendar
}

Duration Calendar::between(Timestamp a, Timestamp b) const {
  if (b <= a || hours.empty()) return {0};
  int64_t la = a.ms + utc_offset_ms, lb = b.ms + utc_offset_ms;
  int64_t sum = 0;
  for (int64_t day = floor_div(la, kDayMs); day <= floor_div(lb, kDayMs); ++day) {
    if (!is_working_day(day)) continue;
    int64_t base = day * kDayMs;
    for (const auto& [x, y] : hours) {
      int64_t from = std::max(la, base + x), to = std::min(lb, base + y);
      if (from < to) sum += to - from;
    }
  }
  return {sum};
}

namespace {

struct CalendarLoader {
  const std::string& file;
  Diagnostics& diags;
  Calendar cal;

  void error(const YAML::Node& n, std::string msg) {
    diags.error(file, yaml::pos_of(n), std::move(msg));
  }

  std::optional<int64_t> date(const YAML::Node& n, std::string_view what) {
    auto s = yaml::get_string(n, file, what, diags);
    if (!s) return std::nullopt;
    auto d = parse_local_date(*s);
    if (!d) error(n, std::string(what) + ": '" + *s + "' is not a date (YYYY-MM-DD)");
    return d;
  }

  // A list of days: `2026-01-01`, `{date: 2026-01-01, name: 元旦}` or `{from, to, name}`.
  void days(const YAML::Node& list, std::string_view what, std::set<int64_t>& out,
            std::map<int64_t, YAML::Node>& where) {
    if (!list.IsSequence()) {
      error(list, std::string(what) + " must be a list of dates or {date|from,to, name}");
      return;
    }
    for (const auto& item : list) {
      std::optional<int64_t> from, to;
      if (item.IsMap()) {
        yaml::check_keys(item, {"date", "from", "to", "name"}, file, what, diags);
        if (item["date"]) {
          if (item["from"] || item["to"]) error(item, "give either date or from/to, not both");
          from = to = date(item["date"], "date");
        } else if (item["from"] && item["to"]) {
          from = date(item["from"], "from");
          to = date(item["to"], "to");
        } else {
          error(item, std::string(what) + ": an entry needs date, or from and to");
          continue;
        }
        if (item["name"]) (void)yaml::get_string(item["name"], file, "name", diags);
      } else {
        from = to = date(item, std::string(what));
      }
      if (!from || !to) continue;
      if (*to < *from) {
        error(item, "from must not be after to");
        continue;
      }
      if (*to - *from > 366) {
        error(item, "a range of more than a year");
        continue;
      }
      for (int64_t d = *from; d <= *to; ++d) {
        if (!out.insert(d).second) error(item, "date listed twice in " + std::string(what));
        where.emplace(d, item);
      }
    }
  }

  void load(const YAML::Node& root) {
    if (!root.IsMap()) {
      diags.error(file, yaml::doc_pos(root),
                  "a calendar file must be a mapping (apiVersion, kind, name, hours, ...)");
      return;
    }
    yaml::check_keys(root,
                     {"apiVersion", "kind", "name", "description", "timezone", "hours", "weekend",
                      "holidays", "workdays"},
                     file, "the calendar", diags);
    for (const char* req : {"apiVersion", "kind", "name", "hours"}) {
      if (!root[req])
        diags.error(file, yaml::pos_of(root), std::string("missing required key '") + req + "'");
    }
    if (root["apiVersion"] &&
        (!root["apiVersion"].IsScalar() || root["apiVersion"].Scalar() != "gridcase/v1"))
      error(root["apiVersion"], "apiVersion must be gridcase/v1");
    if (root["kind"] && (!root["kind"].IsScalar() || root["kind"].Scalar() != "Calendar"))
      error(root["kind"], "kind must be Calendar here");
    if (root["name"]) {
      if (auto s = yaml::get_string(root["name"], file, "name", diags)) cal.name = *s;
    }
    if (root["description"])
      (void)yaml::get_string(root["description"], file, "description", diags);
    if (YAML::Node tz = root["timezone"]) {
      if (auto s = yaml::get_string(tz, file, "timezone", diags)) {
        if (*s == "Asia/Shanghai" || *s == "Asia/Chongqing" || *s == "PRC") {
          cal.utc_offset_ms = 8 * 3600 * 1000;
        } else if (*s == "UTC" || *s == "Z") {
          cal.utc_offset_ms = 0;
        } else if (s->size() == 6 && ((*s)[0] == '+' || (*s)[0] == '-') &&
                   parse_clock(s->substr(1))) {
          int64_t off = *parse_clock(s->substr(1));
          cal.utc_offset_ms = (*s)[0] == '-' ? -off : off;
        } else {
          error(tz, "timezone must be Asia/Shanghai, UTC or a fixed offset like +08:00");
        }
      }
    }
    if (YAML::Node hs = root["hours"]) {
      if (!hs.IsSequence() || hs.size() == 0) {
        error(hs, "hours must be a non-empty list like [\"08:30-12:00\", \"14:30-18:00\"]");
      } else {
        for (const auto& h : hs) {
          auto s = yaml::get_string(h, file, "hours", diags);
          if (!s) continue;
          size_t dash = s->find('-');
          auto a = dash == std::string::npos ? std::nullopt : parse_clock(trim(s->substr(0, dash)));
          auto b =
              dash == std::string::npos ? std::nullopt : parse_clock(trim(s->substr(dash + 1)));
          if (!a || !b) {
            error(h, "working hours '" + *s + "' must be HH:MM-HH:MM");
            continue;
          }
          if (*b <= *a) {
            error(h, "working hours '" + *s + "' end before they start");
            continue;
          }
          if (!cal.hours.empty() && *a < cal.hours.back().second) {
            error(h, "working hours '" + *s +
                         "' overlap or come before the previous ones (list them in order)");
            continue;
          }
          cal.hours.emplace_back(*a, *b);
        }
      }
    }
    if (YAML::Node we = root["weekend"]) {
      cal.weekend_mask = 0;
      if (!we.IsSequence()) {
        error(we, "weekend must be a list of weekday names (saturday, sunday, ...)");
      } else {
        for (const auto& w : we) {
          auto s = yaml::get_string(w, file, "weekend", diags);
          if (!s) continue;
          auto it = kWeekdays.find(*s);
          if (it == kWeekdays.end()) {
            error(w, "unknown weekday '" + *s + "' (monday ... sunday)");
            continue;
          }
          cal.weekend_mask |= static_cast<uint8_t>(1 << it->second);
        }
        if (cal.weekend_mask == 0x7F) error(we, "a week needs at least one working day");
      }
    }
    std::map<int64_t, YAML::Node> hol_at, work_at;
    if (root["holidays"]) days(root["holidays"], "holidays", cal.holidays, hol_at);
    if (root["workdays"]) days(root["workdays"], "workdays", cal.workdays, work_at);
    for (const auto& [d, node] : work_at) {
      if (cal.holidays.count(d)) {
        error(node, "a make-up working day is also listed as a holiday");
        continue;
      }
      int weekday = static_cast<int>(((d % 7) + 11) % 7);
      if ((cal.weekend_mask & (1 << weekday)) == 0) {
        diags.warning(file, yaml::pos_of(node),
                      "make-up working day is not a weekend day: it is a working day anyway");
      }
    }
  }
};

}  // namespace

std::optional<Calendar> load_calendar_text(std::string_view text, const std::string& file,
                                           Diagnostics& diags) {
  int before = diags.error_count();
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (!yaml::check_utf8(text, file, diags)) return std::nullopt;
  yaml::TextScope scope(text);
  auto root = yaml::parse(text, file, diags);
  if (!root) return std::nullopt;
  CalendarLoader l{file, diags, {}};
  l.cal.file = file;
  l.load(*root);
  if (diags.error_count() > before) return std::nullopt;
  return std::move(l.cal);
}

std::optional<Calendar> load_calendar_file(const std::string& path, Diagnostics& diags) {
  std::string text;
  if (!yaml::read_file(path, text)) {
    diags.error(path, {}, "cannot read file");
    return std::nullopt;
  }
  return load_calendar_text(text, path, diags);
}

}  // namespace gridcase
