// The expression language (workflow-dsl.md, "Expressions"): lexer, parser + checker, and
// evaluator. compile() turns the text into an immutable tree once; eval() walks it.
//
// Bounds: sources are at most 4096 bytes and at most 64 groups deep (parentheses, list
// brackets, index brackets, call arguments, unary operators and ?: branches each open a
// level), so parsing and evaluation recursion is bounded by the source size. Errors are
// values on both paths; eval() also catches anything thrown (allocation failure) so that
// no exception leaves it.
//
// Choices the contract leaves open (kept here and in the tests):
// - Lexical and syntax errors are reported in source order; the first one wins.
// - A string literal may not contain a raw newline (write \n); \uXXXX may form a surrogate
//   pair; invalid UTF-8 is an error. Numbers with '.' or an exponent are decimals; a
//   decimal literal that does not fit a finite double is an error.
// - `-` directly before a number literal is folded into it (so -9223372036854775808 works).
// - Lists of literals, duration("...") and timestamp("...") with literal arguments are
//   folded at compile time; `root.name` and `root["name"]` become direct Env::field reads.
// - `now` has no fields and cannot be indexed (a compile error).
// - Decimal results that are not finite are an overflow error, like integer overflow.
// - `x in map` needs a string x (map keys are strings); `'a' in 'abc'` is an error.
// - `-` also negates durations; `duration + timestamp` is a timestamp like the reverse.
// - has(list[i]) is true when i is in range; has() on a null base is false.
#include "engine/expr.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace gridcase::expr {

// The compiled tree: one node per operator, literal, name or call, each with the position
// of its token for error messages. Immutable once compiled.
class Node {
 public:
  enum class Op {
    Literal,     // value
    List,        // kids: elements
    Now,         // now
    RootWhole,   // root as a whole value
    RootField,   // root.name
    Path,        // kids[0] followed by steps (.field, [index], .method(arg))
    Field,       // a step: .name
    Index,       // a step: [arg]
    Not,         // !kids[0]
    Neg,         // -kids[0]
    And,         // kids[0] && kids[1] && ... (op_pos: each '&&')
    Or,          // kids[0] || kids[1] || ... (op_pos: each '||')
    Chain,       // kids[0] ops[0] kids[1] ops[1] ... of one precedence level, left to right
    Cond,        // kids[0] ? kids[1] : kids[2]
    Eq,          // ==
    Ne,          // !=
    Lt,          // <
    Le,          // <=
    Gt,          // >
    Ge,          // >=
    In,          // in
    Add,         // +
    Sub,         // -
    Mul,         // *
    Div,         // /
    Mod,         // %
    Has,         // has(kids[0]), kids[0] is RootField, Field or Index
    Size,        // size(kids[0])
    Duration,    // duration(kids[0]) with a non-literal argument
    Timestamp,   // timestamp(kids[0]) with a non-literal argument
    Unit,        // unit(kids[0])
    StartsWith,  // a step: .startsWith(arg)
    EndsWith,    // a step: .endsWith(arg)
    Contains,    // a step: .contains(arg)
  };

  // One postfix step of a Path.
  struct Step {
    Op op = Op::Field;          // Field, Index, StartsWith, EndsWith or Contains
    SourcePos pos;              // the field or method name, or the '['
    std::string name;           // Field
    std::unique_ptr<Node> arg;  // Index and methods
  };

  Op op = Op::Literal;
  SourcePos pos;
  Value value;               // Literal
  Root root = Root::Report;  // RootWhole, RootField
  std::string name;          // RootField
  std::vector<std::unique_ptr<Node>> kids;
  std::vector<Op> ops;            // Chain: the operators between kids
  std::vector<SourcePos> op_pos;  // And, Or, Chain: where each operator is
  std::vector<Step> steps;        // Path
};
// Operator chains and postfix paths are flat (evaluated in loops), so the depth of the
// tree, and of the evaluator's recursion, is bounded by the nesting limit rather than by
// the length of the source.

namespace {

constexpr size_t kMaxSourceBytes = 4096;
constexpr int kMaxDepth = 64;

using Op = Node::Op;

const char* op_text(Op op) {
  switch (op) {
    case Op::Eq:
      return "==";
    case Op::Ne:
      return "!=";
    case Op::Lt:
      return "<";
    case Op::Le:
      return "<=";
    case Op::Gt:
      return ">";
    case Op::Ge:
      return ">=";
    case Op::In:
      return "in";
    case Op::Add:
      return "+";
    case Op::Sub:
      return "-";
    case Op::Mul:
      return "*";
    case Op::Div:
      return "/";
    case Op::Mod:
      return "%";
    case Op::And:
      return "&&";
    case Op::Or:
      return "||";
    case Op::Not:
      return "!";
    case Op::Neg:
      return "-";
    case Op::StartsWith:
      return "startsWith";
    case Op::EndsWith:
      return "endsWith";
    case Op::Contains:
      return "contains";
    default:
      return "?";
  }
}

const char* root_name(Root r) {
  switch (r) {
    case Root::Report:
      return "report";
    case Root::Event:
      return "event";
    case Root::Case:
      return "case";
    case Root::Now:
      return "now";
  }
  return "?";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
size_t utf8_len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int64_t count_code_points(const std::string& s) {
  int64_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// Lexer

// Bad: a lexical error, always the last token; the parser reports it when it gets there,
// so that errors come in source order.
enum class Tok { End, Int, Dec, Str, Ident, Punct, Bad };

struct Token {
  Tok kind = Tok::End;
  std::string_view text;  // as written
  SourcePos pos;
  uint64_t int_value = 0;
  bool int_too_large = false;
  double dec_value = 0;
  std::string str_value;  // decoded string literal
  Error error;            // Bad
};

std::string describe(const Token& t) {
  constexpr size_t kMax = 32;
  switch (t.kind) {
    case Tok::End:
      return "end of expression";
    case Tok::Str: {
      std::string s(t.text.substr(0, kMax));
      if (t.text.size() > kMax) s += "...";
      return "string " + s;
    }
    default:
      return "'" + std::string(t.text.substr(0, kMax)) + (t.text.size() > kMax ? "...'" : "'");
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(std::string_view src, SourcePos start) : src_(src), line_(start.line), col_(start.col) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space();
      Token t;
      t.pos = here();
      if (i_ >= src_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      const size_t begin = i_;
      const char c = src_[i_];
      std::optional<Error> e;
      if (is_digit(c)) {
        e = number(&t);
      } else if (is_ident_start(c)) {
        while (i_ < src_.size() && is_ident_char(src_[i_])) advance();
        t.kind = Tok::Ident;
      } else if (c == '"' || c == '\'') {
        e = string(&t);
      } else {
        e = punct(&t);
      }
      if (e) {
        t.kind = Tok::Bad;
        t.error = std::move(*e);
        out.push_back(std::move(t));
        return out;
      }
      t.text = src_.substr(begin, i_ - begin);
      out.push_back(std::move(t));
    }
  }

 private:
  SourcePos here() const { return {line_, col_}; }

  // Consumes one byte; columns advance per code point (on lead bytes), lines on '\n'.
  void advance() {
    const unsigned char c = static_cast<unsigned char>(src_[i_]);
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++col_;
    }
    ++i_;
  }

  void skip_space() {
    while (i_ < src_.size() &&
           (src_[i_] == ' ' || src_[i_] == '\t' || src_[i_] == '\n' || src_[i_] == '\r')) {
      advance();
    }
  }

  std::optional<Error> number(Token* t) {
    const size_t begin = i_;
    while (i_ < src_.size() && is_digit(src_[i_])) advance();
    bool decimal = false;
    if (i_ + 1 < src_.size() && src_[i_] == '.' && is_digit(src_[i_ + 1])) {
      decimal = true;
      advance();
      while (i_ < src_.size() && is_digit(src_[i_])) advance();
    }
    if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
      size_t j = i_ + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (j < src_.size() && is_digit(src_[j])) {
        decimal = true;
        while (i_ < j) advance();
        while (i_ < src_.size() && is_digit(src_[i_])) advance();
      }
    }
    const std::string_view text = src_.substr(begin, i_ - begin);
    if (decimal) {
      t->kind = Tok::Dec;
      double d = 0;
      const auto res = std::from_chars(text.data(), text.data() + text.size(), d);
      if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(d)) {
        return err("decimal literal " + std::string(text) + " out of range", t->pos);
      }
      t->dec_value = d;
    } else {
      t->kind = Tok::Int;
      uint64_t v = 0;
      for (const char c : text) {
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
          t->int_too_large = true;
          break;
        }
        v = v * 10 + digit;
      }
      t->int_value = v;
    }
    return std::nullopt;
  }

  std::optional<Error> string(Token* t) {
    t->kind = Tok::Str;
    const char quote = src_[i_];
    const SourcePos start = here();
    advance();
    std::string out;
    for (;;) {
      if (i_ >= src_.size()) return err("unterminated string", start);
      const char c = src_[i_];
      if (c == quote) {
        advance();
        t->str_value = std::move(out);
        return std::nullopt;
      }
      if (c == '\n') return err("newline in string literal (write \\n)", here());
      if (c == '\\') {
        const SourcePos esc = here();
        advance();
        if (i_ >= src_.size()) return err("unterminated string", start);
        const char e = src_[i_];
        switch (e) {
          case '\\':
          case '"':
          case '\'':
            out += e;
            advance();
            continue;
          case 'n':
            out += '\n';
            advance();
            continue;
          case 't':
            out += '\t';
            advance();
            continue;
          case 'r':
            out += '\r';
            advance();
            continue;
          case 'u': {
            advance();
            uint32_t cp = 0;
            if (!hex4(&cp)) return err("invalid \\u escape: expected 4 hex digits", esc);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t low = 0;
              if (i_ + 1 < src_.size() && src_[i_] == '\\' && src_[i_ + 1] == 'u') {
                advance();
                advance();
                if (!hex4(&low)) return err("invalid \\u escape: expected 4 hex digits", esc);
              }
              if (low < 0xDC00 || low > 0xDFFF) {
                return err("invalid \\u escape: unpaired surrogate", esc);
              }
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return err("invalid \\u escape: unpaired surrogate", esc);
            }
            append_utf8(&out, cp);
            continue;
          }
          default: {
            const size_t n = utf8_len(src_, i_);
            if (n == 0) return err("invalid UTF-8", here());
            return err("unknown escape '\\" + std::string(src_.substr(i_, n)) + "'", esc);
          }
        }
      }
      const size_t n = utf8_len(src_, i_);
      if (n == 0) return err("invalid UTF-8", here());
      out.append(src_.substr(i_, n));
      for (size_t k = 0; k < n; ++k) advance();
    }
  }

  bool hex4(uint32_t* out) {
    if (i_ + 4 > src_.size()) return false;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int h = hex_value(src_[i_ + k]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    for (int k = 0; k < 4; ++k) advance();
    *out = v;
    return true;
  }

  std::optional<Error> punct(Token* t) {
    t->kind = Tok::Punct;
    static constexpr std::string_view kTwo[] = {"||", "&&", "==", "!=", "<=", ">="};
    for (const std::string_view p : kTwo) {
      if (src_.substr(i_, 2) == p) {
        advance();
        advance();
        return std::nullopt;
      }
    }
    const char c = src_[i_];
    static constexpr std::string_view kOne = "()[].,?:<>!-+*/%";
    if (kOne.find(c) != std::string_view::npos) {
      advance();
      return std::nullopt;
    }
    if (c == '=') return err("unexpected '=' (use '==' to compare)", t->pos);
    if (c == '&') return err("unexpected '&' (did you mean '&&'?)", t->pos);
    if (c == '|') return err("unexpected '|' (did you mean '||'?)", t->pos);
    const size_t n = utf8_len(src_, i_);
    if (n == 0) return err("invalid UTF-8", t->pos);
    return err("unexpected character '" + std::string(src_.substr(i_, n)) + "'", t->pos);
  }

  std::string_view src_;
  size_t i_ = 0;
  int line_;
  int col_;
};

using NodeP = std::unique_ptr<Node>;

NodeP make(Op op, SourcePos pos) {
  auto n = std::make_unique<Node>();
  n->op = op;
  n->pos = pos;
  return n;
}

NodeP literal(Value v, SourcePos pos) {
  auto n = make(Op::Literal, pos);
  n->value = std::move(v);
  return n;
}

// ---------------------------------------------------------------------------------------
// Parser and checker

class Parser {
 public:
  Parser(std::vector<Token> toks, const CompileOptions& opts)
      : toks_(std::move(toks)), opts_(opts) {}

  Result<NodeP> parse_all() {
    NodeP n = parse_expr();
    if (n && peek().kind != Tok::End) n = unexpected(peek(), "");
    if (!n) return *error_;
    return n;
  }

 private:
  // Opens one nesting level for the life of the guard.
  class Nest {
   public:
    Nest(Parser* p, SourcePos pos) : p_(p) {
      if (++p_->depth_ > kMaxDepth) {
        ok_ = false;
        p_->fail("expression nested deeper than " + std::to_string(kMaxDepth) + " levels", pos);
      }
    }
    ~Nest() { --p_->depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    bool ok() const { return ok_; }

   private:
    Parser* p_;
    bool ok_ = true;
  };

  const Token& peek(size_t ahead = 0) const {
    const size_t k = std::min(pos_ + ahead, toks_.size() - 1);
    return toks_[k];
  }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool is_punct(std::string_view p, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == Tok::Punct && t.text == p;
  }
  bool is_word(std::string_view w) const { return peek().kind == Tok::Ident && peek().text == w; }

  NodeP fail(std::string message, SourcePos pos) {
    if (!error_) error_ = err(std::move(message), pos);
    return nullptr;
  }

  // "unexpected TOKEN" + what; a lexical error instead when the token is one.
  NodeP unexpected(const Token& t, const std::string& what) {
    if (t.kind == Tok::Bad) return fail(t.error.message, t.error.pos);
    return fail("unexpected " + describe(t) + what, t.pos);
  }

  bool expect(std::string_view p) {
    if (is_punct(p)) {
      next();
      return true;
    }
    unexpected(peek(), ", expected '" + std::string(p) + "'");
    return false;
  }

  NodeP parse_expr() { return parse_ternary(); }

  NodeP parse_ternary() {
    NodeP cond = parse_or();
    if (!cond || !is_punct("?")) return cond;
    const SourcePos q = next().pos;
    Nest nest(this, q);
    if (!nest.ok()) return nullptr;
    NodeP a = parse_ternary();
    if (!a || !expect(":")) return nullptr;
    NodeP b = parse_ternary();
    if (!b) return nullptr;
    auto n = make(Op::Cond, q);
    n->kids.push_back(std::move(cond));
    n->kids.push_back(std::move(a));
    n->kids.push_back(std::move(b));
    return n;
  }

  // One precedence level: operands from `operand`, operators recognised by `match`. A lone
  // operand is returned as is; otherwise a flat node of kind `kind` (And, Or or Chain).
  template <typename Match>
  NodeP parse_level(Op kind, NodeP (Parser::*operand)(), Match match) {
    NodeP first = (this->*operand)();
    if (!first) return nullptr;
    std::optional<Op> op = match();
    if (!op) return first;
    auto n = make(kind, peek().pos);
    n->kids.push_back(std::move(first));
    while (op) {
      n->ops.push_back(*op);
      n->pos = next().pos;  // the node's own position is its last operator
      n->op_pos.push_back(n->pos);
      NodeP right = (this->*operand)();
      if (!right) return nullptr;
      n->kids.push_back(std::move(right));
      op = match();
    }
    return n;
  }

  std::optional<Op> punct_op(std::initializer_list<std::pair<std::string_view, Op>> ops) const {
    for (const auto& [text, op] : ops) {
      if (is_punct(text)) return op;
    }
    return std::nullopt;
  }

  NodeP parse_or() {
    return parse_level(Op::Or, &Parser::parse_and, [this] { return punct_op({{"||", Op::Or}}); });
  }

  NodeP parse_and() {
    return parse_level(Op::And, &Parser::parse_rel, [this] { return punct_op({{"&&", Op::And}}); });
  }

  NodeP parse_rel() {
    return parse_level(Op::Chain, &Parser::parse_add, [this]() -> std::optional<Op> {
      if (is_word("in")) return Op::In;
      return punct_op({{"==", Op::Eq},
                       {"!=", Op::Ne},
                       {"<", Op::Lt},
                       {"<=", Op::Le},
                       {">", Op::Gt},
                       {">=", Op::Ge}});
    });
  }

  NodeP parse_add() {
    return parse_level(Op::Chain, &Parser::parse_mul, [this] {
      return punct_op({{"+", Op::Add}, {"-", Op::Sub}});
    });
  }

  NodeP parse_mul() {
    return parse_level(Op::Chain, &Parser::parse_unary, [this] {
      return punct_op({{"*", Op::Mul}, {"/", Op::Div}, {"%", Op::Mod}});
    });
  }

  NodeP parse_unary() {
    if (!is_punct("!") && !is_punct("-")) return parse_postfix();
    const Token& t = next();
    const SourcePos p = t.pos;
    const bool negate = t.text == "-";
    // A negative number literal is folded, so that -9223372036854775808 is valid.
    if (negate && (peek().kind == Tok::Int || peek().kind == Tok::Dec) && !is_punct(".", 1) &&
        !is_punct("[", 1)) {
      const Token& num = next();
      if (num.kind == Tok::Dec) return literal(Value(-num.dec_value), p);
      constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
      if (num.int_too_large || num.int_value > kMinMagnitude) {
        return fail("integer literal -" + std::string(num.text) + " out of range", p);
      }
      if (num.int_value == kMinMagnitude) {
        return literal(Value(std::numeric_limits<int64_t>::min()), p);
      }
      return literal(Value(-static_cast<int64_t>(num.int_value)), p);
    }
    Nest nest(this, p);
    if (!nest.ok()) return nullptr;
    NodeP operand = parse_unary();
    if (!operand) return nullptr;
    auto n = make(negate ? Op::Neg : Op::Not, p);
    n->kids.push_back(std::move(operand));
    return n;
  }

  // Checks `root.name` against the options' field lists.
  bool check_field(Root root, const std::string& name, SourcePos pos) {
    const std::optional<std::vector<std::string>>* allowed = nullptr;
    if (root == Root::Case) allowed = &opts_.case_fields;
    if (root == Root::Event) allowed = &opts_.event_fields;
    if (!allowed || !allowed->has_value()) return true;
    for (const std::string& f : **allowed) {
      if (f == name) return true;
    }
    fail("unknown field '" + name + "' of " + root_name(root), pos);
    return false;
  }

  NodeP root_field(Root root, std::string name, SourcePos pos) {
    if (!check_field(root, name, pos)) return nullptr;
    auto n = make(Op::RootField, pos);
    n->root = root;
    n->name = std::move(name);
    return n;
  }

  // Arguments after an opening '(' (already consumed at `open`), up to the closing ')'.
  bool parse_args(SourcePos open, std::vector<NodeP>* args) {
    Nest nest(this, open);
    if (!nest.ok()) return false;
    if (is_punct(")")) {
      next();
      return true;
    }
    for (;;) {
      NodeP a = parse_expr();
      if (!a) return false;
      args->push_back(std::move(a));
      if (is_punct(",")) {
        next();
        continue;
      }
      return expect(")");
    }
  }

  bool check_arity(const char* kind, const std::string& name, size_t want, size_t got,
                   SourcePos pos) {
    if (want == got) return true;
    fail(std::string(kind) + " '" + name + "' takes " + std::to_string(want) +
             (want == 1 ? " argument" : " arguments") + ", got " + std::to_string(got),
         pos);
    return false;
  }

  NodeP parse_postfix() {
    NodeP base = parse_primary();
    if (!base) return nullptr;
    std::vector<Node::Step> steps;
    for (;;) {
      if (is_punct(".")) {
        next();
        const Token& name = peek();
        if (name.kind != Tok::Ident) {
          return unexpected(name, ", expected a field name after '.'");
        }
        next();
        if (is_punct("(")) {
          Node::Step step;
          if (!method(name, &step)) return nullptr;
          steps.push_back(std::move(step));
        } else if (steps.empty() && base->op == Op::Now) {
          return fail("'now' is a timestamp and has no fields", name.pos);
        } else if (steps.empty() && base->op == Op::RootWhole) {
          base = root_field(base->root, std::string(name.text), name.pos);
          if (!base) return nullptr;
        } else {
          Node::Step step;
          step.op = Op::Field;
          step.pos = name.pos;
          step.name = std::string(name.text);
          steps.push_back(std::move(step));
        }
      } else if (is_punct("[")) {
        const SourcePos open = next().pos;
        if (steps.empty() && base->op == Op::Now) {
          return fail("'now' is a timestamp and cannot be indexed", open);
        }
        NodeP index;
        {
          Nest nest(this, open);
          if (!nest.ok()) return nullptr;
          index = parse_expr();
          if (!index || !expect("]")) return nullptr;
        }
        if (steps.empty() && base->op == Op::RootWhole && index->op == Op::Literal &&
            index->value.is_string()) {
          base = root_field(base->root, index->value.as_string(), index->pos);
          if (!base) return nullptr;
        } else {
          Node::Step step;
          step.op = Op::Index;
          step.pos = open;
          step.arg = std::move(index);
          steps.push_back(std::move(step));
        }
      } else {
        break;
      }
    }
    if (steps.empty()) return base;
    auto n = make(Op::Path, steps.back().pos);
    n->kids.push_back(std::move(base));
    n->steps = std::move(steps);
    return n;
  }

  // A method call step; `name` is the method name, the '(' is next.
  bool method(const Token& name, Node::Step* step) {
    if (name.text == "startsWith") {
      step->op = Op::StartsWith;
    } else if (name.text == "endsWith") {
      step->op = Op::EndsWith;
    } else if (name.text == "contains") {
      step->op = Op::Contains;
    } else {
      fail("unknown method '" + std::string(name.text) +
               "' (expected startsWith, endsWith or contains)",
           name.pos);
      return false;
    }
    const SourcePos open = next().pos;
    std::vector<NodeP> args;
    if (!parse_args(open, &args)) return false;
    if (!check_arity("method", std::string(name.text), 1, args.size(), name.pos)) return false;
    step->pos = name.pos;
    step->arg = std::move(args[0]);
    return true;
  }

  NodeP parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Int:
        next();
        if (t.int_too_large || t.int_value > static_cast<uint64_t>(INT64_MAX)) {
          return fail("integer literal " + std::string(t.text) + " out of range", t.pos);
        }
        return literal(Value(static_cast<int64_t>(t.int_value)), t.pos);
      case Tok::Dec:
        next();
        return literal(Value(t.dec_value), t.pos);
      case Tok::Str:
        next();
        return literal(Value(t.str_value), t.pos);
      case Tok::Ident:
        return identifier();
      case Tok::Punct:
        if (t.text == "(") {
          next();
          Nest nest(this, t.pos);
          if (!nest.ok()) return nullptr;
          NodeP inner = parse_expr();
          if (!inner || !expect(")")) return nullptr;
          return inner;
        }
        if (t.text == "[") return list();
        break;
      case Tok::End:
      case Tok::Bad:
        break;
    }
    return unexpected(t, "");
  }

  NodeP list() {
    const SourcePos open = next().pos;
    Nest nest(this, open);
    if (!nest.ok()) return nullptr;
    auto n = make(Op::List, open);
    if (is_punct("]")) {
      next();
    } else {
      for (;;) {
        NodeP e = parse_expr();
        if (!e) return nullptr;
        n->kids.push_back(std::move(e));
        if (is_punct(",")) {
          next();
          continue;
        }
        if (!expect("]")) return nullptr;
        break;
      }
    }
    // A list of literals is a literal.
    for (const NodeP& k : n->kids) {
      if (k->op != Op::Literal) return n;
    }
    List values;
    values.reserve(n->kids.size());
    for (const NodeP& k : n->kids) values.push_back(k->value);
    return literal(Value(std::move(values)), open);
  }

  NodeP identifier() {
    const Token& t = next();
    const std::string_view w = t.text;
    if (w == "true") return literal(Value(true), t.pos);
    if (w == "false") return literal(Value(false), t.pos);
    if (w == "null") return literal(Value(), t.pos);
    if (w == "in") return fail("unexpected 'in'", t.pos);
    if (is_punct("(")) return call(t);
    if (w == "now") return make(Op::Now, t.pos);
    Root root;
    if (w == "report") {
      root = Root::Report;
    } else if (w == "event") {
      root = Root::Event;
    } else if (w == "case") {
      root = Root::Case;
    } else {
      return fail("unknown name '" + std::string(w) + "' (expected report, event, case or now)",
                  t.pos);
    }
    auto n = make(Op::RootWhole, t.pos);
    n->root = root;
    return n;
  }

  NodeP call(const Token& name) {
    const std::string fname(name.text);
    Op op;
    if (fname == "has") {
      op = Op::Has;
    } else if (fname == "size") {
      op = Op::Size;
    } else if (fname == "duration") {
      op = Op::Duration;
    } else if (fname == "timestamp") {
      op = Op::Timestamp;
    } else if (fname == "unit") {
      op = Op::Unit;
    } else {
      return fail(
          "unknown function '" + fname + "' (expected has, size, duration, timestamp or unit)",
          name.pos);
    }
    const SourcePos open = next().pos;
    std::vector<NodeP> args;
    if (!parse_args(open, &args)) return nullptr;
    if (!check_arity("function", fname, 1, args.size(), name.pos)) return nullptr;
    NodeP arg = std::move(args[0]);
    const bool lit = arg->op == Op::Literal;
    const bool lit_other = lit && !arg->value.is_null() && !arg->value.is_string();
    switch (op) {
      case Op::Has:
        if (arg->op != Op::RootField &&
            !(arg->op == Op::Path &&
              (arg->steps.back().op == Op::Field || arg->steps.back().op == Op::Index))) {
          return fail("has() takes a field access, such as has(report.field)", arg->pos);
        }
        break;
      case Op::Duration:
      case Op::Timestamp:
      case Op::Unit:
        if (lit_other) {
          return fail(fname + "() takes a string, got " + arg->value.type_name(), arg->pos);
        }
        if (lit && arg->value.is_string()) {
          const std::string& s = arg->value.as_string();
          if (op == Op::Duration) {
            auto d = parse_duration(s);
            if (!d) return fail(d.error().message, arg->pos);
            return literal(Value(*d), name.pos);
          }
          if (op == Op::Timestamp) {
            auto ts = parse_timestamp(s);
            if (!ts) return fail(ts.error().message, arg->pos);
            return literal(Value(*ts), name.pos);
          }
          if (opts_.levels) {
            bool known = false;
            for (const std::string& l : *opts_.levels) known = known || l == s;
            if (!known) return fail("unknown level '" + s + "'", arg->pos);
          }
        }
        break;
      default:
        break;
    }
    auto n = make(op, name.pos);
    n->kids.push_back(std::move(arg));
    return n;
  }

  std::vector<Token> toks_;
  const CompileOptions& opts_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------
// Evaluator

using R = Result<Value>;

Error type_error(std::string message, SourcePos pos) {
  return err(std::move(message), pos);
}

// Where a boolean is needed: null counts as false; another type is an error.
Result<bool> truthy(const Value& v, const char* what, SourcePos pos) {
  if (v.is_null()) return false;
  if (v.is_bool()) return v.as_bool();
  return type_error(std::string(what) + " needs a bool, got " + v.type_name(), pos);
}

// Exact three-way comparison of an integer with a finite decimal.
int cmp_int_double(int64_t i, double d) {
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const int64_t ti = static_cast<int64_t>(t);
  if (i < ti) return -1;
  if (i > ti) return 1;
  const double frac = d - t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

template <typename T>
int cmp3(const T& a, const T& b) {
  return a < b ? -1 : b < a ? 1 : 0;
}

R compare(Op op, const Value& a, const Value& b, SourcePos pos) {
  if (a.is_null() || b.is_null()) return Value(false);
  int c = 0;
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) {
      c = cmp3(a.as_int(), b.as_int());
    } else if (a.is_int()) {
      if (std::isnan(b.as_double())) return Value(false);
      c = cmp_int_double(a.as_int(), b.as_double());
    } else if (b.is_int()) {
      if (std::isnan(a.as_double())) return Value(false);
      c = -cmp_int_double(b.as_int(), a.as_double());
    } else {
      if (std::isnan(a.as_double()) || std::isnan(b.as_double())) return Value(false);
      c = cmp3(a.as_double(), b.as_double());
    }
  } else if (a.is_string() && b.is_string()) {
    c = a.as_string().compare(b.as_string());
  } else if (a.is_timestamp() && b.is_timestamp()) {
    c = cmp3(a.as_timestamp().ms, b.as_timestamp().ms);
  } else if (a.is_duration() && b.is_duration()) {
    c = cmp3(a.as_duration().ms, b.as_duration().ms);
  } else {
    return type_error(std::string("cannot compare ") + a.type_name() + " with " + b.type_name() +
                          " using '" + op_text(op) + "'",
                      pos);
  }
  switch (op) {
    case Op::Lt:
      return Value(c < 0);
    case Op::Le:
      return Value(c <= 0);
    case Op::Gt:
      return Value(c > 0);
    default:
      return Value(c >= 0);
  }
}

R membership(const Value& a, const Value& b, SourcePos pos) {
  if (a.is_null() || b.is_null()) return Value(false);
  if (b.is_list()) {
    for (const Value& e : b.as_list()) {
      if (e == a) return Value(true);
    }
    return Value(false);
  }
  if (b.is_map()) {
    if (!a.is_string()) {
      return type_error(std::string("cannot look up ") + a.type_name() +
                            " in a map with 'in' (map keys are strings)",
                        pos);
    }
    return Value(b.find(a.as_string()) != nullptr);
  }
  return type_error(std::string("'in' needs a list or map on the right, got ") + b.type_name(),
                    pos);
}

Error mix_error(Op op, const Value& a, const Value& b, SourcePos pos) {
  return type_error(
      std::string("cannot use '") + op_text(op) + "' on " + a.type_name() + " and " + b.type_name(),
      pos);
}

Error overflow(Op op, const char* what, SourcePos pos) {
  return err(std::string(what) + " overflow in '" + op_text(op) + "'", pos);
}

R decimal_result(Op op, double d, SourcePos pos) {
  if (!std::isfinite(d)) return overflow(op, "decimal", pos);
  return Value(d);
}

R arithmetic(Op op, const Value& a, const Value& b, SourcePos pos) {
  if (a.is_null() || b.is_null()) return Value();
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    int64_t r = 0;
    switch (op) {
      case Op::Add:
        if (__builtin_add_overflow(x, y, &r)) return overflow(op, "integer", pos);
        return Value(r);
      case Op::Sub:
        if (__builtin_sub_overflow(x, y, &r)) return overflow(op, "integer", pos);
        return Value(r);
      case Op::Mul:
        if (__builtin_mul_overflow(x, y, &r)) return overflow(op, "integer", pos);
        return Value(r);
      case Op::Div:
        if (y == 0) return err("division by zero", pos);
        if (x == std::numeric_limits<int64_t>::min() && y == -1) {
          return overflow(op, "integer", pos);
        }
        return Value(x / y);
      default:  // Mod
        if (y == 0) return err("division by zero in '%'", pos);
        if (y == -1) return Value(int64_t{0});
        return Value(x % y);
    }
  }
  if (a.is_number() && b.is_number()) {
    if (op == Op::Mod) {
      return type_error(
          std::string("'%' takes integers, got ") + a.type_name() + " and " + b.type_name(), pos);
    }
    const double x = a.as_number();
    const double y = b.as_number();
    switch (op) {
      case Op::Add:
        return decimal_result(op, x + y, pos);
      case Op::Sub:
        return decimal_result(op, x - y, pos);
      case Op::Mul:
        return decimal_result(op, x * y, pos);
      default:  // Div
        if (y == 0) return err("division by zero", pos);
        return decimal_result(op, x / y, pos);
    }
  }
  if (op == Op::Add) {
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    int64_t r = 0;
    if (a.is_timestamp() && b.is_duration()) {
      if (__builtin_add_overflow(a.as_timestamp().ms, b.as_duration().ms, &r)) {
        return overflow(op, "timestamp", pos);
      }
      return Value(Timestamp{r});
    }
    if (a.is_duration() && b.is_timestamp()) {
      if (__builtin_add_overflow(a.as_duration().ms, b.as_timestamp().ms, &r)) {
        return overflow(op, "timestamp", pos);
      }
      return Value(Timestamp{r});
    }
    if (a.is_duration() && b.is_duration()) {
      if (__builtin_add_overflow(a.as_duration().ms, b.as_duration().ms, &r)) {
        return overflow(op, "duration", pos);
      }
      return Value(Duration{r});
    }
  }
  if (op == Op::Sub) {
    int64_t r = 0;
    if (a.is_timestamp() && b.is_timestamp()) {
      if (__builtin_sub_overflow(a.as_timestamp().ms, b.as_timestamp().ms, &r)) {
        return overflow(op, "duration", pos);
      }
      return Value(Duration{r});
    }
    if (a.is_timestamp() && b.is_duration()) {
      if (__builtin_sub_overflow(a.as_timestamp().ms, b.as_duration().ms, &r)) {
        return overflow(op, "timestamp", pos);
      }
      return Value(Timestamp{r});
    }
    if (a.is_duration() && b.is_duration()) {
      if (__builtin_sub_overflow(a.as_duration().ms, b.as_duration().ms, &r)) {
        return overflow(op, "duration", pos);
      }
      return Value(Duration{r});
    }
  }
  return mix_error(op, a, b, pos);
}

// The evaluator recurses only through eval_node and the helpers below, once per nesting
// level; the helpers are kept out of line so that each recursive frame stays small.
#define GRIDCASE_NOINLINE __attribute__((noinline))

R eval_node(const Node& n, const Env& env);

R apply_binary(Op op, const Value& a, const Value& b, SourcePos pos) {
  switch (op) {
    case Op::Eq:
      return Value(a == b);
    case Op::Ne:
      return Value(!(a == b));
    case Op::In:
      return membership(a, b, pos);
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
      return compare(op, a, b, pos);
    default:
      return arithmetic(op, a, b, pos);
  }
}

R field_of(const Node::Step& s, const Value& base) {
  if (base.is_null()) return Value();
  if (!base.is_map()) {
    return type_error("cannot access field '" + s.name + "' of " + base.type_name(), s.pos);
  }
  const Value* v = base.find(s.name);
  return v ? *v : Value();
}

R index_of(const Node::Step& s, const Value& base, const Value& index) {
  if (base.is_null() || index.is_null()) return Value();
  if (base.is_list()) {
    if (!index.is_int()) {
      return type_error(std::string("list index must be an int, got ") + index.type_name(), s.pos);
    }
    const List& l = base.as_list();
    const int64_t i = index.as_int();
    if (i < 0 || static_cast<uint64_t>(i) >= l.size()) return Value();
    return l[static_cast<size_t>(i)];
  }
  if (base.is_map()) {
    if (!index.is_string()) {
      return type_error(std::string("map key must be a string, got ") + index.type_name(), s.pos);
    }
    const Value* v = base.find(index.as_string());
    return v ? *v : Value();
  }
  return type_error(std::string("cannot index ") + base.type_name(), s.pos);
}

R string_method(const Node::Step& step, const Value& s, const Value& t) {
  if (s.is_null() || t.is_null()) return Value();
  if (!s.is_string() || !t.is_string()) {
    const Value& bad = s.is_string() ? t : s;
    return type_error(std::string(op_text(step.op)) + "() works on strings, got " + bad.type_name(),
                      step.pos);
  }
  const std::string& a = s.as_string();
  const std::string& b = t.as_string();
  switch (step.op) {
    case Op::StartsWith:
      return Value(a.size() >= b.size() && a.compare(0, b.size(), b) == 0);
    case Op::EndsWith:
      return Value(a.size() >= b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0);
    default:
      return Value(a.find(b) != std::string::npos);
  }
}

GRIDCASE_NOINLINE R apply_step(const Node::Step& s, const Value& cur, const Env& env) {
  if (s.op == Op::Field) return field_of(s, cur);
  R arg = eval_node(*s.arg, env);
  if (!arg) return arg;
  if (s.op == Op::Index) return index_of(s, cur, *arg);
  return string_method(s, cur, *arg);
}

// The base of a path and all its steps but the last `skip_last` ones.
GRIDCASE_NOINLINE R eval_path(const Node& n, const Env& env, size_t skip_last) {
  R cur = eval_node(*n.kids[0], env);
  for (size_t i = 0; cur && i + skip_last < n.steps.size(); ++i) {
    cur = apply_step(n.steps[i], *cur, env);
  }
  return cur;
}

GRIDCASE_NOINLINE R eval_has(const Node& n, const Env& env) {
  const Node& arg = *n.kids[0];
  if (arg.op == Op::RootField) return Value(env.field(arg.root, arg.name).has_value());
  R base = eval_path(arg, env, 1);
  if (!base) return base;
  if (base->is_null()) return Value(false);
  const Node::Step& last = arg.steps.back();
  if (last.op == Op::Field) {
    if (!base->is_map()) {
      return type_error("has() cannot look up field '" + last.name + "' of " + base->type_name(),
                        last.pos);
    }
    return Value(base->find(last.name) != nullptr);
  }
  R index = eval_node(*last.arg, env);
  if (!index) return index;
  if (index->is_null()) return Value(false);
  if (base->is_map() && index->is_string()) {
    return Value(base->find(index->as_string()) != nullptr);
  }
  if (base->is_list() && index->is_int()) {
    const int64_t i = index->as_int();
    return Value(i >= 0 && static_cast<uint64_t>(i) < base->as_list().size());
  }
  return type_error(
      std::string("has() cannot index ") + base->type_name() + " with " + index->type_name(),
      last.pos);
}

R call(const Node& n, const Value& v, const Env& env) {
  if (v.is_null()) return Value();
  switch (n.op) {
    case Op::Size:
      if (v.is_string()) return Value(count_code_points(v.as_string()));
      if (v.is_list()) return Value(static_cast<int64_t>(v.as_list().size()));
      if (v.is_map()) return Value(static_cast<int64_t>(v.as_map().size()));
      return type_error(std::string("size() takes a string, list or map, got ") + v.type_name(),
                        n.pos);
    case Op::Duration: {
      if (!v.is_string()) {
        return type_error(std::string("duration() takes a string, got ") + v.type_name(), n.pos);
      }
      auto d = parse_duration(v.as_string());
      if (!d) return err(d.error().message, n.pos);
      return Value(*d);
    }
    case Op::Timestamp: {
      if (!v.is_string()) {
        return type_error(std::string("timestamp() takes a string, got ") + v.type_name(), n.pos);
      }
      auto t = parse_timestamp(v.as_string());
      if (!t) return err(t.error().message, n.pos);
      return Value(*t);
    }
    default:  // Unit
      if (!v.is_string()) {
        return type_error(std::string("unit() takes a string, got ") + v.type_name(), n.pos);
      }
      return env.unit_at(v.as_string());
  }
}

GRIDCASE_NOINLINE R eval_call(const Node& n, const Env& env) {
  R v = eval_node(*n.kids[0], env);
  if (!v) return v;
  return call(n, *v, env);
}

GRIDCASE_NOINLINE R eval_list(const Node& n, const Env& env) {
  List out;
  out.reserve(n.kids.size());
  for (const NodeP& k : n.kids) {
    R v = eval_node(*k, env);
    if (!v) return v;
    out.push_back(std::move(v).value());
  }
  return Value(std::move(out));
}

R negate(const Node& n, const Value& v) {
  if (v.is_null()) return Value();
  if (v.is_int()) {
    if (v.as_int() == std::numeric_limits<int64_t>::min()) {
      return overflow(Op::Neg, "integer", n.pos);
    }
    return Value(-v.as_int());
  }
  if (v.is_double()) return Value(-v.as_double());
  if (v.is_duration()) {
    if (v.as_duration().ms == std::numeric_limits<int64_t>::min()) {
      return overflow(Op::Neg, "duration", n.pos);
    }
    return Value(Duration{-v.as_duration().ms});
  }
  return type_error(std::string("cannot use '-' on ") + v.type_name(), n.pos);
}

GRIDCASE_NOINLINE R eval_unary(const Node& n, const Env& env) {
  R v = eval_node(*n.kids[0], env);
  if (!v) return v;
  if (n.op == Op::Neg) return negate(n, *v);
  Result<bool> b = truthy(*v, "'!'", n.pos);
  if (!b) return b.error();
  return Value(!*b);
}

// && and ||: left to right, stopping at the first operand that decides the result.
GRIDCASE_NOINLINE R eval_logic(const Node& n, const Env& env) {
  const bool is_and = n.op == Op::And;
  const char* what = is_and ? "'&&'" : "'||'";
  for (size_t i = 0; i < n.kids.size(); ++i) {
    R v = eval_node(*n.kids[i], env);
    if (!v) return v;
    Result<bool> b = truthy(*v, what, n.op_pos[i == 0 ? 0 : i - 1]);
    if (!b) return b.error();
    if (*b != is_and) return Value(*b);  // false && ..., true || ...
  }
  return Value(is_and);
}

GRIDCASE_NOINLINE R eval_chain(const Node& n, const Env& env) {
  R acc = eval_node(*n.kids[0], env);
  for (size_t i = 1; acc && i < n.kids.size(); ++i) {
    R b = eval_node(*n.kids[i], env);
    if (!b) return b;
    acc = apply_binary(n.ops[i - 1], *acc, *b, n.op_pos[i - 1]);
  }
  return acc;
}

GRIDCASE_NOINLINE R eval_cond(const Node& n, const Env& env) {
  R c = eval_node(*n.kids[0], env);
  if (!c) return c;
  Result<bool> cb = truthy(*c, "the condition of '?:'", n.pos);
  if (!cb) return cb.error();
  return eval_node(*n.kids[*cb ? 1 : 2], env);
}

R eval_node(const Node& n, const Env& env) {
  switch (n.op) {
    case Op::Literal:
      return n.value;
    case Op::List:
      return eval_list(n, env);
    case Op::Now:
      return Value(env.now());
    case Op::RootWhole:
      return env.whole(n.root);
    case Op::RootField: {
      std::optional<Value> v = env.field(n.root, n.name);
      return v ? std::move(*v) : Value();
    }
    case Op::Path:
      return eval_path(n, env, 0);
    case Op::Not:
    case Op::Neg:
      return eval_unary(n, env);
    case Op::And:
    case Op::Or:
      return eval_logic(n, env);
    case Op::Chain:
      return eval_chain(n, env);
    case Op::Cond:
      return eval_cond(n, env);
    case Op::Has:
      return eval_has(n, env);
    case Op::Size:
    case Op::Duration:
    case Op::Timestamp:
    case Op::Unit:
      return eval_call(n, env);
    default:
      break;
  }
  return err("internal error: unexpected node", n.pos);
}

#undef GRIDCASE_NOINLINE

}  // namespace

// ---------------------------------------------------------------------------------------
// Program

Program::Program() = default;
Program::~Program() = default;
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::Program(const Program&) = default;
Program& Program::operator=(const Program&) = default;

Result<Value> Program::eval(const Env& env) const {
  if (!root_) return err("expression not compiled", pos_);
  try {
    return eval_node(*root_, env);
  } catch (const std::exception& e) {
    return err(std::string("internal error while evaluating: ") + e.what(), pos_);
  } catch (...) {
    return err("internal error while evaluating", pos_);
  }
}

Result<bool> Program::eval_bool(const Env& env) const {
  Result<Value> v = eval(env);
  if (!v) return v.error();
  if (v->is_null()) return false;
  if (v->is_bool()) return v->as_bool();
  return err(std::string("expected a bool, got ") + v->type_name(), root_ ? root_->pos : pos_);
}

Result<Program> compile(std::string_view text, SourcePos start, const CompileOptions& opts) {
  if (text.size() > kMaxSourceBytes) {
    return err("expression longer than " + std::to_string(kMaxSourceBytes) + " bytes", start);
  }
  try {
    Parser parser(Lexer(text, start).run(), opts);
    Result<NodeP> root = parser.parse_all();
    if (!root) return root.error();
    Program p;
    p.root_ = std::shared_ptr<const Node>(std::move(root).value());
    p.source_ = std::string(text);
    p.pos_ = start;
    return p;
  } catch (const std::exception& e) {
    return err(std::string("internal error while compiling: ") + e.what(), start);
  }
}

}  // namespace gridcase::expr
