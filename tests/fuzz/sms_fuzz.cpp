// The SMS parser and phone normaliser on arbitrary bytes: a parse or an error text, never
// a crash; what parses has a known category and a severity 1-5.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/http/parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto r = gridcase::http::parse_sms(text, &error);
  if (r) {
    if (r->severity < 1 || r->severity > 5 || r->category.empty()) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  (void)gridcase::http::normalize_phone(text);
  return 0;
}
