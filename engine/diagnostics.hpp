#pragma once
// Located problems found while loading workflows and the org tree.
#include <string>
#include <vector>

#include "engine/result.hpp"

namespace gridcase {

struct Diagnostic {
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  std::string file;
  SourcePos pos;
  std::string message;
  // "FILE:LINE:COL: error: MESSAGE" (FILE: error: ... when there is no position).
  std::string format() const;
};

class Diagnostics {
 public:
  void error(std::string file, SourcePos pos, std::string message);
  void warning(std::string file, SourcePos pos, std::string message);
  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return items_; }

 private:
  std::vector<Diagnostic> items_;
  int errors_ = 0;
};

}  // namespace gridcase
