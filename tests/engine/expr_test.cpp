#include "engine/expr.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace gridcase::expr {
namespace {

// An Env over plain Values; counts field reads to observe short-circuiting.
class TestEnv : public Env {
 public:
  Map report;
  Map event;
  Map kase;
  Timestamp clock{0};
  Map units;  // level -> unit id
  mutable int field_reads = 0;
  mutable int whole_reads = 0;

  std::optional<Value> field(Root root, std::string_view name) const override {
    ++field_reads;
    const Map* m = pick(root);
    if (!m) return std::nullopt;
    const auto it = m->find(name);
    if (it == m->end()) return std::nullopt;
    return it->second;
  }
  Value whole(Root root) const override {
    ++whole_reads;
    const Map* m = pick(root);
    return m ? Value(*m) : Value();
  }
  Timestamp now() const override { return clock; }
  Value unit_at(std::string_view level) const override {
    const auto it = units.find(level);
    return it == units.end() ? Value() : it->second;
  }

 private:
  const Map* pick(Root root) const {
    switch (root) {
      case Root::Report:
        return &report;
      case Root::Event:
        return &event;
      case Root::Case:
        return &kase;
      case Root::Now:
        return nullptr;
    }
    return nullptr;
  }
};

Timestamp T(std::string_view s) {
  auto r = parse_timestamp(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? *r : Timestamp{};
}

constexpr int64_t kHour = 3600 * 1000;

class ExprTest : public ::testing::Test {
 protected:
  ExprTest() {
    env.report = Map{
        {"report_id", "r-000123"},
        {"grid", "jjbl-c1-g01"},
        {"category", "sanitation"},
        {"severity", 2},
        {"title", "垃圾堆积"},
        {"households_affected", 1},
        {"household", "h-0031"},
        {"occurred_at", Value(T("2026-06-12T07:55:00Z"))},
        {"location", Value(Map{{"lat", 33.85}, {"lon", 95.60}})},
        {"tags", Value(List{"a", "b", 3})},
        {"data", Value(Map{{"note", nullptr}, {"k", "v"}, {"键", 1}})},
        {"nothing", nullptr},
    };
    env.event = Map{{"type", "report"}, {"at", Value(T("2026-06-12T08:30:00Z"))}, {"actor", "w-1"}};
    env.kase = Map{{"id", "r-000123"},
                   {"level", "grid"},
                   {"state", "handling"},
                   {"report_count", 1},
                   {"reopened", 0},
                   {"opened_at", Value(T("2026-06-12T08:30:00Z"))},
                   {"co_handlers", Value(List{})}};
    env.clock = T("2026-06-13T08:30:00Z");
    env.units = Map{{"township", "duocai"}, {"village", "jjbl-c1"}};
  }

  Result<Program> C(std::string_view src, const CompileOptions& opts = {}) {
    return compile(src, SourcePos{1, 1}, opts);
  }

  // Compiles and evaluates; fails the test on a compile error.
  Result<Value> E(std::string_view src) {
    auto p = C(src);
    EXPECT_TRUE(p.ok()) << src << ": " << (p.ok() ? "" : p.error().message);
    if (!p.ok()) return p.error();
    return p->eval(env);
  }

  Value V(std::string_view src) {
    auto r = E(src);
    EXPECT_TRUE(r.ok()) << src << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Value("<error>");
  }

  bool B(std::string_view src) {
    auto p = C(src);
    EXPECT_TRUE(p.ok()) << src << ": " << (p.ok() ? "" : p.error().message);
    if (!p.ok()) return false;
    auto r = p->eval_bool(env);
    EXPECT_TRUE(r.ok()) << src << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() && *r;
  }

  // An evaluation error (compiles fine).
  Error EvalErr(std::string_view src) {
    auto r = E(src);
    EXPECT_FALSE(r.ok()) << src << " gave " << (r.ok() ? r->debug_string() : "");
    return r.ok() ? Error{} : r.error();
  }

  Error CompileErr(std::string_view src, const CompileOptions& opts = {}) {
    auto p = C(src, opts);
    EXPECT_FALSE(p.ok()) << src << " compiled";
    return p.ok() ? Error{} : p.error();
  }

  TestEnv env;
};

#define EXPECT_POS(error, l, c)              \
  do {                                       \
    const Error& e_ = (error);               \
    EXPECT_EQ(e_.pos.line, l) << e_.message; \
    EXPECT_EQ(e_.pos.col, c) << e_.message;  \
  } while (0)

// --- The contract's examples -----------------------------------------------------------

TEST_F(ExprTest, ContractCategoryIn) {
  const char* src = R"(report.category in ["flood", "epidemic", "fire"])";
  EXPECT_FALSE(B(src));
  env.report["category"] = "fire";
  EXPECT_TRUE(B(src));
  env.report["category"] = "flood";
  EXPECT_TRUE(B(src));
  env.report.erase("category");
  EXPECT_FALSE(B(src));  // null in list: false
}

TEST_F(ExprTest, ContractSeverityOrHouseholds) {
  const char* src = "report.severity >= 4 || report.households_affected >= 20";
  EXPECT_FALSE(B(src));
  env.report["severity"] = 4;
  EXPECT_TRUE(B(src));
  env.report["severity"] = 1;
  env.report["households_affected"] = 20;
  EXPECT_TRUE(B(src));
  env.report.erase("severity");
  env.report.erase("households_affected");
  EXPECT_FALSE(B(src));  // null >= 4 is false
}

TEST_F(ExprTest, ContractReportCountAndLevel) {
  const char* src = R"(case.report_count >= 5 && case.level == "grid")";
  EXPECT_FALSE(B(src));
  env.kase["report_count"] = 5;
  EXPECT_TRUE(B(src));
  env.kase["level"] = "village";
  EXPECT_FALSE(B(src));
}

TEST_F(ExprTest, ContractLevelNotGrid) {
  EXPECT_FALSE(B(R"(case.level != "grid")"));
  EXPECT_TRUE(B(R"(case.level == "county" || case.level != "village")"));
}

TEST_F(ExprTest, ContractReopenedPlusOne) {
  EXPECT_EQ(V("case.reopened + 1"), Value(1));
  env.kase["reopened"] = 41;
  EXPECT_EQ(V("case.reopened + 1"), Value(42));
}

TEST_F(ExprTest, ContractCorrelationKey) {
  const char* src = R"(report.category + "@" + report.household)";
  EXPECT_EQ(V(src), Value("sanitation@h-0031"));
  env.report.erase("household");
  EXPECT_TRUE(V(src).is_null());
}

TEST_F(ExprTest, ContractMatch) {
  EXPECT_TRUE(B(R"(report.category != "campaign")"));
  env.report["category"] = "campaign";
  EXPECT_FALSE(B(R"(report.category != "campaign")"));
  EXPECT_TRUE(B("true"));
}

TEST_F(ExprTest, ContractSetExpressionLiteral) {
  EXPECT_EQ(V(R"("=x")"), Value("=x"));
}

// --- Literals ----------------------------------------------------------------------------

TEST_F(ExprTest, Literals) {
  EXPECT_EQ(V("42"), Value(42));
  EXPECT_TRUE(V("42").is_int());
  EXPECT_TRUE(V("1.5").is_double());
  EXPECT_EQ(V("1.5"), Value(1.5));
  EXPECT_EQ(V("1e3"), Value(1000.0));
  EXPECT_TRUE(V("1e3").is_double());
  EXPECT_EQ(V("2.5E-1"), Value(0.25));
  EXPECT_EQ(V("1.5e+2"), Value(150.0));
  EXPECT_EQ(V("true"), Value(true));
  EXPECT_EQ(V("false"), Value(false));
  EXPECT_TRUE(V("null").is_null());
  EXPECT_EQ(V("\"abc\""), Value("abc"));
  EXPECT_EQ(V("'abc'"), Value("abc"));
  EXPECT_EQ(V("''"), Value(""));
  EXPECT_EQ(V("[1, 2]"), Value(List{1, 2}));
  EXPECT_EQ(V("[]"), Value(List{}));
  EXPECT_EQ(V("[1, 'a', null, [true]]"), Value(List{1, "a", nullptr, Value(List{true})}));
  EXPECT_EQ(V("[case.level, report.severity]"), Value(List{"grid", 2}));
  EXPECT_EQ(V("9223372036854775807"), Value(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(V("-9223372036854775808"), Value(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(V("-5"), Value(-5));
  EXPECT_EQ(V("-1.5"), Value(-1.5));
  EXPECT_EQ(V("'网格'"), Value("网格"));
}

TEST_F(ExprTest, StringEscapes) {
  EXPECT_EQ(V(R"("a\\b")"), Value("a\\b"));
  EXPECT_EQ(V(R"("a\"b")"), Value("a\"b"));
  EXPECT_EQ(V(R"('a\'b')"), Value("a'b"));
  EXPECT_EQ(V(R"("it's")"), Value("it's"));
  EXPECT_EQ(V(R"('say "hi"')"), Value("say \"hi\""));
  EXPECT_EQ(V(R"("\n\t\r")"), Value("\n\t\r"));
  EXPECT_EQ(V(R"("\u0041\u00e9\u7f51")"), Value("Aé网"));
  EXPECT_EQ(V(R"("\uD83D\uDE00")"), Value("\xF0\x9F\x98\x80"));
  EXPECT_EQ(V(R"("\u0000")"), Value(std::string(1, '\0')));
}

TEST_F(ExprTest, LiteralErrors) {
  EXPECT_NE(CompileErr("9223372036854775808").message.find("out of range"), std::string::npos);
  EXPECT_NE(CompileErr("-9223372036854775809").message.find("out of range"), std::string::npos);
  EXPECT_NE(CompileErr("99999999999999999999999").message.find("out of range"), std::string::npos);
  EXPECT_NE(CompileErr("1e999").message.find("out of range"), std::string::npos);
  EXPECT_NE(CompileErr(R"("abc)").message.find("unterminated string"), std::string::npos);
  EXPECT_NE(CompileErr(R"("abc\)").message.find("unterminated string"), std::string::npos);
  EXPECT_NE(CompileErr(R"("a\qb")").message.find("unknown escape '\\q'"), std::string::npos);
  EXPECT_NE(CompileErr(R"("\u12")").message.find("\\u"), std::string::npos);
  EXPECT_NE(CompileErr(R"("\uD83D")").message.find("surrogate"), std::string::npos);
  EXPECT_NE(CompileErr(R"("\uDE00")").message.find("surrogate"), std::string::npos);
  EXPECT_NE(CompileErr("\"a\nb\"").message.find("newline"), std::string::npos);
  EXPECT_NE(CompileErr("\"\xff\"").message.find("UTF-8"), std::string::npos);
  EXPECT_NE(CompileErr("[1, 2").message.find("expected ']'"), std::string::npos);
  EXPECT_NE(CompileErr("[1, 2,]").message.find("unexpected ']'"), std::string::npos);
}

// --- Precedence and syntax ---------------------------------------------------------------

TEST_F(ExprTest, Precedence) {
  EXPECT_EQ(V("1 + 2 * 3"), Value(7));
  EXPECT_EQ(V("(1 + 2) * 3"), Value(9));
  EXPECT_EQ(V("10 - 4 - 3"), Value(3));  // left associative
  EXPECT_EQ(V("100 / 10 / 5"), Value(2));
  EXPECT_EQ(V("7 % 4 * 2"), Value(6));
  EXPECT_EQ(V("-2 * 3"), Value(-6));
  EXPECT_EQ(V("- (2 + 3)"), Value(-5));
  EXPECT_EQ(V("--3"), Value(3));
  EXPECT_TRUE(B("1 + 1 == 2"));
  EXPECT_TRUE(B("1 < 2 == true"));  // left associative comparisons
  EXPECT_TRUE(B("true || false && false"));
  EXPECT_FALSE(B("(true || false) && false"));
  EXPECT_TRUE(B("!false && true"));
  EXPECT_FALSE(B("!(false || true)"));
  EXPECT_TRUE(B("!!true"));
  EXPECT_EQ(V("true ? 1 : 2"), Value(1));
  EXPECT_EQ(V("false ? 1 : 2"), Value(2));
  EXPECT_EQ(V("1 > 2 || false ? 'a' : 'b'"), Value("b"));  // ?: is loosest
  EXPECT_EQ(V("false ? 1 : true ? 2 : 3"), Value(2));      // right associative
  EXPECT_EQ(V("true ? false ? 1 : 2 : 3"), Value(2));
  EXPECT_TRUE(B("2 in [1, 2] == true"));
  EXPECT_TRUE(B("1 + 1 in [2]"));
  EXPECT_EQ(V("-report.severity"), Value(-2));
  EXPECT_TRUE(B("!has(report.nope)"));
}

TEST_F(ExprTest, WhitespaceAndNewlines) {
  EXPECT_EQ(V(" \t1\n+\r\n2 "), Value(3));
  EXPECT_TRUE(B("case.level\n  == 'grid'"));
}

TEST_F(ExprTest, SyntaxErrors) {
  EXPECT_EQ(CompileErr("(1 + )").message, "unexpected ')'");
  EXPECT_EQ(CompileErr("").message, "unexpected end of expression");
  EXPECT_EQ(CompileErr("   ").message, "unexpected end of expression");
  EXPECT_EQ(CompileErr("1 +").message, "unexpected end of expression");
  EXPECT_EQ(CompileErr("1 2").message, "unexpected '2'");
  EXPECT_EQ(CompileErr("(1").message, "unexpected end of expression, expected ')'");
  EXPECT_EQ(CompileErr("true ? 1").message, "unexpected end of expression, expected ':'");
  EXPECT_EQ(CompileErr("a = 1").message, "unknown name 'a' (expected report, event, case or now)");
  EXPECT_EQ(CompileErr("case.level = 'x'").message, "unexpected '=' (use '==' to compare)");
  EXPECT_EQ(CompileErr("true & false").message, "unexpected '&' (did you mean '&&'?)");
  EXPECT_EQ(CompileErr("true | false").message, "unexpected '|' (did you mean '||'?)");
  EXPECT_EQ(CompileErr("1 # 2").message, "unexpected character '#'");
  EXPECT_EQ(CompileErr("1 ＋ 2").message, "unexpected character '＋'");
  EXPECT_EQ(CompileErr("report.").message,
            "unexpected end of expression, expected a field name after '.'");
  EXPECT_EQ(CompileErr("report.1").message, "unexpected '1', expected a field name after '.'");
  EXPECT_EQ(CompileErr("in").message, "unexpected 'in'");
  EXPECT_EQ(CompileErr("1 in").message, "unexpected end of expression");
  EXPECT_EQ(CompileErr("'a' 'b'").message, "unexpected string 'b'");
  EXPECT_EQ(CompileErr(".5").message, "unexpected '.'");
  EXPECT_EQ(CompileErr("1 ) ").message, "unexpected ')'");
  EXPECT_EQ(CompileErr("report[1").message, "unexpected end of expression, expected ']'");
  EXPECT_EQ(CompileErr("size(1, 2").message, "unexpected end of expression, expected ')'");
}

TEST_F(ExprTest, Names) {
  EXPECT_EQ(CompileErr("foo").message, "unknown name 'foo' (expected report, event, case or now)");
  EXPECT_EQ(CompileErr("foo.bar").message,
            "unknown name 'foo' (expected report, event, case or now)");
  EXPECT_EQ(CompileErr("Report.x").message,
            "unknown name 'Report' (expected report, event, case or now)");
  EXPECT_EQ(CompileErr("foo(1)").message,
            "unknown function 'foo' (expected has, size, duration, timestamp or unit)");
  EXPECT_EQ(CompileErr("report(1)").message,
            "unknown function 'report' (expected has, size, duration, timestamp or unit)");
  EXPECT_EQ(CompileErr("report.title.upper()").message,
            "unknown method 'upper' (expected startsWith, endsWith or contains)");
  EXPECT_EQ(CompileErr("now.year").message, "'now' is a timestamp and has no fields");
  EXPECT_EQ(CompileErr("now['x']").message, "'now' is a timestamp and cannot be indexed");
  // Field names may be keywords or function names.
  env.report["in"] = 1;
  env.report["size"] = 2;
  EXPECT_EQ(V("report.in + report.size"), Value(3));
  EXPECT_TRUE(V("report.data.true").is_null());
}

TEST_F(ExprTest, Arity) {
  EXPECT_EQ(CompileErr("size(report.title, 2)").message, "function 'size' takes 1 argument, got 2");
  EXPECT_EQ(CompileErr("size()").message, "function 'size' takes 1 argument, got 0");
  EXPECT_EQ(CompileErr("has()").message, "function 'has' takes 1 argument, got 0");
  EXPECT_EQ(CompileErr("duration('1h', '2h')").message,
            "function 'duration' takes 1 argument, got 2");
  EXPECT_EQ(CompileErr("timestamp()").message, "function 'timestamp' takes 1 argument, got 0");
  EXPECT_EQ(CompileErr("unit('a', 'b', 'c')").message, "function 'unit' takes 1 argument, got 3");
  EXPECT_EQ(CompileErr("report.title.startsWith()").message,
            "method 'startsWith' takes 1 argument, got 0");
  EXPECT_EQ(CompileErr("report.title.contains('a', 'b')").message,
            "method 'contains' takes 1 argument, got 2");
}

TEST_F(ExprTest, CompileOptionsFieldLists) {
  CompileOptions opts;
  opts.case_fields = std::vector<std::string>{"id", "level", "reopened"};
  opts.event_fields = std::vector<std::string>{"type", "at"};
  opts.levels = std::vector<std::string>{"grid", "village", "township"};
  EXPECT_TRUE(C("case.level == 'grid' && event.type == 'x' && report.anything == 1", opts).ok());
  EXPECT_TRUE(C("case['reopened'] + 1", opts).ok());
  EXPECT_TRUE(C("unit('township')", opts).ok());
  EXPECT_TRUE(C("unit(case.level)", opts).ok());  // not a literal: checked at run time

  const Error e1 = CompileErr("case.levle == 'grid'", opts);
  EXPECT_EQ(e1.message, "unknown field 'levle' of case");
  EXPECT_POS(e1, 1, 6);
  const Error e2 = CompileErr("event.actor", opts);
  EXPECT_EQ(e2.message, "unknown field 'actor' of event");
  EXPECT_POS(e2, 1, 7);
  const Error e3 = CompileErr("case['nope']", opts);
  EXPECT_EQ(e3.message, "unknown field 'nope' of case");
  EXPECT_POS(e3, 1, 6);
  const Error e4 = CompileErr("has(case.nope)", opts);
  EXPECT_EQ(e4.message, "unknown field 'nope' of case");
  const Error e5 = CompileErr("unit('county')", opts);
  EXPECT_EQ(e5.message, "unknown level 'county'");
  EXPECT_POS(e5, 1, 6);
  // Without options, any field is allowed.
  EXPECT_TRUE(C("case.levle").ok());
  EXPECT_TRUE(C("unit('county')").ok());
}

// --- Error positions -----------------------------------------------------------------------

TEST_F(ExprTest, CompileErrorPositions) {
  EXPECT_POS(CompileErr("(1 + )"), 1, 6);
  EXPECT_POS(CompileErr(""), 1, 1);
  EXPECT_POS(CompileErr("1 +"), 1, 4);
  EXPECT_POS(CompileErr("report.x == foo"), 1, 13);
  EXPECT_POS(CompileErr("size(1, 2)"), 1, 1);
  EXPECT_POS(CompileErr("report.title.upper()"), 1, 14);
  EXPECT_POS(CompileErr("'abc"), 1, 1);
  EXPECT_POS(CompileErr(R"('a\qb')"), 1, 3);
  EXPECT_POS(CompileErr("1 @"), 1, 3);
  // Columns count code points, not bytes.
  EXPECT_POS(CompileErr("'网格' + foo"), 1, 8);
  EXPECT_POS(CompileErr("'\xF0\x9F\x98\x80' ) "), 1, 5);
  // A newline moves to the next line, column 1.
  EXPECT_POS(CompileErr("report.x ==\n  foo"), 2, 3);
  EXPECT_POS(CompileErr("1 +\n\n)"), 3, 1);
}

TEST_F(ExprTest, PositionsAreRelativeToStart) {
  auto p = compile("case.level ==\n  foo", SourcePos{10, 20});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().pos.line, 11);
  EXPECT_EQ(p.error().pos.col, 3);
  auto q = compile("1 + foo", SourcePos{7, 5});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().pos.line, 7);
  EXPECT_EQ(q.error().pos.col, 9);
  auto r = compile("1 + 'a'", SourcePos{3, 4});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source(), "1 + 'a'");
  EXPECT_EQ(r->pos().line, 3);
  EXPECT_EQ(r->pos().col, 4);
  auto v = r->eval(env);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().pos.line, 3);
  EXPECT_EQ(v.error().pos.col, 6);
}

TEST_F(ExprTest, EvalErrorPositions) {
  EXPECT_POS(EvalErr("report.title < 3"), 1, 14);
  EXPECT_POS(EvalErr("1 +\n  report.title"), 1, 3);
  EXPECT_POS(EvalErr("report.severity.x"), 1, 17);
  EXPECT_POS(EvalErr("1 / 0"), 1, 3);
  EXPECT_POS(EvalErr("true && 1"), 1, 6);
  EXPECT_POS(EvalErr("size(1)"), 1, 1);
  EXPECT_POS(EvalErr("report.tags['x']"), 1, 12);
  EXPECT_POS(EvalErr("report.severity.startsWith('a')"), 1, 17);
  EXPECT_POS(EvalErr("!'x'"), 1, 1);
  EXPECT_POS(EvalErr("1 ? 2 : 3"), 1, 3);
  EXPECT_POS(EvalErr("'网格' < 1"), 1, 6);
  EXPECT_POS(EvalErr("(1 +\n 2) * 'x'"), 2, 5);
  // Within a chain of one precedence level, the operator that failed.
  EXPECT_POS(EvalErr("1 + 2 + 'x' + 3"), 1, 7);
  EXPECT_POS(EvalErr("1 && true && true"), 1, 3);
  EXPECT_POS(EvalErr("true && true && 1"), 1, 14);
  EXPECT_POS(EvalErr("false || false || 'x' || true"), 1, 16);
  EXPECT_POS(EvalErr("1 < 2 < 3"), 1, 7);
  EXPECT_POS(EvalErr("report.data.k.x.y"), 1, 15);
  EXPECT_POS(EvalErr("report.data['k'][0]"), 1, 17);
}

// --- Null semantics ------------------------------------------------------------------------

TEST_F(ExprTest, MissingFieldIsNull) {
  EXPECT_TRUE(V("report.nope").is_null());
  EXPECT_TRUE(V("report.nothing").is_null());
  EXPECT_TRUE(V("report.nope.deeper.still").is_null());
  EXPECT_TRUE(V("report.data.missing").is_null());
  EXPECT_TRUE(V("report.nope['x']").is_null());
  EXPECT_TRUE(V("report.nope[0]").is_null());
  EXPECT_TRUE(V("case.nope").is_null());
  EXPECT_TRUE(V("event.nope").is_null());
}

TEST_F(ExprTest, NullEquality) {
  EXPECT_TRUE(B("report.nope == null"));
  EXPECT_FALSE(B("report.nope != null"));
  EXPECT_TRUE(B("report.category != null"));
  EXPECT_FALSE(B("report.nope == 0"));
  EXPECT_FALSE(B("report.nope == ''"));
  EXPECT_FALSE(B("report.nope == false"));
  EXPECT_TRUE(B("report.nope != 'x'"));
  EXPECT_TRUE(B("null == null"));
}

TEST_F(ExprTest, NullOrderingAndInAreFalse) {
  for (const char* op : {"<", "<=", ">", ">="}) {
    EXPECT_FALSE(B(std::string("report.nope ") + op + " 1")) << op;
    EXPECT_FALSE(B(std::string("1 ") + op + " report.nope")) << op;
    EXPECT_FALSE(B(std::string("null ") + op + " null")) << op;
    EXPECT_FALSE(B(std::string("null ") + op + " 'x'")) << op;
    EXPECT_EQ(V(std::string("report.nope ") + op + " 1"), Value(false));
  }
  EXPECT_FALSE(B("report.nope in [1, null]"));
  EXPECT_FALSE(B("null in [null]"));
  EXPECT_FALSE(B("1 in report.nope"));
  EXPECT_FALSE(B("'k' in report.nope"));
}

TEST_F(ExprTest, NullPropagatesThroughArithmeticAndFunctions) {
  EXPECT_TRUE(V("report.nope + 1").is_null());
  EXPECT_TRUE(V("1 - report.nope").is_null());
  EXPECT_TRUE(V("report.nope * 2").is_null());
  EXPECT_TRUE(V("report.nope / 0").is_null());
  EXPECT_TRUE(V("report.nope % 0").is_null());
  EXPECT_TRUE(V("-report.nope").is_null());
  EXPECT_TRUE(V("report.nope + 'x'").is_null());
  EXPECT_TRUE(V("null + null").is_null());
  EXPECT_TRUE(V("size(report.nope)").is_null());
  EXPECT_TRUE(V("report.nope.startsWith('a')").is_null());
  EXPECT_TRUE(V("report.title.endsWith(report.nope)").is_null());
  EXPECT_TRUE(V("report.nope.contains('a')").is_null());
  EXPECT_TRUE(V("duration(report.nope)").is_null());
  EXPECT_TRUE(V("timestamp(report.nope)").is_null());
  EXPECT_TRUE(V("unit(report.nope)").is_null());
  EXPECT_TRUE(V("report.tags[report.nope]").is_null());
  EXPECT_TRUE(V("report.nope + report.nope * 3 - 1").is_null());
}

TEST_F(ExprTest, NullCountsAsFalseWhereBoolNeeded) {
  EXPECT_FALSE(B("report.nope"));
  EXPECT_EQ(V("report.nope && true"), Value(false));
  EXPECT_EQ(V("true && report.nope"), Value(false));
  EXPECT_EQ(V("report.nope || true"), Value(true));
  EXPECT_EQ(V("report.nope || report.nope"), Value(false));
  EXPECT_EQ(V("!report.nope"), Value(true));
  EXPECT_EQ(V("report.nope ? 1 : 2"), Value(2));
  EXPECT_EQ(V("null ? 1 : 2"), Value(2));
}

// --- Short-circuit -------------------------------------------------------------------------

TEST_F(ExprTest, ShortCircuitIgnoresRightErrors) {
  EXPECT_EQ(V("false && 1 / 0 == 1"), Value(false));
  EXPECT_EQ(V("true || 1 / 0 == 1"), Value(true));
  EXPECT_EQ(V("false && report.title < 3"), Value(false));
  EXPECT_EQ(V("true || 'x'"), Value(true));  // right not even type-checked
  EXPECT_EQ(V("false && 'x'"), Value(false));
  EXPECT_EQ(V("report.nope && 1 / 0"), Value(false));
  EXPECT_EQ(V("true ? 1 : 1 / 0"), Value(1));
  EXPECT_EQ(V("false ? 1 / 0 : 2"), Value(2));
}

TEST_F(ExprTest, ShortCircuitSkipsEvaluation) {
  auto p = C("false && report.severity > 1");
  ASSERT_TRUE(p.ok());
  env.field_reads = 0;
  ASSERT_TRUE(p->eval(env).ok());
  EXPECT_EQ(env.field_reads, 0);
  auto q = C("case.level == 'grid' || report.severity > 1 && report.households_affected > 1");
  ASSERT_TRUE(q.ok());
  env.field_reads = 0;
  ASSERT_TRUE(q->eval(env).ok());
  EXPECT_EQ(env.field_reads, 1);
}

TEST_F(ExprTest, ErrorOnLeftIsError) {
  EXPECT_EQ(EvalErr("1 / 0 == 1 && false").message, "division by zero");
  EXPECT_EQ(EvalErr("1 / 0 == 1 || true").message, "division by zero");
  EXPECT_EQ(EvalErr("'x' && false").message, "'&&' needs a bool, got string");
  EXPECT_EQ(EvalErr("1 || true").message, "'||' needs a bool, got int");
  EXPECT_EQ(EvalErr("true && 'x'").message, "'&&' needs a bool, got string");
  EXPECT_EQ(EvalErr("false || 2").message, "'||' needs a bool, got int");
  EXPECT_EQ(EvalErr("!1").message, "'!' needs a bool, got int");
  EXPECT_EQ(EvalErr("'x' ? 1 : 2").message, "the condition of '?:' needs a bool, got string");
}

TEST_F(ExprTest, EvalBool) {
  auto p = C("report.title");
  ASSERT_TRUE(p.ok());
  auto r = p->eval_bool(env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "expected a bool, got string");
  EXPECT_POS(r.error(), 1, 8);
  auto n = C("report.nope");
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(n->eval_bool(env).ok());
  EXPECT_FALSE(*n->eval_bool(env));
  auto e = C("1 / 0 > 1");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->eval_bool(env).ok());
}

// --- Numbers -------------------------------------------------------------------------------

TEST_F(ExprTest, IntegerArithmetic) {
  EXPECT_EQ(V("7 / 2"), Value(3));
  EXPECT_EQ(V("-7 / 2"), Value(-3));  // truncates toward zero
  EXPECT_EQ(V("7 / -2"), Value(-3));
  EXPECT_EQ(V("7 % 3"), Value(1));
  EXPECT_EQ(V("-7 % 3"), Value(-1));
  EXPECT_EQ(V("-9223372036854775808 % -1"), Value(0));
  EXPECT_EQ(V("2 * 3 - 10"), Value(-4));
  EXPECT_TRUE(V("7 / 2").is_int());
}

TEST_F(ExprTest, IntegerOverflowIsError) {
  EXPECT_EQ(EvalErr("9223372036854775807 + 1").message, "integer overflow in '+'");
  EXPECT_EQ(EvalErr("-9223372036854775808 - 1").message, "integer overflow in '-'");
  EXPECT_EQ(EvalErr("4611686018427387904 * 2").message, "integer overflow in '*'");
  EXPECT_EQ(EvalErr("-9223372036854775808 / -1").message, "integer overflow in '/'");
  EXPECT_EQ(EvalErr("-(-9223372036854775808)").message, "integer overflow in '-'");
  EXPECT_EQ(V("9223372036854775806 + 1"), Value(std::numeric_limits<int64_t>::max()));
}

TEST_F(ExprTest, DivisionByZero) {
  EXPECT_EQ(EvalErr("1 / 0").message, "division by zero");
  EXPECT_EQ(EvalErr("1.5 / 0").message, "division by zero");
  EXPECT_EQ(EvalErr("1 / 0.0").message, "division by zero");
  EXPECT_EQ(EvalErr("1 % 0").message, "division by zero in '%'");
  EXPECT_EQ(EvalErr("report.severity / (report.households_affected - 1)").message,
            "division by zero");
}

TEST_F(ExprTest, DecimalsMixWithIntegers) {
  EXPECT_EQ(V("1 + 0.5"), Value(1.5));
  EXPECT_EQ(V("0.5 + 1"), Value(1.5));
  EXPECT_EQ(V("3 * 0.5"), Value(1.5));
  EXPECT_EQ(V("3 / 2.0"), Value(1.5));
  EXPECT_EQ(V("1.5 - 2"), Value(-0.5));
  EXPECT_TRUE(V("1 + 1.0").is_double());
  EXPECT_TRUE(B("1 == 1.0"));
  EXPECT_TRUE(B("1.0 == 1"));
  EXPECT_FALSE(B("1 != 1.0"));
  EXPECT_TRUE(B("1 < 1.5"));
  EXPECT_TRUE(B("2 > 1.5"));
  EXPECT_TRUE(B("2 >= 2.0"));
  EXPECT_TRUE(B("1.5 <= 2"));
  EXPECT_FALSE(B("9007199254740993 == 9007199254740992.0"));  // exact, not via double
  EXPECT_TRUE(B("9007199254740993 > 9007199254740992.0"));
  EXPECT_TRUE(B("report.location.lat > 33"));
  EXPECT_EQ(EvalErr("1.5 % 1").message, "'%' takes integers, got decimal and int");
  EXPECT_EQ(EvalErr("1e308 * 10").message, "decimal overflow in '*'");
}

// --- Strings -------------------------------------------------------------------------------

TEST_F(ExprTest, Strings) {
  EXPECT_EQ(V("'a' + 'b' + 'c'"), Value("abc"));
  EXPECT_EQ(V("report.title + '!'"), Value("垃圾堆积!"));
  EXPECT_TRUE(B("'abc' < 'abd'"));
  EXPECT_TRUE(B("'ab' < 'abc'"));
  EXPECT_TRUE(B("'b' > 'abc'"));
  EXPECT_TRUE(B("'abc' == 'abc'"));
  EXPECT_TRUE(B("report.grid.startsWith('jjbl-')"));
  EXPECT_FALSE(B("report.grid.startsWith('g01')"));
  EXPECT_TRUE(B("report.grid.endsWith('g01')"));
  EXPECT_TRUE(B("report.grid.contains('c1')"));
  EXPECT_FALSE(B("report.grid.contains('c2')"));
  EXPECT_TRUE(B("'abc'.startsWith('')"));
  EXPECT_TRUE(B("'abc'.endsWith('abc')"));
  EXPECT_FALSE(B("'ab'.endsWith('abc')"));
  EXPECT_TRUE(B("report.title.contains('堆')"));
  EXPECT_EQ(EvalErr("'a' + 1").message, "cannot use '+' on string and int");
  EXPECT_EQ(EvalErr("1 + 'a'").message, "cannot use '+' on int and string");
  EXPECT_EQ(EvalErr("'a' - 'b'").message, "cannot use '-' on string and string");
  EXPECT_EQ(EvalErr("-'a'").message, "cannot use '-' on string");
  EXPECT_EQ(EvalErr("report.severity.startsWith('2')").message,
            "startsWith() works on strings, got int");
  EXPECT_EQ(EvalErr("'2'.endsWith(2)").message, "endsWith() works on strings, got int");
  EXPECT_EQ(EvalErr("report.tags.contains('a')").message, "contains() works on strings, got list");
}

// --- Type errors in ordering -----------------------------------------------------------------

TEST_F(ExprTest, OrderingTypeMixIsError) {
  EXPECT_EQ(EvalErr("report.title < 3").message, "cannot compare string with int using '<'");
  EXPECT_EQ(EvalErr("3 >= 'a'").message, "cannot compare int with string using '>='");
  EXPECT_EQ(EvalErr("true > false").message, "cannot compare bool with bool using '>'");
  EXPECT_EQ(EvalErr("[1] <= [2]").message, "cannot compare list with list using '<='");
  EXPECT_EQ(EvalErr("now < 5").message, "cannot compare timestamp with int using '<'");
  EXPECT_EQ(EvalErr("duration('1h') < now").message,
            "cannot compare duration with timestamp using '<'");
  // == never errors, even across types.
  EXPECT_FALSE(B("report.title == 3"));
  EXPECT_TRUE(B("report.title != 3"));
  EXPECT_FALSE(B("now == duration('1h')"));
  EXPECT_FALSE(B("1 == '1'"));
  EXPECT_FALSE(B("true == 1"));
}

// --- Time ----------------------------------------------------------------------------------

TEST_F(ExprTest, TimeArithmetic) {
  EXPECT_EQ(V("now"), Value(env.clock));
  EXPECT_EQ(V("duration('24h')"), Value(Duration{24 * kHour}));
  EXPECT_EQ(V("timestamp('2026-06-12T08:00:00Z')"), Value(T("2026-06-12T08:00:00Z")));
  EXPECT_EQ(V("timestamp('2026-06-12T16:00:00+08:00')"), Value(T("2026-06-12T08:00:00Z")));
  EXPECT_EQ(V("now - case.opened_at"), Value(Duration{24 * kHour}));
  EXPECT_TRUE(B("now - case.opened_at >= duration('24h')"));
  EXPECT_FALSE(B("now - case.opened_at > duration('1d')"));
  EXPECT_TRUE(B("now - case.opened_at < duration('1d1s')"));
  EXPECT_EQ(V("case.opened_at + duration('1d')"), Value(env.clock));
  EXPECT_EQ(V("duration('1d') + case.opened_at"), Value(env.clock));
  EXPECT_EQ(V("now - duration('1d')"), Value(T("2026-06-12T08:30:00Z")));
  EXPECT_EQ(V("duration('1d') + duration('12h')"), Value(Duration{36 * kHour}));
  EXPECT_EQ(V("duration('1d') - duration('12h')"), Value(Duration{12 * kHour}));
  EXPECT_EQ(V("-duration('1h')"), Value(Duration{-kHour}));
  EXPECT_TRUE(B("event.at > report.occurred_at"));
  EXPECT_TRUE(B("now == timestamp('2026-06-13T08:30:00Z')"));
  EXPECT_TRUE(B("duration('60m') == duration('1h')"));
  EXPECT_TRUE(B("duration(\"90s\") > duration(\"1m\")"));
  EXPECT_EQ(EvalErr("now + now").message, "cannot use '+' on timestamp and timestamp");
  EXPECT_EQ(EvalErr("duration('1h') - now").message, "cannot use '-' on duration and timestamp");
  EXPECT_EQ(EvalErr("duration('1h') * 2").message, "cannot use '*' on duration and int");
  EXPECT_EQ(EvalErr("now + 1").message, "cannot use '+' on timestamp and int");
  EXPECT_EQ(EvalErr("duration('1h') + 1").message, "cannot use '+' on duration and int");
}

TEST_F(ExprTest, TimeOverflowIsError) {
  EXPECT_EQ(EvalErr("timestamp('9999-12-31T00:00:00Z') + duration('106751991167d')").message,
            "timestamp overflow in '+'");
  EXPECT_EQ(EvalErr("duration('106751991167d') + duration('106751991167d')").message,
            "duration overflow in '+'");
  EXPECT_EQ(EvalErr("timestamp('0000-01-01T00:00:00Z') - duration('106751991167d')").message,
            "timestamp overflow in '-'");
}

TEST_F(ExprTest, LiteralTimeArgumentsCheckedAtCompileTime) {
  const Error d = CompileErr("duration('24')");
  EXPECT_NE(d.message.find("invalid duration"), std::string::npos) << d.message;
  EXPECT_POS(d, 1, 10);
  const Error t = CompileErr("now > timestamp('2026-02-30T00:00:00Z')");
  EXPECT_NE(t.message.find("invalid timestamp"), std::string::npos) << t.message;
  EXPECT_POS(t, 1, 17);
  EXPECT_EQ(CompileErr("duration(5)").message, "duration() takes a string, got int");
  EXPECT_EQ(CompileErr("timestamp(true)").message, "timestamp() takes a string, got bool");
  EXPECT_EQ(CompileErr("unit(1.5)").message, "unit() takes a string, got decimal");
  EXPECT_NE(CompileErr("duration('')").message.find("empty"), std::string::npos);
  EXPECT_NE(CompileErr("duration('1h1d')").message.find("order"), std::string::npos);
  EXPECT_NE(CompileErr("duration('99999999999999999999s')").message.find("too large"),
            std::string::npos);
}

TEST_F(ExprTest, NonLiteralTimeArgumentsCheckedAtRunTime) {
  env.report["window"] = "2h";
  env.report["bad"] = "2x";
  env.report["when"] = "2026-06-12T08:00:00Z";
  EXPECT_EQ(V("duration(report.window)"), Value(Duration{2 * kHour}));
  EXPECT_EQ(V("timestamp(report.when)"), Value(T("2026-06-12T08:00:00Z")));
  const Error e = EvalErr("duration(report.bad)");
  EXPECT_NE(e.message.find("invalid duration"), std::string::npos);
  EXPECT_POS(e, 1, 1);
  EXPECT_NE(EvalErr("timestamp(report.title)").message.find("invalid timestamp"),
            std::string::npos);
  EXPECT_EQ(EvalErr("duration(report.severity)").message, "duration() takes a string, got int");
  EXPECT_EQ(EvalErr("timestamp(report.tags)").message, "timestamp() takes a string, got list");
}

// --- in, size, has, indexing, unit ---------------------------------------------------------

TEST_F(ExprTest, InOperator) {
  EXPECT_TRUE(B("2 in [1, 2, 3]"));
  EXPECT_FALSE(B("4 in [1, 2, 3]"));
  EXPECT_TRUE(B("2.0 in [1, 2, 3]"));  // membership by ==
  EXPECT_FALSE(B("'2' in [1, 2, 3]"));
  EXPECT_TRUE(B("'a' in report.tags"));
  EXPECT_TRUE(B("3 in report.tags"));
  EXPECT_FALSE(B("1 in []"));
  EXPECT_TRUE(B("[1] in [[1], [2]]"));
  EXPECT_TRUE(B("'k' in report.data"));     // map: key presence
  EXPECT_TRUE(B("'note' in report.data"));  // present with a null value
  EXPECT_FALSE(B("'zz' in report.data"));
  EXPECT_TRUE(B("'category' in report"));  // a whole root is a map
  EXPECT_TRUE(B("case.level in ['grid', 'village']"));
  EXPECT_EQ(EvalErr("1 in report.data").message,
            "cannot look up int in a map with 'in' (map keys are strings)");
  EXPECT_EQ(EvalErr("'a' in 'abc'").message, "'in' needs a list or map on the right, got string");
  EXPECT_EQ(EvalErr("1 in 1").message, "'in' needs a list or map on the right, got int");
}

TEST_F(ExprTest, Size) {
  EXPECT_EQ(V("size('abc')"), Value(3));
  EXPECT_EQ(V("size('')"), Value(0));
  EXPECT_EQ(V("size(report.title)"), Value(4));  // code points, not bytes
  EXPECT_EQ(V("size('\\uD83D\\uDE00x')"), Value(2));
  EXPECT_EQ(V("size(report.tags)"), Value(3));
  EXPECT_EQ(V("size([])"), Value(0));
  EXPECT_EQ(V("size(report.data)"), Value(3));
  EXPECT_EQ(V("size(case.co_handlers)"), Value(0));
  EXPECT_TRUE(B("size(report.tags) > 2"));
  EXPECT_EQ(EvalErr("size(1)").message, "size() takes a string, list or map, got int");
  EXPECT_EQ(EvalErr("size(now)").message, "size() takes a string, list or map, got timestamp");
}

TEST_F(ExprTest, Has) {
  EXPECT_TRUE(B("has(report.category)"));
  EXPECT_FALSE(B("has(report.nope)"));
  EXPECT_TRUE(B("has(report.nothing)"));  // present even though null
  EXPECT_TRUE(B("has(report.data.note)"));
  EXPECT_TRUE(B("has(report.data.k)"));
  EXPECT_FALSE(B("has(report.data.zz)"));
  EXPECT_FALSE(B("has(report.nope.deeper)"));  // base missing: false
  EXPECT_TRUE(B("has(report.data['键'])"));
  EXPECT_TRUE(B("has(report['category'])"));
  EXPECT_TRUE(B("has(report.tags[2])"));
  EXPECT_FALSE(B("has(report.tags[3])"));
  EXPECT_FALSE(B("has(report.tags[-1])"));
  EXPECT_TRUE(B("has(case.level)"));
  EXPECT_FALSE(B("has(case.nope)"));
  EXPECT_TRUE(B("has(event.actor)"));
  EXPECT_EQ(CompileErr("has(report)").message,
            "has() takes a field access, such as has(report.field)");
  EXPECT_EQ(CompileErr("has(1)").message, "has() takes a field access, such as has(report.field)");
  EXPECT_EQ(CompileErr("has(now)").message,
            "has() takes a field access, such as has(report.field)");
  EXPECT_EQ(CompileErr("has(size(report.tags))").message,
            "has() takes a field access, such as has(report.field)");
  EXPECT_POS(CompileErr("has( 'x')"), 1, 6);
  EXPECT_EQ(CompileErr("has(report.title.contains('a'))").message,
            "has() takes a field access, such as has(report.field)");
  EXPECT_TRUE(B("has([1, 2][1])"));
  EXPECT_FALSE(B("has(report.data.n.x)"));
  EXPECT_EQ(EvalErr("has(report.severity.x)").message, "has() cannot look up field 'x' of int");
}

TEST_F(ExprTest, FieldAccessAndIndexing) {
  EXPECT_EQ(V("report.location.lat"), Value(33.85));
  EXPECT_EQ(V("report['category']"), Value("sanitation"));
  EXPECT_EQ(V("report.data['键']"), Value(1));
  EXPECT_EQ(V("report.data[report.data.k == 'v' ? 'k' : 'zz']"), Value("v"));
  EXPECT_EQ(V("report[case.level == 'grid' ? 'grid' : 'x']"), Value("jjbl-c1-g01"));
  EXPECT_EQ(V("report.tags[0]"), Value("a"));
  EXPECT_EQ(V("report.tags[2]"), Value(3));
  EXPECT_TRUE(V("report.tags[3]").is_null());   // out of range
  EXPECT_TRUE(V("report.tags[-1]").is_null());  // out of range
  EXPECT_EQ(V("[10, 20, 30][1]"), Value(20));
  EXPECT_EQ(V("[[1, 2], [3]][0][1]"), Value(2));
  EXPECT_EQ(V("(report.location).lon"), Value(95.60));
  EXPECT_EQ(V("report.location['lon']"), Value(95.60));
  EXPECT_EQ(V("case").find("level")->as_string(), "grid");
  EXPECT_EQ(EvalErr("report.severity.x").message, "cannot access field 'x' of int");
  EXPECT_EQ(EvalErr("report.title.x").message, "cannot access field 'x' of string");
  EXPECT_EQ(EvalErr("report.tags.x").message, "cannot access field 'x' of list");
  EXPECT_EQ(EvalErr("report.tags['x']").message, "list index must be an int, got string");
  EXPECT_EQ(EvalErr("report.tags[1.0]").message, "list index must be an int, got decimal");
  EXPECT_EQ(EvalErr("report.data[1]").message, "map key must be a string, got int");
  EXPECT_EQ(EvalErr("report.title[0]").message, "cannot index string");
  EXPECT_EQ(EvalErr("1.x").message, "cannot access field 'x' of int");
}

TEST_F(ExprTest, RootFieldsCompileToDirectReads) {
  auto p = C("case.level == 'grid' && report['category'] == 'sanitation'");
  ASSERT_TRUE(p.ok());
  env.field_reads = 0;
  env.whole_reads = 0;
  EXPECT_TRUE(*p->eval_bool(env));
  EXPECT_EQ(env.field_reads, 2);
  EXPECT_EQ(env.whole_reads, 0);
}

TEST_F(ExprTest, Unit) {
  EXPECT_EQ(V("unit('township')"), Value("duocai"));
  EXPECT_EQ(V("unit(\"village\")"), Value("jjbl-c1"));
  EXPECT_TRUE(V("unit('county')").is_null());
  EXPECT_TRUE(B("unit('township') == 'duocai'"));
  EXPECT_EQ(EvalErr("unit(report.severity)").message, "unit() takes a string, got int");
}

// --- Bounds --------------------------------------------------------------------------------

TEST_F(ExprTest, SourceSizeLimit) {
  std::string ok = "1";
  while (ok.size() + 4 <= 4096) ok += " + 1";
  ASSERT_LE(ok.size(), 4096u);
  EXPECT_TRUE(C(ok).ok());
  std::string big(4097, ' ');
  big[0] = '1';
  const Error e = CompileErr(big);
  EXPECT_EQ(e.message, "expression longer than 4096 bytes");
  EXPECT_POS(e, 1, 1);
}

TEST_F(ExprTest, LongChainsEvaluate) {
  std::string src = "0";
  for (int i = 0; i < 1000; ++i) src += "+1";
  EXPECT_EQ(V(src), Value(1000));
}

TEST_F(ExprTest, LongestChainsEvaluate) {
  // The deepest trees a 4096-byte source can make must not exhaust the stack.
  std::string sum = "0";
  while (sum.size() + 2 <= 4096) sum += "+1";
  EXPECT_EQ(V(sum), Value(static_cast<int64_t>(sum.size() / 2)));
  std::string path = "report";
  while (path.size() + 2 <= 4096) path += ".a";
  EXPECT_TRUE(V(path).is_null());
  std::string ands = "true";
  while (ands.size() + 6 <= 4096) ands += "&&true";
  EXPECT_EQ(V(ands), Value(true));
  std::string idx = "report.tags";
  while (idx.size() + 3 <= 4096) idx += "[0]";
  EXPECT_EQ(EvalErr(idx).message, "cannot index string");
}

TEST_F(ExprTest, NestingLimit) {
  const auto nest = [](int n, const std::string& open, const std::string& inner,
                       const std::string& close) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += inner;
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_EQ(V(nest(64, "(", "1", ")")), Value(1));
  const Error e = CompileErr(nest(65, "(", "1", ")"));
  EXPECT_EQ(e.message, "expression nested deeper than 64 levels");
  EXPECT_POS(e, 1, 65);
  EXPECT_TRUE(C(nest(64, "[", "1", "]")).ok());
  EXPECT_FALSE(C(nest(65, "[", "1", "]")).ok());
  EXPECT_TRUE(C(nest(64, "!", "true", "")).ok());
  EXPECT_FALSE(C(nest(65, "!", "true", "")).ok());
  EXPECT_FALSE(C(nest(65, "-", "report.severity", "")).ok());
  EXPECT_FALSE(C(nest(65, "size(", "'x'", ")")).ok());
  EXPECT_FALSE(C(nest(65, "report.tags[", "0", "]")).ok());
  EXPECT_FALSE(C(nest(65, "true ? 1 : ", "2", "")).ok());
  EXPECT_FALSE(C(nest(2000, "(", "1", ")")).ok());
  EXPECT_FALSE(C(std::string(4000, '(')).ok());
  EXPECT_FALSE(C(std::string(4000, '!')).ok());
}

TEST_F(ExprTest, ProgramCopyAndMove) {
  auto p = C("case.reopened + 1");
  ASSERT_TRUE(p.ok());
  Program a = *p;
  Program b = std::move(*p);
  EXPECT_EQ(*a.eval(env), Value(1));
  EXPECT_EQ(*b.eval(env), Value(1));
  EXPECT_EQ(a.source(), "case.reopened + 1");
  Program c;
  c = a;
  EXPECT_EQ(*c.eval(env), Value(1));
  Program empty;
  EXPECT_FALSE(empty.eval(env).ok());
  EXPECT_FALSE(empty.eval_bool(env).ok());
}

TEST_F(ExprTest, CompiledOnceEvaluatedMany) {
  auto p = C(R"(report.category in ["flood", "epidemic", "fire"] ? "emergency" : "minor")");
  ASSERT_TRUE(p.ok());
  const char* cats[] = {"flood", "theft", "fire", "epidemic", "noise"};
  const char* want[] = {"emergency", "minor", "emergency", "emergency", "minor"};
  for (int i = 0; i < 5; ++i) {
    env.report["category"] = cats[i];
    auto v = p->eval(env);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, Value(want[i]));
  }
}

}  // namespace
}  // namespace gridcase::expr
