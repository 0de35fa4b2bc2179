#pragma once
// The expression language of workflow-dsl.md ("Expressions"): a small CEL-like language.
// Compiled once per workflow load (syntax, names and arity checked then), evaluated many
// times without re-parsing. Evaluation has no loops; its cost is bounded by the size of
// the program and of the values it reads.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/result.hpp"
#include "engine/value.hpp"

namespace gridcase::expr {

// The names an expression may start with.
enum class Root { Report, Event, Case, Now };

// What evaluation reads from its surroundings. The engine implements it over a case and
// an event without building maps; tests implement it over plain Values.
class Env {
 public:
  virtual ~Env() = default;
  // `root.name`: the value, or nullopt when the field is absent (absent reads as null,
  // but has() tells the two apart).
  virtual std::optional<Value> field(Root root, std::string_view name) const = 0;
  // The root as a whole value (`report`, `case`, `event`); rare, may be slow.
  virtual Value whole(Root root) const = 0;
  virtual Timestamp now() const = 0;
  // unit("township"): the origin grid's ancestor at that level, or the nearest one above
  // it; null when there is none.
  virtual Value unit_at(std::string_view level) const = 0;
};

struct CompileOptions {
  // Allowed `case.NAME` / `event.NAME` fields; nullopt allows any. An unknown one is a
  // compile error located at the field name.
  std::optional<std::vector<std::string>> case_fields;
  std::optional<std::vector<std::string>> event_fields;
  // Allowed arguments of unit("..."); nullopt allows any string.
  std::optional<std::vector<std::string>> levels;
};

class Node;  // the compiled form, private to expr.cpp

class Program {
 public:
  Program();
  ~Program();
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  Program(const Program&);  // shares the immutable compiled tree
  Program& operator=(const Program&);

  // The value, or an Error whose pos is the offending operator/token in the file.
  Result<Value> eval(const Env& env) const;
  // For `when`/`match`: true/false; null counts as false; another type is an Error.
  Result<bool> eval_bool(const Env& env) const;

  const std::string& source() const { return source_; }
  SourcePos pos() const { return pos_; }

 private:
  friend Result<Program> compile(std::string_view, SourcePos, const CompileOptions&);
  std::shared_ptr<const Node> root_;
  std::string source_;
  SourcePos pos_;
};

// `text` is the expression; `start` is where its first character sits in the file, so
// errors point inside the file (a newline in text moves to the next line, column 1).
// Errors: syntax (located at the offending token), unknown root names, unknown
// functions/methods and wrong arity, unknown fields per `opts`, bad literal arguments
// of duration()/timestamp(), integer literals out of range, nesting deeper than 64, and
// sources longer than 4096 bytes.
Result<Program> compile(std::string_view text, SourcePos start, const CompileOptions& opts = {});

}  // namespace gridcase::expr
