#pragma once
// Helpers for strict YAML loading with located errors (yaml-cpp marks are 0-based).
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/diagnostics.hpp"

namespace gridcase::yaml {

// While a loader runs, the text it parses; positions then count columns in Unicode code
// points (yaml-cpp counts bytes), so they agree with what an editor shows for Chinese text.
class TextScope {
 public:
  explicit TextScope(std::string_view text);
  ~TextScope();
  TextScope(const TextScope&) = delete;
  TextScope& operator=(const TextScope&) = delete;

 private:
  std::string_view previous_;
};

// The 1-based position of a node, line 0 if it has none.
SourcePos pos_of(const YAML::Node& n);

// Where a whole document is: its node's position, or 1:1 for an empty file (which has none).
SourcePos doc_pos(const YAML::Node& root);

// Where a scalar's text begins: after the opening quote for quoted scalars.
SourcePos text_pos(const YAML::Node& n, std::string_view file_text);

// For each code point of a scalar's value, and one past its end, its position in the file
// being loaded (see TextScope): escapes, doubled quotes, block indentation and folded line
// breaks are accounted for. Empty when the raw text cannot be matched to the value.
std::vector<SourcePos> scalar_map(const YAML::Node& n);

// What check_keys does with a key not allowed: an error, or a warning that it is ignored,
// naming the allowed key it is likely a misspelling of.
enum class UnknownKey { Error, IgnoredWarning };

// Reports keys of `map` not in `allowed` (see UnknownKey), and duplicate keys, as errors.
void check_keys(const YAML::Node& map, std::span<const std::string_view> allowed,
                const std::string& file, std::string_view what, Diagnostics& diags,
                UnknownKey unknown = UnknownKey::Error);
inline void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                       const std::string& file, std::string_view what, Diagnostics& diags) {
  check_keys(map, std::span<const std::string_view>(allowed.begin(), allowed.size()), file, what,
             diags);
}

// Scalar accessors that report a located error and return nullopt on mismatch.
std::optional<std::string> get_string(const YAML::Node& n, const std::string& file,
                                      std::string_view what, Diagnostics& diags);
std::optional<int64_t> get_int(const YAML::Node& n, const std::string& file, std::string_view what,
                               Diagnostics& diags);
std::optional<bool> get_bool(const YAML::Node& n, const std::string& file, std::string_view what,
                             Diagnostics& diags);

// Parses a whole document; a syntax error is reported located and gives nullopt.
std::optional<YAML::Node> parse(std::string_view text, const std::string& file, Diagnostics& diags);

// Checks that the text is valid UTF-8; reports the first bad byte's line and column.
bool check_utf8(std::string_view text, const std::string& file, Diagnostics& diags);

bool read_file(const std::string& path, std::string& out);

}  // namespace gridcase::yaml
