// libFuzzer target: compile arbitrary text as an expression and evaluate it against a fixed
// Env. Checks that nothing crashes or throws, that errors carry a position inside the
// source, that evaluation is deterministic and eval_bool agrees with eval. The same input
// is also fed to the duration and timestamp parsers, whose results must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/expr.hpp"
#include "engine/time.hpp"
#include "engine/value.hpp"

namespace {

using namespace gridcase;

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

class FixedEnv : public expr::Env {
 public:
  FixedEnv() {
    report_ = Map{
        {"report_id", "r-000123"},
        {"grid", "jjbl-c1-g01"},
        {"category", "flood"},
        {"severity", 4},
        {"title", "垃圾堆积"},
        {"households_affected", 25},
        {"household", "h-0031"},
        {"big", int64_t{9223372036854775807}},
        {"small", int64_t{-9223372036854775807 - 1}},
        {"ratio", 0.5},
        {"huge", 1e308},
        {"occurred_at", Value(Timestamp{1781250900000})},
        {"location", Value(Map{{"lat", 33.85}, {"lon", 95.60}})},
        {"tags", Value(List{"a", "b", 3, nullptr, Value(List{1, 2})})},
        {"data", Value(Map{{"note", nullptr}, {"k", "v"}, {"键", 1}, {"n", Value(Map{{"x", 1}})}})},
        {"nothing", nullptr},
        {"window", "2h"},
        {"when", "2026-06-12T08:00:00+08:00"},
    };
    event_ = Map{{"type", "report"},
                 {"at", Value(Timestamp{1781253000000})},
                 {"actor", "w-1"},
                 {"report", Value(report_)}};
    case_ = Map{{"id", "r-000123"},
                {"level", "grid"},
                {"state", "handling"},
                {"report_count", 1},
                {"reopened", 0},
                {"opened_at", Value(Timestamp{1781253000000})},
                {"level_since", Value(Timestamp{1781253000000})},
                {"co_handlers", Value(List{"duocai"})},
                {"sla", Value(Duration{86400000})}};
  }

  std::optional<Value> field(expr::Root root, std::string_view name) const override {
    const Map* m = pick(root);
    if (!m) return std::nullopt;
    const auto it = m->find(name);
    if (it == m->end()) return std::nullopt;
    return it->second;
  }
  Value whole(expr::Root root) const override {
    const Map* m = pick(root);
    return m ? Value(*m) : Value();
  }
  Timestamp now() const override { return Timestamp{1781339400000}; }
  Value unit_at(std::string_view level) const override {
    if (level == "grid") return "jjbl-c1-g01";
    if (level == "village") return "jjbl-c1";
    if (level == "township") return "duocai";
    return Value();
  }

 private:
  const Map* pick(expr::Root root) const {
    switch (root) {
      case expr::Root::Report:
        return &report_;
      case expr::Root::Event:
        return &event_;
      case expr::Root::Case:
        return &case_;
      case expr::Root::Now:
        return nullptr;
    }
    return nullptr;
  }

  Map report_, event_, case_;
};

// An error position must lie within the source text compiled at `start`.
void check_pos(const SourcePos& pos, SourcePos start, std::string_view text) {
  int lines = 0;
  for (const char c : text) lines += c == '\n';
  FUZZ_CHECK(pos.line >= start.line && pos.line <= start.line + lines);
  FUZZ_CHECK(pos.col >= 1);
  if (pos.line == start.line) FUZZ_CHECK(pos.col >= start.col);
}

void run_program(const expr::Program& p, const FixedEnv& env, std::string_view text,
                 SourcePos start) {
  const Result<Value> a = p.eval(env);
  const Result<Value> b = expr::Program(p).eval(env);  // a copy shares the tree
  FUZZ_CHECK(a.ok() == b.ok());
  const Result<bool> bv = p.eval_bool(env);
  if (a.ok()) {
    const std::string s = a->debug_string();
    FUZZ_CHECK(s == b->debug_string());
    FUZZ_CHECK(a->type_name() != nullptr);
    if (a->is_bool()) FUZZ_CHECK(bv.ok() && *bv == a->as_bool());
    if (a->is_null()) FUZZ_CHECK(bv.ok() && !*bv);
    if (!a->is_bool() && !a->is_null()) FUZZ_CHECK(!bv.ok());
  } else {
    FUZZ_CHECK(!a.error().message.empty());
    FUZZ_CHECK(a.error().message == b.error().message);
    check_pos(a.error().pos, start, text);
    FUZZ_CHECK(!bv.ok());
  }
}

void fuzz_expr(std::string_view text) {
  static const FixedEnv env;
  const SourcePos start{3, 7};
  auto p = expr::compile(text, start);
  if (!p.ok()) {
    FUZZ_CHECK(!p.error().message.empty());
    check_pos(p.error().pos, start, text);
  } else {
    FUZZ_CHECK(p->source() == text);
    run_program(*p, env, text, start);
  }

  static const expr::CompileOptions opts = [] {
    expr::CompileOptions o;
    o.case_fields = std::vector<std::string>{"id",       "level",     "state",      "report_count",
                                             "reopened", "opened_at", "co_handlers"};
    o.event_fields = std::vector<std::string>{"type", "at", "actor", "report"};
    o.levels = std::vector<std::string>{"grid", "village", "township", "county"};
    return o;
  }();
  auto q = expr::compile(text, SourcePos{1, 1}, opts);
  if (q.ok()) {
    FUZZ_CHECK(p.ok());  // options only ever reject more
    run_program(*q, env, text, SourcePos{1, 1});
  } else {
    check_pos(q.error().pos, SourcePos{1, 1}, text);
  }
}

void fuzz_time(std::string_view text) {
  if (auto d = parse_duration(text); d.ok()) {
    FUZZ_CHECK(d->ms >= 0);
    auto back = parse_duration(format_duration(*d));
    FUZZ_CHECK(back.ok() && back->ms == d->ms);
  }
  // Offsets can move an instant just outside years 0000-9999, which RFC 3339 cannot write.
  constexpr int64_t kFirst = -62167219200000;  // 0000-01-01T00:00:00Z
  constexpr int64_t kLast = 253402300799999;   // 9999-12-31T23:59:59.999Z
  if (auto t = parse_timestamp(text); t.ok() && t->ms >= kFirst && t->ms <= kLast) {
    auto back = parse_timestamp(format_timestamp(*t));
    FUZZ_CHECK(back.ok() && back->ms == t->ms);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_expr(text);
  fuzz_time(text);
  return 0;
}
