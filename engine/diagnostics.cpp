#include "engine/diagnostics.hpp"

namespace gridcase {

std::string Diagnostic::format() const {
  std::string out = file;
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line) + ':' + std::to_string(pos.col);
  }
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

void Diagnostics::error(std::string file, SourcePos pos, std::string message) {
  items_.push_back({Diagnostic::Severity::Error, std::move(file), pos, std::move(message)});
  ++errors_;
}

void Diagnostics::warning(std::string file, SourcePos pos, std::string message) {
  items_.push_back({Diagnostic::Severity::Warning, std::move(file), pos, std::move(message)});
}

}  // namespace gridcase
