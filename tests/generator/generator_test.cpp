#include "generator/generator.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/diagnostics.hpp"

namespace gridcase::gen {
namespace {

using nlohmann::json;

// A small county built by hand: the seat town with two communities, two pastoral townships.
Org small_org() {
  Org org;
  org.levels = {"grid", "village", "township", "county"};
  auto add = [&](std::string id, std::string name, int level, UnitIdx parent,
                 std::optional<int64_t> households = std::nullopt) {
    Unit u;
    u.id = std::move(id);
    u.name = std::move(name);
    u.level = level;
    u.parent = parent;
    u.households = households;
    org.units.push_back(std::move(u));
    return static_cast<UnitIdx>(org.units.size() - 1);
  };
  auto person = [&](std::string id, std::string name, std::string unit, std::string role) {
    Person p;
    p.id = std::move(id);
    p.name = std::move(name);
    p.unit = std::move(unit);
    p.role = std::move(role);
    org.people.push_back(std::move(p));
  };
  const UnitIdx county = add("zhiduo", "治多县", 3, kNoUnit);
  const UnitIdx seat = add("jiajiboluo", "加吉博洛镇", 2, county);
  int worker = 0;
  auto next_worker = [&] {
    char buf[16];
    std::snprintf(buf, sizeof buf, "w-%04d", ++worker);
    return std::string(buf);
  };
  for (int c = 1; c <= 2; ++c) {
    const std::string cid = "jjbl-c" + std::to_string(c);
    const UnitIdx comm = add(cid, "社区", 1, seat);
    person("s-010" + std::to_string(c), "扎西", cid, "community_officer");
    for (int g = 1; g <= 3; ++g) {
      const std::string gid = cid + "-g0" + std::to_string(g);
      add(gid, "网格", 0, comm, 80 + 40 * g);
      person(next_worker(), "才仁", gid, "grid_worker");
    }
  }
  person("s-0201", "多杰", "jiajiboluo", "township_officer");
  const UnitIdx duocai = add("duocai", "多彩乡", 2, county);
  const UnitIdx dcv1 = add("dc-v1", "当江荣村", 1, duocai);
  add("dc-v1-g01", "当江荣一网格", 0, dcv1, 90);
  add("dc-v1-g02", "当江荣二网格", 0, dcv1);  // no households given, no worker
  person(next_worker(), "卓玛", "dc-v1-g01", "grid_worker");
  person("s-0301", "拉毛", "dc-v1", "village_officer");
  person("s-0202", "索南", "duocai", "township_officer");
  const UnitIdx zhahe = add("zhahe", "扎河乡", 2, county);
  const UnitIdx zhv1 = add("zh-v1", "大旺村", 1, zhahe);  // nobody in the village
  add("zh-v1-g01", "大旺一网格", 0, zhv1, 60);
  person(next_worker(), "尼玛", "zh-v1-g01", "grid_worker");
  person("c-0001", "央金", "zhiduo", "county_officer");
  person("admin-0001", "管理员", "zhiduo", "admin");
  org.index();
  return org;
}

std::string run(const Org& org, const Options& opt) {
  std::ostringstream out;
  generate(org, opt, out);
  return out.str();
}

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) v.push_back(json::parse(line));  // throws on bad JSON
  return v;
}

std::set<std::string> grid_ids(const Org& org) {
  std::set<std::string> s;
  for (UnitIdx g : org.grids()) s.insert(org.units[static_cast<size_t>(g)].id);
  return s;
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherBytes) {
  const Org org = small_org();
  Options opt;
  opt.events = 3000;
  const std::string a = run(org, opt);
  EXPECT_EQ(a, run(org, opt));
  opt.seed = 2;
  EXPECT_NE(a, run(org, opt));
}

TEST(Generator, WritesExactlyTheRequestedLines) {
  const Org org = small_org();
  Options opt;
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    opt.events = n;
    EXPECT_EQ(lines_of(run(org, opt)).size(), static_cast<size_t>(n));
  }
}

TEST(Generator, EveryLineIsAValidInputEvent) {
  const Org org = small_org();
  const auto grids = grid_ids(org);
  std::set<std::string> known_categories;
  for (const auto& c : categories()) known_categories.insert(std::string(c.name));
  Options opt;
  opt.events = 20000;
  std::set<std::string> report_ids, action_ids;
  for (const json& j : lines_of(run(org, opt))) {
    ASSERT_TRUE(j.is_object());
    ASSERT_TRUE(j.contains("at") && j["at"].is_string());
    const std::string type = j.at("type");
    if (type == "report") {
      const json& r = j.at("report");
      ASSERT_TRUE(r.at("report_id").is_string());
      ASSERT_TRUE(r.at("grid").is_string());
      ASSERT_TRUE(r.at("category").is_string());
      EXPECT_TRUE(report_ids.insert(r["report_id"]).second) << r;
      EXPECT_TRUE(grids.contains(r["grid"])) << r;
      EXPECT_TRUE(known_categories.contains(r["category"])) << r;
      ASSERT_TRUE(r.at("severity").is_number_integer());
      EXPECT_GE(r["severity"].get<int>(), 1);
      EXPECT_LE(r["severity"].get<int>(), 5);
      if (r.contains("reporter")) {
        EXPECT_NE(org.find_person(r["reporter"].get<std::string>()), nullptr);
      }
      if (r.contains("household")) {
        EXPECT_TRUE(r["household"].get<std::string>().starts_with("h-"));
      }
    } else {
      ASSERT_EQ(type, "action");
      ASSERT_TRUE(j.at("case_id").is_string());
      ASSERT_TRUE(j.at("grid").is_string());
      ASSERT_TRUE(j.at("actor").is_string());
      const std::string action = j.at("action");
      EXPECT_TRUE(action != "opened" && action != "report" && action != "sla_warning" &&
                  action != "sla_expired");
      EXPECT_TRUE(action_ids.insert(j.at("action_id")).second) << j;
      // An actor not in `people` carries a unit of the tree instead.
      if (org.find_person(j["actor"].get<std::string>()) == nullptr) {
        ASSERT_TRUE(j.contains("actor_unit")) << j;
        EXPECT_NE(org.find_unit(j["actor_unit"].get<std::string>()), kNoUnit);
      }
    }
  }
}

TEST(Generator, TimesNeverGoBackwards) {
  const Org org = small_org();
  Options opt;
  opt.events = 20000;
  std::string last;
  for (const json& j : lines_of(run(org, opt))) {
    const std::string at = j["at"];
    ASSERT_EQ(at.size(), 20u) << at;  // whole seconds, UTC: equal widths order as text
    EXPECT_LE(last, at);
    last = at;
  }
  EXPECT_EQ(lines_of(run(org, opt)).front()["at"], "2026-06-01T00:00:00Z");
}

// Actions name a case that an earlier report of the same grid surely opened: no report
// with the same grid, category and household in the three days before it (the widest
// correlation window), and never a report that was itself a repeat.
TEST(Generator, ActionsReferToCasesOpenedEarlierInTheSameGrid) {
  const Org org = small_org();
  Options opt;
  opt.events = 30000;
  struct Seen {
    std::string grid;
    bool fresh;
  };
  std::unordered_map<std::string, Seen> reports;
  std::map<std::string, std::string> last_key_use;  // key -> time of the last report with it
  size_t actions = 0, repeats = 0;
  for (const json& j : lines_of(run(org, opt))) {
    if (j["type"] == "report") {
      const json& r = j["report"];
      bool fresh = true;
      if (r.contains("household")) {
        const std::string key = r["grid"].get<std::string>() + "|" +
                                r["category"].get<std::string>() + "|" +
                                r["household"].get<std::string>();
        auto it = last_key_use.find(key);
        // Times are whole-second UTC strings; compare by parsing to epoch seconds.
        if (it != last_key_use.end()) {
          const auto t0 = parse_timestamp(it->second);
          const auto t1 = parse_timestamp(j["at"].get<std::string>());
          ASSERT_TRUE(t0.ok() && t1.ok());
          if ((t1->ms - t0->ms) <= 73LL * 3600 * 1000) fresh = false;
        }
        last_key_use[key] = j["at"];
      }
      if (!fresh) ++repeats;
      reports.emplace(r["report_id"], Seen{r["grid"], fresh});
    } else {
      ++actions;
      auto it = reports.find(j["case_id"]);
      ASSERT_NE(it, reports.end()) << j;
      EXPECT_EQ(it->second.grid, j["grid"]) << j;
      EXPECT_TRUE(it->second.fresh) << j;
    }
  }
  EXPECT_GT(actions, 10000u);
  EXPECT_GT(repeats, 50u);  // deliberate repeats exist (and are never acted on)
}

TEST(Generator, ActionShareIsRoughlyAsAsked) {
  const Org org = small_org();
  for (double share : {0.0, 0.3, 0.5, 0.8}) {
    Options opt;
    opt.events = 20000;
    opt.action_share = share;
    size_t actions = 0;
    const auto lines = lines_of(run(org, opt));
    for (const json& j : lines) actions += j["type"] == "action";
    EXPECT_NEAR(static_cast<double>(actions) / static_cast<double>(lines.size()), share, 0.05)
        << share;
  }
}

TEST(Generator, FloodWeekBurstsFloodReports) {
  const Org org = small_org();
  Options opt;
  opt.events = 20000;  // about three weeks from 1 June; the flood week is 8-14 June
  std::map<std::string, int> per_day, flood_per_day;
  for (const json& j : lines_of(run(org, opt))) {
    if (j["type"] != "report") continue;
    const std::string day = j["at"].get<std::string>().substr(0, 10);
    ++per_day[day];
    const std::string cat = j["report"]["category"];
    if (cat == "flood" || cat == "flood_prevention") ++flood_per_day[day];
  }
  double in_week = 0, outside = 0;
  int days_in = 0, days_out = 0;
  // Skip the last (partial) day.
  per_day.erase(std::prev(per_day.end()));
  for (const auto& [day, n] : per_day) {
    (void)n;
    const bool week = day >= "2026-06-08" && day <= "2026-06-14";
    (week ? in_week : outside) += flood_per_day[day];
    ++(week ? days_in : days_out);
  }
  ASSERT_EQ(days_in, 7);
  ASSERT_GT(days_out, 3);
  EXPECT_GT(in_week / days_in, 5 * (outside / days_out + 1));

  opt.flood_week = false;
  int flood_reports = 0;
  for (const json& j : lines_of(run(org, opt))) {
    if (j["type"] == "report" && j["report"]["category"] == "flood") ++flood_reports;
  }
  EXPECT_LT(flood_reports, in_week / 5);
}

TEST(Generator, HukouTownshipOnlyOnPolicyMattersOfTheSeat) {
  const Org org = small_org();
  Options opt;
  opt.events = 20000;
  int with_hukou = 0;
  for (const json& j : lines_of(run(org, opt))) {
    if (j["type"] != "report" || !j["report"].contains("hukou_township")) continue;
    const json& r = j["report"];
    ++with_hukou;
    const std::string cat = r["category"];
    EXPECT_TRUE(cat == "policy_subsidy" || cat == "ecological_compensation" ||
                cat == "hukou_paperwork");
    EXPECT_TRUE(r["grid"].get<std::string>().starts_with("jjbl-"));
    const UnitIdx t = org.find_unit(r["hukou_township"].get<std::string>());
    ASSERT_NE(t, kNoUnit);
    EXPECT_EQ(org.units[static_cast<size_t>(t)].level, 2);
    EXPECT_NE(r["hukou_township"], "jiajiboluo");
  }
  EXPECT_GT(with_hukou, 100);
}

TEST(Generator, CategoriesMapToTheThreeWorkflows) {
  std::map<Flow, int> count;
  for (const auto& c : categories()) ++count[c.flow];
  EXPECT_EQ(count[Flow::Emergency], 4);
  EXPECT_EQ(count[Flow::RelocatedHerders], 3);
  EXPECT_GE(count[Flow::GridEscalation], 13);
}

TEST(Generator, ATinyPoolStillGivesValidActions) {
  const Org org = small_org();
  Options opt;
  opt.events = 5000;
  opt.max_open_cases = 4;
  std::set<std::string> reports;
  for (const json& j : lines_of(run(org, opt))) {
    if (j["type"] == "report") {
      reports.insert(j["report"]["report_id"].get<std::string>());
    } else {
      EXPECT_TRUE(reports.contains(j["case_id"].get<std::string>()));
    }
  }
}

TEST(Generator, OddOptionsStillGiveAValidStream) {
  const Org org = small_org();
  Options opt;
  opt.events = 2000;
  opt.action_share = 1.5;             // clamped to 0.9
  opt.reports_per_household_day = 0;  // falls back to the default rate
  opt.flood_factor = 0;
  opt.start = *parse_timestamp("2026-01-15T03:04:05.25Z");
  std::string last;
  int64_t last_ms = 0;
  size_t n = 0;
  for (const json& j : lines_of(run(org, opt))) {
    ++n;
    const auto t = parse_timestamp(j["at"].get<std::string>());
    ASSERT_TRUE(t.ok()) << j["at"];
    EXPECT_LE(last_ms, t->ms);
    last_ms = t->ms;
    if (n == 1) {
      EXPECT_EQ(j["at"], "2026-01-15T03:04:05.25Z");
    }
  }
  EXPECT_EQ(n, 2000u);
}

TEST(Generator, ShippedSampleOrg) {
  Diagnostics diags;
  const auto org = load_org_file(std::string(GRIDCASE_SOURCE_DIR) + "/config/org.yaml", diags);
  for (const auto& d : diags.all()) ADD_FAILURE() << d.format();
  ASSERT_TRUE(org.has_value());
  const UnitIdx seat = org->find_unit("jiajiboluo");
  ASSERT_NE(seat, kNoUnit);
  EXPECT_EQ(org->units[static_cast<size_t>(seat)].children.size(), 6u);
  int seat_grids = 0;
  std::set<std::string> with_worker;
  for (const auto& p : org->people) {
    if (p.role == "grid_worker") with_worker.insert(p.unit);
  }
  for (UnitIdx g : org->grids()) {
    seat_grids += org->in_subtree(g, seat);
    EXPECT_TRUE(with_worker.contains(org->units[static_cast<size_t>(g)].id));
  }
  EXPECT_EQ(seat_grids, 41);
  for (const char* id : {"jjbl-c1", "jjbl-c1-g01", "jjbl-c1-g02", "duocai", "dc-v1", "dc-v1-g01"}) {
    EXPECT_NE(org->find_unit(id), kNoUnit) << id;
  }
  for (const char* id : {"w-0001", "w-0002", "s-0101", "s-0201"}) {
    EXPECT_NE(org->find_person(id), nullptr) << id;
  }
  Options opt;
  opt.events = 5000;
  const auto grids = grid_ids(*org);
  for (const json& j : lines_of(run(*org, opt))) {
    if (j["type"] == "report") {
      EXPECT_TRUE(grids.contains(j["report"]["grid"]));
    }
  }
}

}  // namespace
}  // namespace gridcase::gen
