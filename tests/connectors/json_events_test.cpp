// Input events as the engine reads them (parse_input_event, simdjson): values and their
// types, a repeated key, the defaults, and errors that say what and where.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "connectors/json_events.hpp"
#include "engine/org.hpp"

namespace gridcase::json {
namespace {

Org test_org() {
  Diagnostics d;
  auto org = load_org_text(R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village]
units:
  - id: v1
    name: 一村
    level: village
    children:
      - { id: g1, name: 一网格, level: grid }
people:
  - { id: w1, name: 才仁, unit: g1, role: grid_worker }
)",
                           "org.yaml", d);
  if (!org) ADD_FAILURE() << "org";
  return std::move(*org);
}

TEST(InputEvent, AReportKeepsItsValuesAndTheLastOfARepeatedKey) {
  Org org = test_org();
  auto ev = parse_input_event(
      R"({"type":"report","at":"2026-06-12T08:30:00+08:00","report":{"report_id":"r-1",)"
      R"("grid":"g1","category":"road","title":"先","title":"后","households_affected":3,)"
      R"("big":18446744073709551615,"ratio":0.5,"flags":[true,null,"x"],"data":{"k":{"n":-2}}}})",
      org);
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->type, InputEvent::Type::Report);
  EXPECT_EQ(ev->report_id, "r-1");
  EXPECT_EQ(ev->grid, "g1");
  EXPECT_EQ(ev->category, "road");
  const Map& r = ev->report.as_map();
  EXPECT_EQ(r.at("title").as_string(), "后");
  EXPECT_EQ(r.at("severity").as_int(), 1);  // absent: 1
  EXPECT_EQ(r.at("households_affected").as_int(), 3);
  EXPECT_DOUBLE_EQ(r.at("big").as_double(), 18446744073709551615.0);  // past int64: a double
  EXPECT_DOUBLE_EQ(r.at("ratio").as_double(), 0.5);
  ASSERT_EQ(r.at("flags").as_list().size(), 3u);
  EXPECT_TRUE(r.at("flags").as_list()[1].is_null());
  EXPECT_EQ(r.at("data").as_map().at("k").as_map().at("n").as_int(), -2);
}

TEST(InputEvent, AnActionTakesItsOptionalFields) {
  Org org = test_org();
  auto ev = parse_input_event(
      R"({"type":"action","at":"2026-06-12T09:00:00Z","case_id":"r-1","action":"accept",)"
      R"("grid":"g1","actor":"w1","note":null,"data":{"x":1}})",
      org);
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->type, InputEvent::Type::Action);
  EXPECT_EQ(ev->case_id, "r-1");
  EXPECT_EQ(ev->action, "accept");
  EXPECT_EQ(ev->grid, "g1");
  EXPECT_EQ(ev->actor.as_string(), "w1");
  EXPECT_TRUE(ev->actor_unit.is_null());
  EXPECT_TRUE(ev->note.is_null());
  EXPECT_EQ(ev->data.as_map().at("x").as_int(), 1);
}

TEST(InputEvent, ErrorsSayWhatAndWhere) {
  Org org = test_org();
  auto error = [&](const std::string& text) {
    auto ev = parse_input_event(text, org);
    EXPECT_FALSE(ev.ok()) << text;
    return ev.ok() ? std::string() : ev.error().message;
  };
  EXPECT_NE(error("{this line is not JSON").find("invalid JSON: parse error at line 1, column 3"),
            std::string::npos);
  EXPECT_EQ(error("[1]"), "an input event must be a JSON object, got a list");
  EXPECT_EQ(error(R"({"type":"report","at":"2026-06-12T08:30:00Z"})"),
            "missing required field 'report'");
  EXPECT_EQ(error(R"({"type":"report","at":"2026-06-12T08:30:00Z","report":{"report_id":"r",)"
                  R"("grid":"g1","category":"x","severity":"2"}})"),
            "field 'report.severity' must be an integer from 1 to 5, got \"2\"");
  EXPECT_EQ(error(R"({"type":"report","at":"2026-06-12T08:30:00Z","report":{"report_id":"r",)"
                  R"("grid":"v1","category":"x"}})"),
            "'v1' is a village, not a grid (report.grid must be at the lowest level)");
  EXPECT_EQ(error(R"({"type":"action","at":"2026-06-12T08:30:00Z","case_id":"c","action":7})"),
            "field 'action' must be a string, got a number");
}

// Every string written reads back as itself, whatever it holds: characters that need an
// escape (anywhere in an eight-byte word, at its edges, one after another), Chinese text,
// every length around the eight-byte steps. The escapes are the short ones where JSON has
// them, else \u00XX.
TEST(AppendJsonString, EveryStringReadsBackAsItself) {
  EXPECT_EQ(
      [] {
        std::string out;
        append_json_string(out, "a\"b\\c\nd\re\tf\x01\x1f");
        return out;
      }(),
      "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001\\u001f\"");
  const std::string alphabet[] = {"a",    "Z",    " ",    "~",  "\"", "\\", "\n",
                                  "\x01", "\x1f", "\x7f", "网", "格", "/"};
  std::mt19937 rng(42);
  for (int round = 0; round < 5000; ++round) {
    std::string s;
    const size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % std::size(alphabet)];
    std::string out = "x";  // appended after what is there
    append_json_string(out, s);
    ASSERT_EQ(out[0], 'x');
    auto back = nlohmann::json::parse(out.substr(1), nullptr, false);
    ASSERT_FALSE(back.is_discarded()) << out;
    ASSERT_EQ(back.get<std::string>(), s) << out;
  }
}

// A case event line reads back as the event, in the contract's field order, whatever its
// strings hold and however long they are (past the line's buffer, escapes among them).
TEST(CaseEventLine, ReadsBackAsTheEventWhateverItsStringsHold) {
  const std::string alphabet[] = {"a", "Z", " ", "\"", "\\", "\n", "\x01", "网", "格"};
  std::mt19937 rng(7);
  auto text = [&](size_t max) {
    std::string s;
    const size_t n = rng() % max;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % std::size(alphabet)];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    CaseEvent e;
    e.case_id = text(round % 3 == 0 ? 900 : 20);
    e.seq = static_cast<int64_t>(rng() % 100000) - (round == 1 ? 100000 : 0);
    e.type = "transition";
    e.at = Timestamp{static_cast<int64_t>(rng()) * 1000 + round};
    e.workflow = round == 2 ? std::string(600, 'w') : text(30);  // plain, past the buffer
    e.state = text(12);
    e.level = "grid";
    e.unit = text(round % 5 == 0 ? 700 : 12);
    e.trigger = text(8);
    e.extra = {{"note", Value(text(300))},
               {"count", Value(int64_t{round} - 5)},
               {"due", Value(Timestamp{1700000000000 + round})},
               {"none", Value()},
               {"flag", Value(true)},
               {"list", Value(List{Value("x"), Value(int64_t{1})})}};
    const std::string line = case_event_line(e);
    auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"case_id", "seq", "type", "at", "workflow", "state",
                                              "level", "unit", "trigger", "note", "count", "due",
                                              "none", "flag", "list"}));
    EXPECT_EQ(j["case_id"], e.case_id);
    EXPECT_EQ(j["seq"], e.seq);
    EXPECT_EQ(j["at"], format_timestamp(e.at));
    EXPECT_EQ(j["workflow"], e.workflow);
    EXPECT_EQ(j["state"], e.state);
    EXPECT_EQ(j["unit"], e.unit);
    EXPECT_EQ(j["trigger"], e.trigger);
    EXPECT_EQ(j["note"], e.extra[0].second.as_string());
    EXPECT_EQ(j["count"], round - 5);
    EXPECT_EQ(j["due"], format_timestamp(Timestamp{1700000000000 + round}));
    EXPECT_TRUE(j["none"].is_null());
    EXPECT_EQ(j["flag"], true);
    EXPECT_EQ(j["list"].dump(), R"(["x",1])");
  }
}

}  // namespace
}  // namespace gridcase::json
