#pragma once
// Time on the engine's terms: UTC milliseconds, no clock reads (the core is deterministic).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.hpp"

namespace gridcase {

struct Duration {
  int64_t ms = 0;
  friend auto operator<=>(const Duration&, const Duration&) = default;
};

struct Timestamp {
  int64_t ms = 0;  // since 1970-01-01T00:00:00Z
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

inline Timestamp operator+(Timestamp t, Duration d) {
  return {t.ms + d.ms};
}
inline Timestamp operator-(Timestamp t, Duration d) {
  return {t.ms - d.ms};
}
inline Duration operator-(Timestamp a, Timestamp b) {
  return {a.ms - b.ms};
}

// RFC 3339 ("2026-06-12T08:30:00+08:00", "2026-06-12T08:30:00.5Z"); 'T' or 't', 'Z' or 'z'.
Result<Timestamp> parse_timestamp(std::string_view text);
// UTC with 'Z'; a fraction of a second (milliseconds, trailing zeros trimmed) only when not zero.
std::string format_timestamp(Timestamp t);
// The same, appended to `out` (no allocation of its own: this runs for every case event).
void append_timestamp(std::string& out, Timestamp t);
// The same, written at `buf` (room for kTimestampMax bytes); returns its length.
inline constexpr size_t kTimestampMax = 48;
size_t write_timestamp(char* buf, Timestamp t);

// The workflow language's durations: an integer with a unit, units d h m s each at most
// once and in that order ("90s", "1d12h"). Zero is allowed here; callers that need a
// positive duration check it.
Result<Duration> parse_duration(std::string_view text);
// The shortest form in the same syntax ("1d12h"); "0s" for zero; a leading '-' if negative.
std::string format_duration(Duration d);

}  // namespace gridcase
