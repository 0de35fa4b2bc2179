#pragma once
// The values of the expression language and of case variables and reports.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "engine/time.hpp"

namespace gridcase {

class Value;
using List = std::vector<Value>;
using Map = std::map<std::string, Value, std::less<>>;

class Value {
 public:
  enum class Kind { Null, Bool, Int, Double, String, Timestamp, Duration, List, Map };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int v) : v_(static_cast<int64_t>(v)) {}
  Value(int64_t v) : v_(v) {}
  Value(double v) : v_(v) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Timestamp t) : v_(t) {}
  Value(Duration d) : v_(d) {}
  Value(List l) : v_(std::make_shared<const List>(std::move(l))) {}
  Value(Map m) : v_(std::make_shared<const Map>(std::move(m))) {}
  Value(std::shared_ptr<const List> l) : v_(std::move(l)) {}
  Value(std::shared_ptr<const Map> m) : v_(std::move(m)) {}

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::Null; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_double() const { return kind() == Kind::Double; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return kind() == Kind::String; }
  bool is_timestamp() const { return kind() == Kind::Timestamp; }
  bool is_duration() const { return kind() == Kind::Duration; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_map() const { return kind() == Kind::Map; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  double as_number() const { return is_int() ? static_cast<double>(as_int()) : as_double(); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  Timestamp as_timestamp() const { return std::get<Timestamp>(v_); }
  Duration as_duration() const { return std::get<Duration>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<const List>>(v_); }
  const Map& as_map() const { return *std::get<std::shared_ptr<const Map>>(v_); }

  // Map lookup; nullptr when this is not a map or the key is absent.
  const Value* find(std::string_view key) const;

  // The language's `==`: different types are never equal, except numbers by value.
  friend bool operator==(const Value& a, const Value& b);

  // Short type name for error messages: null, bool, int, decimal, string, ...
  const char* type_name() const;
  // A readable rendering for messages (strings quoted).
  std::string debug_string() const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Timestamp, Duration,
               std::shared_ptr<const List>, std::shared_ptr<const Map>>
      v_;
};

}  // namespace gridcase
