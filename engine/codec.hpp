#pragma once
// A compact binary encoding of cases and values for storage. Names (workflow, state,
// level, units, vars) are stored as text, so stored cases survive reordering of the
// workflow files and the org tree.
#include <string>
#include <string_view>

#include "engine/case.hpp"
#include "engine/engine.hpp"

namespace gridcase {

void encode_value(const Value& v, std::string& out);
Result<Value> decode_value(std::string_view& in);

std::string encode_case(const Case& c, const Engine& engine);
Result<Case> decode_case(std::string_view bytes, const Engine& engine);

}  // namespace gridcase
