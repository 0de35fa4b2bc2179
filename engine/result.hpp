#pragma once
// Errors as values on the event path: Result<T> holds a T or an Error.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace gridcase {

// A place in a source file: 1-based line and column (columns count Unicode code points).
// line 0 means "no place".
struct SourcePos {
  int line = 0;
  int col = 0;
};

struct Error {
  std::string message;
  SourcePos pos;  // where in the source, when the error is about a source text
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

inline Error err(std::string message, SourcePos pos = {}) {
  return Error{std::move(message), pos};
}

}  // namespace gridcase
