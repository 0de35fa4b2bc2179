// Working-time calendars and working-time SLAs (docs/lifecycle.md): deadline arithmetic
// across lunch breaks, weekends, public holidays and make-up working days, the loader's
// located errors, and the engine scheduling a working-time deadline.
#include "engine/calendar.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/engine.hpp"
#include "engine/workflow.hpp"
#include "tests/fixtures/contract_example.hpp"

namespace gridcase {
namespace {

namespace fs = std::filesystem;

// The shipped 2026 calendar (China's 2026 holidays and make-up days).
Calendar shipped() {
  Diagnostics d;
  auto c = load_calendar_file(GRIDCASE_SOURCE_DIR "/config/calendar-2026.yaml", d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  return c ? *c : Calendar{};
}

Timestamp at(const char* local) {  // local Beijing time, "2026-06-08T09:00"
  auto t = parse_timestamp(std::string(local) + ":00+08:00");
  EXPECT_TRUE(t.ok()) << local;
  return t.ok() ? *t : Timestamp{};
}

std::string local(Timestamp t) {  // back to Beijing time, for readable failures
  Timestamp shifted = t + Duration{8 * 3600 * 1000};
  std::string s = format_timestamp(shifted);
  return s.substr(0, 16);
}

constexpr Duration hours(int64_t h) {
  return {h * 3600 * 1000};
}
constexpr Duration minutes(int64_t m) {
  return {m * 60 * 1000};
}

TEST(Calendar, ShippedCalendarLoads) {
  Calendar c = shipped();
  EXPECT_EQ(c.name, "cn-2026");
  EXPECT_EQ(c.day_ms(), hours(7).ms);  // 08:30-12:00 and 14:30-18:00
  EXPECT_EQ(c.holidays.size(), 3u + 9 + 3 + 5 + 3 + 3 + 7);
  EXPECT_EQ(c.workdays.size(), 6u);
}

TEST(Calendar, WorkingDays) {
  Calendar c = shipped();
  auto day = [](const char* d) { return *parse_local_date(d); };
  EXPECT_TRUE(c.is_working_day(day("2026-06-08")));   // Monday
  EXPECT_FALSE(c.is_working_day(day("2026-06-13")));  // Saturday
  EXPECT_FALSE(c.is_working_day(day("2026-06-14")));  // Sunday
  EXPECT_FALSE(c.is_working_day(day("2026-06-19")));  // 端午节, a Friday
  EXPECT_TRUE(c.is_working_day(day("2026-02-14")));   // 调休: a Saturday that is worked
  EXPECT_TRUE(c.is_working_day(day("2026-01-04")));   // 调休: a Sunday that is worked
  EXPECT_FALSE(c.is_working_day(day("2026-10-07")));  // 国庆节, a Wednesday
}

TEST(Calendar, WithinOneMorning) {
  Calendar c = shipped();
  EXPECT_EQ(local(c.add(at("2026-06-08T09:00"), hours(2))), "2026-06-08T11:00");
}

TEST(Calendar, SkipsTheLunchBreak) {
  Calendar c = shipped();
  EXPECT_EQ(local(c.add(at("2026-06-08T11:00"), hours(2))), "2026-06-08T15:30");
  // Started during the break: the clock starts when work resumes.
  EXPECT_EQ(local(c.add(at("2026-06-08T12:30"), minutes(30))), "2026-06-08T15:00");
  // Started before opening.
  EXPECT_EQ(local(c.add(at("2026-06-08T06:00"), minutes(30))), "2026-06-08T09:00");
}

TEST(Calendar, DueExactlyAtCloseOfDay) {
  Calendar c = shipped();
  // Using the period up exactly at closing time: due at 18:00, not next morning.
  EXPECT_EQ(local(c.add(at("2026-06-12T16:00"), hours(2))), "2026-06-12T18:00");
  // ... and at the start of the lunch break.
  EXPECT_EQ(local(c.add(at("2026-06-08T11:00"), hours(1))), "2026-06-08T12:00");
  // One minute more goes to the next working morning.
  EXPECT_EQ(local(c.add(at("2026-06-12T16:00"), Duration{hours(2).ms + minutes(1).ms})),
            "2026-06-15T08:31");
  // Starting exactly at closing time counts nothing that day.
  EXPECT_EQ(local(c.add(at("2026-06-08T18:00"), minutes(1))), "2026-06-09T08:31");
  // A full working day from opening ends at closing the same day.
  EXPECT_EQ(local(c.add(at("2026-06-08T08:30"), hours(7))), "2026-06-08T18:00");
}

TEST(Calendar, AcrossAWeekend) {
  Calendar c = shipped();
  // Friday 16:00 + 4 working hours: 2 on Friday, 2 on Monday morning.
  EXPECT_EQ(local(c.add(at("2026-06-12T16:00"), hours(4))), "2026-06-15T10:30");
  // Reported on Saturday: the clock starts Monday 08:30.
  EXPECT_EQ(local(c.add(at("2026-06-13T10:00"), hours(1))), "2026-06-15T09:30");
}

TEST(Calendar, AcrossAHoliday) {
  Calendar c = shipped();
  // Thursday 17:00 before 端午节 (Fri 19 - Sun 21 June): 1 h Thursday, 1 h Monday 22nd.
  EXPECT_EQ(local(c.add(at("2026-06-18T17:00"), hours(2))), "2026-06-22T09:30");
  // 国庆节 (1-7 October, Thursday to Wednesday); Saturday 10th is a make-up working day.
  EXPECT_EQ(local(c.add(at("2026-09-30T17:00"), hours(2))), "2026-10-08T09:30");
}

TEST(Calendar, MakeUpWorkingDays) {
  Calendar c = shipped();
  // Friday 13 February 17:00 + 2 h: 1 h Friday, then Saturday 14th is worked (调休).
  EXPECT_EQ(local(c.add(at("2026-02-13T17:00"), hours(2))), "2026-02-14T09:30");
  // Saturday 14th 17:00 + one working day (7 h): 1 h that day, then the Spring Festival
  // (15-23 February), then 6 h on Tuesday 24th.
  EXPECT_EQ(local(c.add(at("2026-02-14T17:00"), hours(7))), "2026-02-24T17:00");
  // New Year: 1-3 January off, Sunday 4th worked.
  EXPECT_EQ(local(c.add(at("2026-01-02T10:00"), hours(1))), "2026-01-04T09:30");
  // A make-up Saturday followed by a normal Sunday: Saturday 28 February 17:00 + 2 h.
  EXPECT_EQ(local(c.add(at("2026-02-28T17:00"), hours(2))), "2026-03-02T09:30");
}

TEST(Calendar, Between) {
  Calendar c = shipped();
  EXPECT_EQ(c.between(at("2026-06-12T16:00"), at("2026-06-15T10:30")).ms, hours(4).ms);
  EXPECT_EQ(c.between(at("2026-06-13T00:00"), at("2026-06-14T23:00")).ms, 0);
  EXPECT_EQ(c.between(at("2026-06-08T10:00"), at("2026-06-08T09:00")).ms, 0);
}

std::vector<std::string> errors_of(const char* text) {
  Diagnostics d;
  auto c = load_calendar_text(text, "cal.yaml", d);
  std::vector<std::string> out;
  for (const auto& x : d.all()) out.push_back(x.format());
  EXPECT_FALSE(c);
  return out;
}

TEST(CalendarLoad, LocatedErrors) {
  auto e = errors_of(R"(apiVersion: gridcase/v1
kind: Calendar
name: bad
hours: ["08:30-12:00", "11:00-18:00", "9-10"]
weekend: [saturday, sundae]
holidays:
  - 2026-02-30
  - { from: 2026-05-05, to: 2026-05-01 }
  - 2026-10-01
workdays: [2026-10-01]
colour: red
)");
  auto has = [&](const std::string& prefix) {
    for (const auto& s : e) {
      if (s.rfind(prefix, 0) == 0) return true;
    }
    ADD_FAILURE() << "no diagnostic starting with " << prefix;
    return false;
  };
  has("cal.yaml:11:1: error: unknown key 'colour'");
  has("cal.yaml:4:24: error: working hours '11:00-18:00' overlap");
  has("cal.yaml:4:39: error: working hours '9-10' must be HH:MM-HH:MM");
  has("cal.yaml:5:21: error: unknown weekday 'sundae'");
  has("cal.yaml:7:5: error: holidays: '2026-02-30' is not a date");
  has("cal.yaml:8:5: error: from must not be after to");
  has("cal.yaml:10:12: error: a make-up working day is also listed as a holiday");
}

TEST(CalendarLoad, TimezoneAndDefaults) {
  Diagnostics d;
  auto c = load_calendar_text(R"(apiVersion: gridcase/v1
kind: Calendar
name: utc
timezone: "+05:30"
hours: ["09:00-17:00"]
)",
                              "c.yaml", d);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->utc_offset_ms, (5 * 60 + 30) * 60 * 1000);
  // Default weekend: Saturday and Sunday. Monday 2026-06-08 16:00 local = 10:30Z.
  Timestamp t = *parse_timestamp("2026-06-12T10:30:00Z");                    // Friday 16:00 +05:30
  EXPECT_EQ(format_timestamp(c->add(t, hours(2))), "2026-06-15T04:30:00Z");  // Monday 10:00
}

// ------------------------------------------------------------ working-time SLAs in workflows

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("gridcase-cal-" + std::to_string(::getpid()));
    fs::create_directories(path);
    fs::copy_file(GRIDCASE_SOURCE_DIR "/config/calendar-2026.yaml", path / "cal.yaml",
                  fs::copy_options::overwrite_existing);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string workflow_text(const std::string& calendar, const std::string& sla) {
  return "apiVersion: gridcase/v1\nkind: Workflow\nname: w\nlevels: [grid, village]\n" + calendar +
         "sla:\n" + sla +
         "sla_warning: 50%\ninitial: open\nstates:\n  open:\n    sla: true\n    on:\n"
         "      opened: {}\n      done: { goto: closed }\n      sla_expired: { level: up }\n"
         "  closed:\n    final: true\n";
}

TEST(WorkingSla, Syntax) {
  TempDir dir;
  std::string file = (dir.path / "w.yaml").string();
  Diagnostics d;
  auto wf = load_workflow_text(
      workflow_text("calendar: cal.yaml\n", "  grid: 4h working\n  village: 2 working days\n"),
      file, nullptr, d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  ASSERT_TRUE(wf);
  EXPECT_EQ(wf->sla_working[0]->ms, hours(4).ms);
  EXPECT_EQ(wf->sla[0]->ms, hours(4).ms);
  EXPECT_EQ(wf->sla_working[1]->ms, hours(14).ms);  // 2 x 7 h of working time
  EXPECT_EQ(wf->sla[1]->ms, hours(48).ms);          // read as wall-clock time: 2 x 24 h

  Diagnostics d2;
  auto wf2 = load_workflow_text(
      workflow_text("calendar: { file: cal.yaml, except: 'report.severity >= 5' }\n",
                    "  grid: 1d4h working\n  village: 48h\n"),
      file, nullptr, d2);
  for (const auto& x : d2.all()) ADD_FAILURE() << x.format();
  ASSERT_TRUE(wf2);
  EXPECT_EQ(wf2->sla_working[0]->ms, hours(11).ms);
  EXPECT_EQ(wf2->sla[0]->ms, hours(28).ms);
  EXPECT_FALSE(wf2->sla_working[1]);
  EXPECT_EQ(wf2->sla[1]->ms, hours(48).ms);
  EXPECT_TRUE(wf2->calendar_except);
}

TEST(WorkingSla, Errors) {
  TempDir dir;
  std::string file = (dir.path / "w.yaml").string();
  auto first_error = [&](const std::string& text) {
    Diagnostics d;
    EXPECT_FALSE(load_workflow_text(text, file, nullptr, d));
    for (const auto& x : d.all()) {
      if (x.severity == Diagnostic::Severity::Error) return x.format();
    }
    return std::string();
  };
  EXPECT_EQ(first_error(workflow_text("", "  grid: 4h working\n")),
            file +
                ":6:9: error: sla.grid: a working-time SLA needs a calendar (calendar: FILE at "
                "the top of the workflow)");
  EXPECT_EQ(first_error(workflow_text("calendar: nowhere.yaml\n", "  grid: 4h\n"))
                .rfind((dir.path / "nowhere.yaml").string() + ": error: cannot read file", 0),
            0u);
  EXPECT_EQ(first_error(workflow_text("calendar: cal.yaml\n", "  grid: 0h working\n")),
            file + ":7:9: error: sla.grid must be longer than zero");
  EXPECT_EQ(first_error(workflow_text("calendar: cal.yaml\n", "  grid: many working days\n")),
            file + ":7:9: error: sla.grid: expected a number of working days, like 2 working days");
  EXPECT_EQ(
      first_error(workflow_text("calendar: cal.yaml\n", "  grid: 99999999999999 working hours\n")),
      file + ":7:9: error: sla.grid: expected a number of working hours, like 4 working hours");
  {
    // A calendar that does not load is reported where it is named, once: no second error
    // at each working-time SLA.
    Diagnostics d;
    EXPECT_FALSE(load_workflow_text(
        workflow_text("calendar: nowhere.yaml\n", "  grid: 4h working\n"), file, nullptr, d));
    EXPECT_EQ(d.error_count(), 2);  // cannot read file; calendar could not be loaded
  }
  EXPECT_EQ(first_error(workflow_text("calendar: { path: cal.yaml }\n", "  grid: 4h\n"))
                .rfind(file + ":5:13: error: unknown key 'path'", 0),
            0u);
}

// The engine schedules the warning and the deadline in working time; `except` cases keep
// wall-clock deadlines.
TEST(WorkingSla, EngineSchedulesWorkingDeadlines) {
  TempDir dir;
  std::string file = (dir.path / "w.yaml").string();
  Diagnostics d;
  auto org = load_org_text(fixtures::kContractOrgYaml, "org.yaml", d);
  ASSERT_TRUE(org);
  auto wf = load_workflow_text(
      workflow_text("calendar: { file: cal.yaml, except: 'report.severity >= 5' }\n",
                    "  grid: 4h working\n  village: 48h\n"),
      file, &*org, d);
  for (const auto& x : d.all()) ADD_FAILURE() << x.format();
  ASSERT_TRUE(wf);
  std::vector<Workflow> wfs;
  wfs.push_back(std::move(*wf));
  Engine eng(std::make_shared<const Org>(std::move(*org)), std::move(wfs));
  std::string g;
  for (const Unit& u : eng.org().units) {
    if (u.level == 0) g = u.id;
  }
  ASSERT_FALSE(g.empty());
  auto open_at = [&](Timestamp now, int64_t severity) {
    InputEvent ev;
    ev.type = InputEvent::Type::Report;
    ev.at = now;
    ev.report_id = "r-1";
    ev.grid = g;
    ev.category = "road";
    Map m;
    m.emplace("report_id", Value("r-1"));
    m.emplace("grid", Value(g));
    m.emplace("category", Value("road"));
    m.emplace("severity", Value(severity));
    ev.report = Value(std::move(m));
    Case c;
    uint64_t seq = 0;
    StepResult out;
    eng.open(c, 0, ev, now, seq, {}, out);
    return c;
  };
  // Friday 16:00 before a normal weekend: warning at 2 working hours (Friday 18:00), due
  // Monday 10:30.
  Case c = open_at(at("2026-06-12T16:00"), 2);
  ASSERT_EQ(c.timers.size(), 2u);
  EXPECT_EQ(local(c.timers[0].due), "2026-06-12T18:00");
  EXPECT_EQ(local(c.timers[1].due), "2026-06-15T10:30");
  EXPECT_EQ(local(c.timers[1].sla_due), "2026-06-15T10:30");
  // Severity 5: calendar.except holds, wall-clock 4 h.
  Case e = open_at(at("2026-06-12T16:00"), 5);
  ASSERT_EQ(e.timers.size(), 2u);
  EXPECT_EQ(local(e.timers[0].due), "2026-06-12T18:00");
  EXPECT_EQ(local(e.timers[1].due), "2026-06-12T20:00");
}

}  // namespace
}  // namespace gridcase
