#include "engine/time.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace gridcase {
namespace {

int64_t ts(std::string_view text) {
  auto r = parse_timestamp(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r->ms : 0;
}

std::string ts_error(std::string_view text) {
  auto r = parse_timestamp(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r->ms : 0);
  return r.ok() ? "" : r.error().message;
}

int64_t dur(std::string_view text) {
  auto r = parse_duration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r->ms : 0;
}

std::string dur_error(std::string_view text) {
  auto r = parse_duration(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r->ms : 0);
  return r.ok() ? "" : r.error().message;
}

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

TEST(ParseTimestamp, Epoch) {
  EXPECT_EQ(ts("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ts("1970-01-02T00:00:00Z"), kDay);
  EXPECT_EQ(ts("1969-12-31T23:59:59Z"), -kSec);
}

TEST(ParseTimestamp, KnownInstants) {
  // 2026-06-12T08:00:00Z = 1781251200 s since the epoch.
  EXPECT_EQ(ts("2026-06-12T08:00:00Z"), int64_t{1781251200} * kSec);
  EXPECT_EQ(ts("2000-01-01T00:00:00Z"), int64_t{946684800} * kSec);
  EXPECT_EQ(ts("2000-02-29T00:00:00Z"), int64_t{951782400} * kSec);
  EXPECT_EQ(ts("2038-01-19T03:14:08Z"), int64_t{2147483648} * kSec);
  EXPECT_EQ(ts("1900-01-01T00:00:00Z"), int64_t{-2208988800} * kSec);
}

TEST(ParseTimestamp, LowercaseSeparators) {
  EXPECT_EQ(ts("2026-06-12t08:00:00z"), ts("2026-06-12T08:00:00Z"));
}

TEST(ParseTimestamp, OffsetsConvertToUtc) {
  EXPECT_EQ(ts("2026-06-12T08:30:00+08:00"), ts("2026-06-12T00:30:00Z"));
  EXPECT_EQ(ts("2026-06-12T08:30:00-05:30"), ts("2026-06-12T14:00:00Z"));
  EXPECT_EQ(ts("2026-01-01T02:00:00+08:00"), ts("2025-12-31T18:00:00Z"));
  EXPECT_EQ(ts("2026-06-12T08:30:00+00:00"), ts("2026-06-12T08:30:00Z"));
  EXPECT_EQ(ts("2026-06-12T08:30:00-00:00"), ts("2026-06-12T08:30:00Z"));
}

TEST(ParseTimestamp, FractionTruncatedToMilliseconds) {
  const int64_t base = ts("2026-06-12T08:30:00Z");
  EXPECT_EQ(ts("2026-06-12T08:30:00.5Z"), base + 500);
  EXPECT_EQ(ts("2026-06-12T08:30:00.05Z"), base + 50);
  EXPECT_EQ(ts("2026-06-12T08:30:00.123Z"), base + 123);
  EXPECT_EQ(ts("2026-06-12T08:30:00.1239Z"), base + 123);
  EXPECT_EQ(ts("2026-06-12T08:30:00.999999999Z"), base + 999);
  EXPECT_EQ(ts("2026-06-12T08:30:00.000Z"), base);
  EXPECT_EQ(ts("2026-06-12T08:30:00.5+01:00"), base + 500 - kHour);
}

TEST(ParseTimestamp, LeapYears) {
  EXPECT_EQ(ts("2024-02-29T00:00:00Z") + kDay, ts("2024-03-01T00:00:00Z"));
  EXPECT_EQ(ts("2000-02-29T12:00:00Z") + kDay, ts("2000-03-01T12:00:00Z"));
  EXPECT_NE(ts_error("2026-02-29T00:00:00Z"), "");
  EXPECT_NE(ts_error("1900-02-29T00:00:00Z"), "");
  EXPECT_NE(ts_error("2024-02-30T00:00:00Z"), "");
}

TEST(ParseTimestamp, DaysPerMonth) {
  const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int m = 1; m <= 12; ++m) {
    char ok[32], bad[32];
    std::snprintf(ok, sizeof ok, "2026-%02d-%02dT00:00:00Z", m, days[m - 1]);
    std::snprintf(bad, sizeof bad, "2026-%02d-%02dT00:00:00Z", m, days[m - 1] + 1);
    EXPECT_TRUE(parse_timestamp(ok).ok()) << ok;
    EXPECT_FALSE(parse_timestamp(bad).ok()) << bad;
  }
}

TEST(ParseTimestamp, RangeErrors) {
  EXPECT_NE(ts_error("2026-13-01T00:00:00Z").find("month 13 out of range"), std::string::npos);
  EXPECT_NE(ts_error("2026-00-01T00:00:00Z").find("month"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-31T00:00:00Z").find("day 31 out of range for 2026-04"),
            std::string::npos);
  EXPECT_NE(ts_error("2026-04-00T00:00:00Z").find("day"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-01T24:00:00Z").find("hour 24"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-01T00:60:00Z").find("minute 60"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-01T00:00:60Z").find("second 60"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-01T00:00:00+24:00").find("offset hour"), std::string::npos);
  EXPECT_NE(ts_error("2026-04-01T00:00:00+01:60").find("offset minute"), std::string::npos);
}

TEST(ParseTimestamp, ShapeErrors) {
  for (const char* bad : {"",
                          "2026",
                          "2026-06-12",
                          "2026-06-12T08:00Z",
                          "2026-06-12T08:00:00",
                          "2026-06-12 08:00:00Z",
                          "26-06-12T08:00:00Z",
                          "2026-6-12T08:00:00Z",
                          "2026-06-12T8:00:00Z",
                          "2026-06-12T08:00:00.Z",
                          "2026-06-12T08:00:00+0800",
                          "2026-06-12T08:00:00+08",
                          "2026-06-12T08:00:00ZZ",
                          "2026-06-12T08:00:00Z ",
                          " 2026-06-12T08:00:00Z",
                          "+2026-06-12T08:00:00Z",
                          "2026-06-12T08:00:00UTC",
                          "2026-06-12X08:00:00Z",
                          "2026/06/12T08:00:00Z",
                          "abcd-ef-ghTij:kl:mnZ"}) {
    const std::string msg = ts_error(bad);
    EXPECT_NE(msg.find("invalid timestamp"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(ParseTimestamp, ExtremeYears) {
  EXPECT_EQ(format_timestamp(Timestamp{ts("0000-01-01T00:00:00Z")}), "0000-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("9999-12-31T23:59:59.999Z")}),
            "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(ts("0000-03-01T00:00:00Z") - ts("0000-02-28T00:00:00Z"), 2 * kDay);  // leap year 0
}

TEST(FormatTimestamp, Basics) {
  EXPECT_EQ(format_timestamp(Timestamp{0}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-01T08:00:00Z")}), "2026-06-01T08:00:00Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-01T08:00:00Z") + 500}),
            "2026-06-01T08:00:00.5Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-01T08:00:00Z") + 50}),
            "2026-06-01T08:00:00.05Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-01T08:00:00Z") + 123}),
            "2026-06-01T08:00:00.123Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-01T08:00:00Z") + 120}),
            "2026-06-01T08:00:00.12Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("2026-06-12T08:30:00+08:00")}), "2026-06-12T00:30:00Z");
}

// append_timestamp writes after what is there, in either of its paths (years 0000-9999 by
// hand, others with a sign).
TEST(FormatTimestamp, AppendKeepsWhatIsThere) {
  std::string out = "at=";
  append_timestamp(out, Timestamp{ts("2026-06-01T08:00:00Z") + 500});
  EXPECT_EQ(out, "at=2026-06-01T08:00:00.5Z");
  const Timestamp far{ts("9999-12-31T23:59:59Z") + 2 * kDay};
  out = "at=";
  append_timestamp(out, far);
  EXPECT_EQ(out, "at=" + format_timestamp(far));
  EXPECT_EQ(out, "at=10000-01-02T23:59:59Z");
}

TEST(FormatTimestamp, BeforeEpoch) {
  EXPECT_EQ(format_timestamp(Timestamp{-1}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(Timestamp{-kDay}), "1969-12-31T00:00:00Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("1900-03-01T12:34:56.7Z")}), "1900-03-01T12:34:56.7Z");
}

TEST(FormatTimestamp, YearsBeforeZeroGetASign) {
  EXPECT_EQ(format_timestamp(Timestamp{ts("0000-01-01T00:00:00Z") - 1}),
            "-0001-12-31T23:59:59.999Z");
  EXPECT_EQ(format_timestamp(Timestamp{ts("0000-01-01T00:00:00+01:00")}), "-0001-12-31T23:00:00Z");
}

TEST(FormatTimestamp, ExtremesDoNotCrash) {
  EXPECT_FALSE(format_timestamp(Timestamp{std::numeric_limits<int64_t>::max()}).empty());
  EXPECT_FALSE(format_timestamp(Timestamp{std::numeric_limits<int64_t>::min()}).empty());
}

TEST(FormatTimestamp, RoundTripEveryDayOfSomeYears) {
  for (int64_t day = ts("1999-12-01T00:00:00Z") / kDay; day < ts("2001-03-01T00:00:00Z") / kDay;
       ++day) {
    const Timestamp t{day * kDay + 12 * kHour + 345};
    auto back = parse_timestamp(format_timestamp(t));
    ASSERT_TRUE(back.ok()) << format_timestamp(t);
    EXPECT_EQ(back->ms, t.ms);
  }
}

TEST(TimeArithmetic, Operators) {
  const Timestamp a{ts("2026-06-12T08:00:00Z")};
  const Timestamp b{ts("2026-06-13T08:00:00Z")};
  EXPECT_EQ((b - a).ms, kDay);
  EXPECT_EQ((a + Duration{kDay}).ms, b.ms);
  EXPECT_EQ((b - Duration{kDay}).ms, a.ms);
  EXPECT_LT(a, b);
  EXPECT_LT(Duration{1}, Duration{2});
}

TEST(ParseDuration, SingleUnits) {
  EXPECT_EQ(dur("90s"), 90 * kSec);
  EXPECT_EQ(dur("15m"), 15 * kMin);
  EXPECT_EQ(dur("24h"), 24 * kHour);
  EXPECT_EQ(dur("7d"), 7 * kDay);
  EXPECT_EQ(dur("0s"), 0);
  EXPECT_EQ(dur("0d"), 0);
  EXPECT_EQ(dur("007m"), 7 * kMin);
}

TEST(ParseDuration, Combined) {
  EXPECT_EQ(dur("1d12h"), kDay + 12 * kHour);
  EXPECT_EQ(dur("1h30m"), kHour + 30 * kMin);
  EXPECT_EQ(dur("1d2h3m4s"), kDay + 2 * kHour + 3 * kMin + 4 * kSec);
  EXPECT_EQ(dur("2d30s"), 2 * kDay + 30 * kSec);
  EXPECT_EQ(dur("100h"), 100 * kHour);
}

TEST(ParseDuration, Errors) {
  EXPECT_NE(dur_error("").find("empty"), std::string::npos);
  EXPECT_NE(dur_error("12").find("missing unit"), std::string::npos);
  EXPECT_NE(dur_error("12x").find("unknown unit 'x'"), std::string::npos);
  EXPECT_NE(dur_error("h").find("expected an integer"), std::string::npos);
  EXPECT_NE(dur_error("12h1d").find("order d h m s"), std::string::npos);
  EXPECT_NE(dur_error("1h1h").find("order d h m s"), std::string::npos);
  EXPECT_NE(dur_error("1s1m").find("order"), std::string::npos);
  for (const char* bad : {"-1h", "+1h", " 1h", "1h ", "1 h", "1.5h", "1H", "1D", "1ms", "1w",
                          "garbage", "1h-", "1d12", "h1", "1hh", "1_000s", "0x10s"}) {
    const std::string msg = dur_error(bad);
    EXPECT_NE(msg.find("invalid duration"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(ParseDuration, Overflow) {
  EXPECT_NE(dur_error("9223372036854775808s").find("too large"), std::string::npos);
  EXPECT_NE(dur_error("99999999999999999999999999d").find("too large"), std::string::npos);
  EXPECT_NE(dur_error("106751991167301d").find("too large"), std::string::npos);
  EXPECT_NE(dur_error("106751991167d23h47m16s").find("too large"), std::string::npos);
  EXPECT_NE(dur_error("9223372036854776s").find("too large"), std::string::npos);
  // The largest whole-second duration that fits.
  EXPECT_EQ(dur("9223372036854775s"), int64_t{9223372036854775} * kSec);
  EXPECT_EQ(dur("106751991167d"), int64_t{106751991167} * kDay);
}

TEST(FormatDuration, ShortestForm) {
  EXPECT_EQ(format_duration(Duration{0}), "0s");
  EXPECT_EQ(format_duration(Duration{90 * kSec}), "1m30s");
  EXPECT_EQ(format_duration(Duration{15 * kMin}), "15m");
  EXPECT_EQ(format_duration(Duration{24 * kHour}), "1d");
  EXPECT_EQ(format_duration(Duration{36 * kHour}), "1d12h");
  EXPECT_EQ(format_duration(Duration{7 * kDay}), "7d");
  EXPECT_EQ(format_duration(Duration{kDay + 4 * kSec}), "1d4s");
  EXPECT_EQ(format_duration(Duration{-2 * kHour}), "-2h");
  EXPECT_EQ(format_duration(Duration{-(kDay + kMin)}), "-1d1m");
}

TEST(FormatDuration, SubSecondAsFraction) {
  EXPECT_EQ(format_duration(Duration{500}), "0.5s");
  EXPECT_EQ(format_duration(Duration{1250}), "1.25s");
  EXPECT_EQ(format_duration(Duration{kHour + 1}), "1h0.001s");
  EXPECT_EQ(format_duration(Duration{-500}), "-0.5s");
}

TEST(FormatDuration, Extremes) {
  EXPECT_EQ(format_duration(Duration{std::numeric_limits<int64_t>::max()}),
            "106751991167d7h12m55.807s");
  EXPECT_EQ(format_duration(Duration{std::numeric_limits<int64_t>::min()}),
            "-106751991167d7h12m55.808s");
}

TEST(FormatDuration, RoundTrip) {
  for (const char* s : {"1s", "59s", "1m", "1h1s", "1d", "2d3h4m5s", "365d", "23h59m59s"}) {
    auto d = parse_duration(s);
    ASSERT_TRUE(d.ok()) << s;
    EXPECT_EQ(format_duration(*d), s);
  }
}

}  // namespace
}  // namespace gridcase
