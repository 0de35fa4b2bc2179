#pragma once
// simdjson for the hot JSON paths (input events, report bodies): the text is parsed by this
// thread's parser, whose buffers are reused from one text to the next, with no DOM of
// allocated nodes. The element stays valid until this thread parses again.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace gridcase::json {

simdjson::error_code parse_text(std::string_view text, simdjson::dom::element* root);

// What is wrong with a text parse_text() refused: nlohmann's message, which names the line
// and column ("parse error at line 1, column 3: ..."), else simdjson's.
std::string parse_error_text(std::string_view text, simdjson::error_code code);

// An object's member by name; a repeated key: the last one (as in a DOM built from the text).
std::optional<simdjson::dom::element> member(simdjson::dom::object o, std::string_view key);

// A report's severity as the contract has it: an integer from 1 to 5.
bool is_severity(simdjson::dom::element e);

}  // namespace gridcase::json
