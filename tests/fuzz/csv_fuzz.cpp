// The CSV parser and the record-to-report mapping on arbitrary bytes: every record has a
// line number within the text, and mapping any record under any header never throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/http/parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto records = gridcase::http::parse_csv(text);
  size_t last_line = 0;
  for (const auto& r : records) {
    if (r.line < last_line || r.line == 0 || r.cells.empty()) std::abort();
    last_line = r.line;
  }
  if (records.size() >= 2) {
    std::vector<gridcase::http::FieldError> errors;
    for (size_t i = 1; i < records.size(); ++i) {
      auto j = gridcase::http::csv_record_to_report(records[0].cells, records[i].cells, &errors);
      (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return 0;
}
