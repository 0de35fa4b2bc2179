// Timestamps (RFC 3339, UTC milliseconds) and the workflow language's durations.
// Pure arithmetic: a days-from-civil algorithm, no libc time zone calls, no clock reads.
#include "engine/time.hpp"

#include <cstdio>
#include <cstring>
#include <limits>

namespace gridcase {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year;
  int month;
  int day;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly n digits at text[*i]; false when they are not all there.
bool read_digits(std::string_view text, size_t* i, int n, int* out) {
  if (*i + static_cast<size_t>(n) > text.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = text[*i + static_cast<size_t>(k)];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<size_t>(n);
  *out = v;
  return true;
}

bool expect(std::string_view text, size_t* i, char c) {
  if (*i >= text.size() || text[*i] != c) return false;
  ++*i;
  return true;
}

// Quotes an input for a message, cut short when it is long.
std::string quoted(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  out.append(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

Error timestamp_error(std::string_view text, const std::string& why) {
  return err("invalid timestamp " + quoted(text) + ": " + why);
}

Error duration_error(std::string_view text, const std::string& why) {
  return err("invalid duration " + quoted(text) + ": " + why);
}

std::string two(int v) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

}  // namespace

Result<Timestamp> parse_timestamp(std::string_view text) {
  static const std::string kShape = "expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)";
  size_t i = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, &i, 4, &year) || !expect(text, &i, '-') ||
      !read_digits(text, &i, 2, &month) || !expect(text, &i, '-') ||
      !read_digits(text, &i, 2, &day)) {
    return timestamp_error(text, kShape);
  }
  if (i >= text.size() || (text[i] != 'T' && text[i] != 't')) {
    return timestamp_error(text, kShape);
  }
  ++i;
  if (!read_digits(text, &i, 2, &hour) || !expect(text, &i, ':') ||
      !read_digits(text, &i, 2, &minute) || !expect(text, &i, ':') ||
      !read_digits(text, &i, 2, &second)) {
    return timestamp_error(text, kShape);
  }
  int64_t millis = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const size_t first = i;
    int scale = 100;
    while (i < text.size() && is_digit(text[i])) {
      millis += (text[i] - '0') * scale;  // digits past the third are truncated
      scale /= 10;
      ++i;
    }
    if (i == first) return timestamp_error(text, "expected digits after '.'");
  }
  int offset_minutes = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int oh = 0, om = 0;
    if (!read_digits(text, &i, 2, &oh) || !expect(text, &i, ':') ||
        !read_digits(text, &i, 2, &om)) {
      return timestamp_error(text, "expected a UTC offset Z, +HH:MM or -HH:MM");
    }
    if (oh > 23) return timestamp_error(text, "offset hour " + two(oh) + " out of range");
    if (om > 59) return timestamp_error(text, "offset minute " + two(om) + " out of range");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return timestamp_error(text, "expected a UTC offset Z, +HH:MM or -HH:MM");
  }
  if (i != text.size()) return timestamp_error(text, "unexpected text after the UTC offset");
  if (month < 1 || month > 12) {
    return timestamp_error(text, "month " + two(month) + " out of range");
  }
  if (day < 1 || day > days_in_month(year, month)) {
    char ym[16];
    std::snprintf(ym, sizeof ym, "%04d-%02d", year, month);
    return timestamp_error(text, "day " + two(day) + " out of range for " + ym);
  }
  if (hour > 23) return timestamp_error(text, "hour " + two(hour) + " out of range");
  if (minute > 59) return timestamp_error(text, "minute " + two(minute) + " out of range");
  if (second > 59) return timestamp_error(text, "second " + two(second) + " out of range");
  const int64_t days = days_from_civil(year, month, day);
  const int64_t ms = days * kMsPerDay + hour * kMsPerHour + minute * kMsPerMinute +
                     second * kMsPerSecond + millis - offset_minutes * kMsPerMinute;
  return Timestamp{ms};
}

std::string format_timestamp(Timestamp t) {
  std::string out;
  append_timestamp(out, t);
  return out;
}

size_t write_timestamp(char* buf, Timestamp t) {
  // The case events of one input event share its time: the last one formatted on this
  // thread is kept (a pure cache: the text is a function of t alone).
  thread_local int64_t last_ms = std::numeric_limits<int64_t>::min();
  thread_local char last_text[kTimestampMax];
  thread_local size_t last_size = 0;
  if (last_size != 0 && t.ms == last_ms) {
    std::memcpy(buf, last_text, last_size);
    return last_size;
  }
  // Floor division, so that instants before 1970 format correctly.
  int64_t days = t.ms / kMsPerDay;
  int64_t rem = t.ms % kMsPerDay;
  if (rem < 0) {
    rem += kMsPerDay;
    --days;
  }
  const Civil c = civil_from_days(days);
  const int hour = static_cast<int>(rem / kMsPerHour);
  const int minute = static_cast<int>(rem / kMsPerMinute % 60);
  const int second = static_cast<int>(rem / kMsPerSecond % 60);
  const int millis = static_cast<int>(rem % kMsPerSecond);
  // Years outside 0000-9999 (only from arithmetic far from the present) get a sign.
  const long long year = static_cast<long long>(c.year);
  size_t n = 0;
  if (year < 0 || year > 9999) {
    n = static_cast<size_t>(std::snprintf(buf, kTimestampMax, "%s%04lld-%02d-%02dT%02d:%02d:%02d",
                                          year < 0 ? "-" : "", year < 0 ? -year : year, c.month,
                                          c.day, hour, minute, second));
  } else {
    // The common case by hand: this runs for every case event written.
    auto two = [](char* p, int v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    const int y = static_cast<int>(year);
    buf[0] = static_cast<char>('0' + y / 1000);
    buf[1] = static_cast<char>('0' + y / 100 % 10);
    two(buf + 2, y % 100);
    buf[4] = '-';
    two(buf + 5, static_cast<int>(c.month));
    buf[7] = '-';
    two(buf + 8, static_cast<int>(c.day));
    buf[10] = 'T';
    two(buf + 11, hour);
    buf[13] = ':';
    two(buf + 14, minute);
    buf[16] = ':';
    two(buf + 17, second);
    n = 19;
  }
  if (millis != 0) {
    buf[n++] = '.';
    buf[n++] = static_cast<char>('0' + millis / 100);
    buf[n++] = static_cast<char>('0' + millis / 10 % 10);
    buf[n++] = static_cast<char>('0' + millis % 10);
    while (buf[n - 1] == '0') --n;
  }
  buf[n++] = 'Z';
  std::memcpy(last_text, buf, n);
  last_size = n;
  last_ms = t.ms;
  return n;
}

void append_timestamp(std::string& out, Timestamp t) {
  char buf[kTimestampMax];
  out.append(buf, write_timestamp(buf, t));
}

Result<Duration> parse_duration(std::string_view text) {
  static const std::string kShape =
      "expected an integer with a unit d, h, m or s, e.g. 90s, 15m, 24h, 7d, 1d12h";
  if (text.empty()) return duration_error(text, "empty; " + kShape);
  static constexpr char kUnits[4] = {'d', 'h', 'm', 's'};
  static constexpr int64_t kUnitMs[4] = {kMsPerDay, kMsPerHour, kMsPerMinute, kMsPerSecond};
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  size_t i = 0;
  int next_unit = 0;  // units already used are those before this index
  int64_t total = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return duration_error(text, kShape);
    int64_t amount = 0;
    bool too_large = false;
    while (i < text.size() && is_digit(text[i])) {
      const int digit = text[i] - '0';
      if (amount > (kMax - digit) / 10) too_large = true;
      if (!too_large) amount = amount * 10 + digit;
      ++i;
    }
    if (i == text.size()) return duration_error(text, "missing unit after the number; " + kShape);
    const char u = text[i];
    int unit = -1;
    for (int k = 0; k < 4; ++k) {
      if (kUnits[k] == u) unit = k;
    }
    if (unit < 0) {
      return duration_error(text, std::string("unknown unit '") + u + "'; " + kShape);
    }
    if (unit < next_unit) {
      return duration_error(text, "units must appear at most once each, in the order d h m s");
    }
    next_unit = unit + 1;
    ++i;
    if (too_large || amount > (kMax - total) / kUnitMs[unit]) {
      return duration_error(text, "too large");
    }
    total += amount * kUnitMs[unit];
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  if (d.ms == 0) return "0s";
  // Work on the magnitude as unsigned so that the most negative value formats too.
  const bool negative = d.ms < 0;
  uint64_t rest = negative ? 0 - static_cast<uint64_t>(d.ms) : static_cast<uint64_t>(d.ms);
  const uint64_t days = rest / kMsPerDay;
  rest %= kMsPerDay;
  const uint64_t hours = rest / kMsPerHour;
  rest %= kMsPerHour;
  const uint64_t minutes = rest / kMsPerMinute;
  rest %= kMsPerMinute;
  const uint64_t seconds = rest / kMsPerSecond;
  const uint64_t millis = rest % kMsPerSecond;
  std::string out = negative ? "-" : "";
  if (days) out += std::to_string(days) + "d";
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (seconds || millis) {
    out += std::to_string(seconds);
    if (millis) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03u", static_cast<unsigned>(millis));
      std::string f = frac;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += 's';
  }
  return out;
}

}  // namespace gridcase
