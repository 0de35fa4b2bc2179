#pragma once
// simdjson for the hot JSON paths (input events, report bodies): the text is parsed by this
// thread's parser, whose buffers are reused from one text to the next, with no DOM of
// allocated nodes. The element stays valid until this thread parses again.
#include <simdjson.h>

#include <optional>
#include <string_view>

namespace gridcase::json {

simdjson::error_code parse_text(std::string_view text, simdjson::dom::element* root);

// An object's member by name; a repeated key: the last one (as in a DOM built from the text).
std::optional<simdjson::dom::element> member(simdjson::dom::object o, std::string_view key);

}  // namespace gridcase::json
