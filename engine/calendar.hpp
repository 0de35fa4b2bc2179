#pragma once
// Working time: a calendar of working hours, weekends, public holidays and make-up working
// days (调休), and deadline arithmetic over it. Pure: loading reads the file once at start-up;
// the arithmetic reads no clock.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/diagnostics.hpp"
#include "engine/time.hpp"

namespace gridcase {

class Calendar {
 public:
  std::string name;
  std::string file;
  int64_t utc_offset_ms = 8 * 3600 * 1000;  // local time = UTC + offset (fixed, no DST)
  // Working hours of a working day, milliseconds since local midnight, sorted, disjoint.
  std::vector<std::pair<int64_t, int64_t>> hours;
  uint8_t weekend_mask = (1 << 6) | (1 << 0);  // bit = weekday (0 Sunday .. 6 Saturday)
  std::set<int64_t> holidays;                  // local days (days since 1970-01-01) off
  std::set<int64_t> workdays;                  // make-up working days (调休上班)

  // Working time in one working day (the unit of `Nd working`).
  int64_t day_ms() const;
  // Whether the local day `day` (days since 1970-01-01) is a working day.
  bool is_working_day(int64_t day) const;
  // The earliest instant at which `work` of working time has passed since `start`: time
  // counts only inside working hours of working days. A deadline that uses up a period
  // exactly at closing time is that closing time. `work` <= 0 gives `start`.
  Timestamp add(Timestamp start, Duration work) const;
  // Working time between a and b (0 if b <= a).
  Duration between(Timestamp a, Timestamp b) const;
};

// "2026-02-14" as days since 1970-01-01; nullopt if not a valid date.
std::optional<int64_t> parse_local_date(std::string_view text);

// Loads a calendar file (kind: Calendar). Problems go to diags; nullopt on errors.
std::optional<Calendar> load_calendar_text(std::string_view text, const std::string& file,
                                           Diagnostics& diags);
std::optional<Calendar> load_calendar_file(const std::string& path, Diagnostics& diags);

}  // namespace gridcase
