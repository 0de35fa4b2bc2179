// Values of the expression language: lookup, the language's equality, and renderings.
#include "engine/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace gridcase {
namespace {

// Exact comparison of an integer with a decimal (no rounding of large integers).
bool int_equals_double(int64_t i, double d) {
  if (!std::isfinite(d)) return false;
  // [-2^63, 2^63) is exactly representable at both ends as doubles.
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return false;
  if (std::trunc(d) != d) return false;
  return static_cast<int64_t>(d) == i;
}

void append_quoted(std::string* out, const std::string& s) {
  *out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          *out += buf;
        } else {
          *out += c;
        }
    }
  }
  *out += '"';
}

void append_double(std::string* out, double d) {
  if (std::isnan(d)) {
    *out += "nan";
    return;
  }
  if (std::isinf(d)) {
    *out += d < 0 ? "-inf" : "inf";
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, res.ptr);
  // Keep decimals recognisable as such: 1.0, not 1.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  *out += s;
}

void append_debug(std::string* out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null:
      *out += "null";
      return;
    case Value::Kind::Bool:
      *out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      *out += std::to_string(v.as_int());
      return;
    case Value::Kind::Double:
      append_double(out, v.as_double());
      return;
    case Value::Kind::String:
      append_quoted(out, v.as_string());
      return;
    case Value::Kind::Timestamp:
      *out += "timestamp(\"" + format_timestamp(v.as_timestamp()) + "\")";
      return;
    case Value::Kind::Duration:
      *out += "duration(\"" + format_duration(v.as_duration()) + "\")";
      return;
    case Value::Kind::List: {
      *out += '[';
      bool first = true;
      for (const Value& e : v.as_list()) {
        if (!first) *out += ", ";
        first = false;
        append_debug(out, e);
      }
      *out += ']';
      return;
    }
    case Value::Kind::Map: {
      *out += '{';
      bool first = true;
      for (const auto& [k, e] : v.as_map()) {
        if (!first) *out += ", ";
        first = false;
        append_quoted(out, k);
        *out += ": ";
        append_debug(out, e);
      }
      *out += '}';
      return;
    }
  }
}

}  // namespace

const Value* Value::find(std::string_view key) const {
  if (!is_map()) return nullptr;
  const Map& m = as_map();
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

bool operator==(const Value& a, const Value& b) {
  using K = Value::Kind;
  const K ka = a.kind();
  const K kb = b.kind();
  if (ka != kb) {
    if (ka == K::Int && kb == K::Double) return int_equals_double(a.as_int(), b.as_double());
    if (ka == K::Double && kb == K::Int) return int_equals_double(b.as_int(), a.as_double());
    return false;
  }
  switch (ka) {
    case K::Null:
      return true;
    case K::Bool:
      return a.as_bool() == b.as_bool();
    case K::Int:
      return a.as_int() == b.as_int();
    case K::Double:
      return a.as_double() == b.as_double();
    case K::String:
      return a.as_string() == b.as_string();
    case K::Timestamp:
      return a.as_timestamp() == b.as_timestamp();
    case K::Duration:
      return a.as_duration() == b.as_duration();
    case K::List: {
      const List& la = a.as_list();
      const List& lb = b.as_list();
      if (la.size() != lb.size()) return false;
      for (size_t i = 0; i < la.size(); ++i) {
        if (!(la[i] == lb[i])) return false;
      }
      return true;
    }
    case K::Map: {
      const Map& ma = a.as_map();
      const Map& mb = b.as_map();
      if (ma.size() != mb.size()) return false;
      auto ia = ma.begin();
      auto ib = mb.begin();
      for (; ia != ma.end(); ++ia, ++ib) {
        if (ia->first != ib->first || !(ia->second == ib->second)) return false;
      }
      return true;
    }
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind()) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Double:
      return "decimal";
    case Kind::String:
      return "string";
    case Kind::Timestamp:
      return "timestamp";
    case Kind::Duration:
      return "duration";
    case Kind::List:
      return "list";
    case Kind::Map:
      return "map";
  }
  return "?";
}

std::string Value::debug_string() const {
  std::string out;
  append_debug(&out, *this);
  return out;
}

}  // namespace gridcase
