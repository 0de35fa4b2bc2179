// The HTTP API's pure parts: router, OpenAPI document, UTF-8, report checks, CSV, SMS.
#include <gtest/gtest.h>

#include <set>

#include "connectors/http/api.hpp"
#include "connectors/http/openapi_doc.hpp"
#include "connectors/http/parsers.hpp"
#include "connectors/http/router.hpp"
#include "tests/http/support.hpp"

namespace gridcase::http {
namespace {

using nlohmann::json;

TEST(Router, MatchesTemplatesAndSaysWhatIsAllowed) {
  Router r(api_routes());
  auto m = r.match("GET", "/v1/cases/r-001");
  ASSERT_EQ(m.kind, Router::Match::Kind::Found);
  EXPECT_EQ(m.route->id, RouteId::Case);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "r-001"}));
  EXPECT_EQ(r.match("POST", "/v1/cases/a%20b/actions").params[0].second, "a b");
  EXPECT_EQ(r.match("POST", "/v1/reports/batch").route->id, RouteId::ReportsBatch);
  EXPECT_EQ(r.match("GET", "/v1/nothing").kind, Router::Match::Kind::NotFound);
  EXPECT_EQ(r.match("GET", "/v1/cases/").kind, Router::Match::Kind::NotFound);  // empty id
  auto wrong = r.match("DELETE", "/v1/reports");
  EXPECT_EQ(wrong.kind, Router::Match::Kind::MethodNotAllowed);
  EXPECT_EQ(wrong.allow, "POST");
  EXPECT_EQ(r.match("GET", "").kind, Router::Match::Kind::NotFound);
}

// Every route the router knows is in the OpenAPI document, and nothing else is.
TEST(OpenApi, DocumentListsExactlyTheRoutes) {
  json doc = json::parse(kOpenApiJson);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::pair<std::string, std::string>> in_doc, in_router;
  for (auto& [path, item] : doc["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      std::string m = method;
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      in_doc.emplace(m, path);
      EXPECT_TRUE(op.contains("responses")) << m << " " << path;
    }
  }
  for (const auto& r : api_routes()) in_router.emplace(r.method, r.path);
  EXPECT_EQ(in_doc, in_router);
}

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(valid_utf8("垃圾堆积 abc"));
  EXPECT_TRUE(valid_utf8("😀"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xe5\x9e"));          // cut short
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(JsonBody, ErrorsAreValues) {
  ApiError e;
  EXPECT_FALSE(parse_json_body("{\"a\": ", &e).ok());
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_FALSE(parse_json_body("{\"a\": \"\xff\"}", &e).ok());
  EXPECT_EQ(e.code, "invalid_utf8");
  EXPECT_TRUE(parse_json_body("{\"a\": 1}", &e).ok());
}

TEST(Form, DecodesPercentAndPlus) {
  auto f = parse_form("from=%2B86138&text=SB+g1+01+2+%E5%9E%83%E5%9C%BE&bad=%zz&&x");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].second, "+86138");
  EXPECT_EQ(f[1].second, "SB g1 01 2 垃圾");
  EXPECT_EQ(f[2].second, "%zz");
  EXPECT_EQ(f[3], (std::pair<std::string, std::string>{"x", ""}));
}

class ReportCheck : public ::testing::Test {
 protected:
  Org org = testing::load_test_org();
  ReportContext ctx() {
    ReportContext c;
    c.org = &org;
    c.reporter = "w1";
    c.reporter_unit = "g1";
    c.scope = org.find_unit("v1");
    c.now = Timestamp{1781253000000};
    c.new_report_id = [] { return std::string("r-gen"); };
    return c;
  }
  std::vector<std::string> fields(const json& body) {
    std::vector<FieldError> errors;
    auto r = check_report(body, ctx(), &errors);
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.field);
    EXPECT_EQ(r.ok(), errors.empty());
    return out;
  }
};

TEST_F(ReportCheck, AValidReportBecomesTheContractsInputEvent) {
  std::vector<FieldError> errors;
  auto r = check_report(json{{"grid", "g2"},
                             {"category", "sanitation"},
                             {"severity", 2},
                             {"title", "垃圾堆积"},
                             {"location", {{"lat", 33.8}, {"lon", 95.6}}}},
                        ctx(), &errors);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->report_id, "r-gen");
  EXPECT_TRUE(r->id_generated);
  EXPECT_EQ(r->grid, "g2");
  json ev = json::parse(r->event_line);
  EXPECT_EQ(ev["type"], "report");
  EXPECT_EQ(ev["at"], format_timestamp(Timestamp{1781253000000}));
  EXPECT_EQ(ev["report"]["report_id"], "r-gen");
  EXPECT_EQ(ev["report"]["reporter"], "w1");
  EXPECT_EQ(ev["report"]["reporter_unit"], "g1");
  EXPECT_EQ(ev["report"]["channel"], "app");
  EXPECT_EQ(ev["report"]["title"], "垃圾堆积");
}

// check_report_text writes the event without a DOM; its line is byte for byte what
// nlohmann's DOM (sorted keys) writes for the same report, escapes (\b and \f aside) and
// repeated keys included, and its errors are those of the DOM path.
TEST_F(ReportCheck, TheTextPathWritesWhatTheDomWrites) {
  const std::string body =
      R"({"title":"垃圾\"堆积\"\n\t\u0001","grid":"g2","category":"sanitation","severity":2,)"
      R"("data":{"a":[1,2.5,null,true],"b":{"c":"d"}},"households_affected":3,)"
      R"("location":{"lat":33.8,"lon":-95},"report_id":"r-1","channel":"app","title":"后者"})";
  ApiError e;
  auto r = check_report_text(body, ctx(), &e);
  ASSERT_TRUE(r.ok()) << e.message;
  EXPECT_EQ(r->report_id, "r-1");
  EXPECT_FALSE(r->id_generated);
  EXPECT_EQ(r->grid, "g2");
  json dom = json::parse(body);  // a repeated key: the last one
  dom["reporter"] = "w1";
  dom["reporter_unit"] = "g1";
  json ev = {
      {"type", "report"}, {"at", format_timestamp(Timestamp{1781253000000})}, {"report", dom}};
  EXPECT_EQ(r->event_line, ev.dump());
  EXPECT_EQ(json::parse(r->event_line)["report"]["title"], "后者");

  // A body without report_id or channel gets them; the text's whitespace is not kept.
  r = check_report_text("{ \"grid\" : \"g1\",\n \"category\" : \"x\" }", ctx(), &e);
  ASSERT_TRUE(r.ok()) << e.message;
  EXPECT_EQ(r->event_line,
            R"({"at":")" + format_timestamp(Timestamp{1781253000000}) +
                R"(","report":{"category":"x","channel":"app","grid":"g1","report_id":"r-gen",)"
                R"("reporter":"w1","reporter_unit":"g1"},"type":"report"})");

  // What does not parse says where, as parse_json_body does.
  EXPECT_FALSE(check_report_text("{\"grid\": ", ctx(), &e).ok());
  EXPECT_EQ(e.code, "invalid_json");
  EXPECT_NE(e.message.find("line 1, column 10"), std::string::npos) << e.message;
  EXPECT_FALSE(check_report_text("{\"grid\": \"\xff\"}", ctx(), &e).ok());
  EXPECT_EQ(e.code, "invalid_utf8");
  EXPECT_FALSE(check_report_text(R"({"grid":"g1","category":"x","severity":7})", ctx(), &e).ok());
  EXPECT_EQ(e.code, "validation_failed");
  ASSERT_EQ(e.fields.size(), 1u);
  EXPECT_EQ(e.fields[0].field, "report.severity");
  EXPECT_NE(e.fields[0].message.find("got 7"), std::string::npos) << e.fields[0].message;
}

TEST_F(ReportCheck, EveryBadFieldIsListed) {
  EXPECT_EQ(fields(json{{"category", "x"}}), std::vector<std::string>{"report.grid"});
  EXPECT_EQ(fields(json{{"grid", "nowhere"}, {"category", "x"}}),
            std::vector<std::string>{"report.grid"});
  EXPECT_EQ(fields(json{{"grid", "v1"}, {"category", "x"}}),  // a village, not a grid
            std::vector<std::string>{"report.grid"});
  EXPECT_EQ(fields(json{{"grid", "g4"}, {"category", "x"}}),  // outside v1
            std::vector<std::string>{"report.grid"});
  EXPECT_EQ(fields(json{{"grid", "g1"}}), std::vector<std::string>{"report.category"});
  EXPECT_EQ(fields(json{{"grid", "g1"}, {"category", "x"}, {"severity", 6}}),
            std::vector<std::string>{"report.severity"});
  EXPECT_EQ(fields(json{{"grid", "g1"}, {"category", "x"}, {"severity", 2.5}}),
            std::vector<std::string>{"report.severity"});
  EXPECT_EQ(fields(json{{"grid", "g1"}, {"category", "x"}, {"severity", "2"}}),
            std::vector<std::string>{"report.severity"});
  EXPECT_EQ(
      fields(json{{"grid", 7},
                  {"category", 8},
                  {"severity", 0},
                  {"title", 1},
                  {"occurred_at", "yesterday"},
                  {"households_affected", -1},
                  {"location", {{"lat", 100}}},
                  {"data", "x"},
                  {"report_id", "a b"},
                  {"reporter", "someone-else"}}),
      (std::vector<std::string>{"report.report_id", "report.grid", "report.category",
                                "report.severity", "report.title", "report.reporter",
                                "report.occurred_at", "report.households_affected",
                                "report.location.lat", "report.location.lon", "report.data"}));
  EXPECT_EQ(fields(json::array()), std::vector<std::string>{"report"});
  EXPECT_TRUE(
      fields(
          json{{"grid", "g1"}, {"category", "x"}, {"severity", nullptr}, {"extra_field", {1, 2}}})
          .empty());
}

TEST(Csv, QuotesNewlinesAndBadRecordsStandAlone) {
  auto rows = parse_csv(
      "\xEF\xBB\xBFgrid,category,title\r\n"
      "g1,road,\"a, b\"\r\n"
      "g1,road,\"two\nlines \"\"quoted\"\"\"\n"
      "g1,ro\"ad,x\n"
      "\n"
      "g2,noise,last");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].cells, (std::vector<std::string>{"grid", "category", "title"}));
  EXPECT_EQ(rows[1].cells[2], "a, b");
  EXPECT_EQ(rows[2].cells[2], "two\nlines \"quoted\"");
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_FALSE(rows[3].error.empty());
  EXPECT_EQ(rows[3].line, 5u);
  EXPECT_TRUE(rows[4].error.empty());
  EXPECT_EQ(rows[4].line, 7u);
  EXPECT_FALSE(parse_csv("a,\"open").at(0).error.empty());
}

TEST(Csv, RecordsBecomeTypedReports) {
  std::vector<FieldError> errors;
  std::vector<std::string> header = {"grid", "category", "severity", "lat", "lon", "ledger"};
  json r = csv_record_to_report(header, {"g1", "road", "3", "33.5", "95.1", "x"}, &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(r["severity"], 3);
  EXPECT_EQ(r["location"]["lat"], 33.5);
  EXPECT_EQ(r["data"]["ledger"], "x");
  r = csv_record_to_report(header, {"g1", "road", "high", "", "", ""}, &errors);
  EXPECT_EQ(r["severity"], "high");  // check_report names the type error
  csv_record_to_report(header, {"g1"}, &errors);
  EXPECT_EQ(errors.size(), 1u);
}

TEST(Sms, ParsesTheCompactSyntax) {
  std::string error;
  auto r = parse_sms("SB g1 01 3 垃圾堆积，臭味大", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->grid, "g1");
  EXPECT_EQ(r->category, "sanitation");
  EXPECT_EQ(r->severity, 3);
  EXPECT_EQ(r->text, "垃圾堆积，臭味大");
  // Full-width letters, digits and spaces; Chinese keyword, category name and severity.
  r = parse_sms("ＳＢ　Ｇ１　０２　４　路面塌陷", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->grid, "g1");
  EXPECT_EQ(r->category, "road");
  EXPECT_EQ(r->severity, 4);
  EXPECT_EQ(r->text, "路面塌陷");
  r = parse_sms("上报 g2 火情 五", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->category, "fire");
  EXPECT_EQ(r->severity, 5);
  EXPECT_EQ(r->text, "");
  r = parse_sms("sb g3 7 1 x", &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->category, "elderly_care");
}

TEST(Sms, SaysWhatToFix) {
  std::string error;
  EXPECT_FALSE(parse_sms("", &error));
  EXPECT_NE(error.find("为空"), std::string::npos);
  EXPECT_FALSE(parse_sms("hello g1 01 2 x", &error));
  EXPECT_NE(error.find("SB 开头"), std::string::npos);
  EXPECT_FALSE(parse_sms("SB g1", &error));
  EXPECT_NE(error.find("类别代码"), std::string::npos);
  EXPECT_FALSE(parse_sms("SB g1 99 2 x", &error));
  EXPECT_NE(error.find("“99”无效"), std::string::npos);
  EXPECT_FALSE(parse_sms("SB g1 01 9 x", &error));
  EXPECT_NE(error.find("紧急程度"), std::string::npos);
  EXPECT_NE(error.find("格式：SB"), std::string::npos);
  EXPECT_FALSE(parse_sms("SB g1 01 \xff", &error));
}

TEST(Sms, PhonesNormalise) {
  EXPECT_EQ(normalize_phone("+86 138-0000-0001"), "13800000001");
  EXPECT_EQ(normalize_phone("008613800000001"), "13800000001");
  EXPECT_EQ(normalize_phone("１３８０００００００１"), "13800000001");
  EXPECT_EQ(normalize_phone("13800000001"), "13800000001");
}

TEST(Access, RolesAndCapabilities) {
  Caller worker;
  worker.role = "grid_worker";
  EXPECT_FALSE(check_capability(worker, Capability::Report));
  EXPECT_FALSE(check_capability(worker, Capability::Act));
  EXPECT_TRUE(check_capability(worker, Capability::Stats));
  EXPECT_TRUE(check_capability(worker, Capability::Sms));
  Caller officer;
  officer.role = "township_officer";
  EXPECT_FALSE(check_capability(officer, Capability::Stream));
  EXPECT_TRUE(check_capability(officer, Capability::Sms));
  Caller gateway;
  gateway.gateway = true;
  EXPECT_FALSE(check_capability(gateway, Capability::Sms));
  EXPECT_TRUE(check_capability(gateway, Capability::Report));
  Caller visitor;
  visitor.role = "visitor";
  EXPECT_EQ(check_capability(visitor, Capability::Report)->status, 403);
}

}  // namespace
}  // namespace gridcase::http
