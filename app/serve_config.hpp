#pragma once
// config/gridcase.yaml, the configuration of `gridcase serve`, checked before it is used:
// every value of its type and range (an error: serve does not start), every key known (a
// warning naming the key meant, since a misspelt key would otherwise be ignored without a
// word). `gridcase validate` checks it the same way when it is among the files given.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "engine/diagnostics.hpp"

namespace gridcase::app {

// The file's document when it has no errors (warnings may have been added), else nullopt.
std::optional<YAML::Node> check_serve_config_file(const std::string& path, Diagnostics& diags);

// A document with no `kind` whose top level has a key of the serve config: what `validate`
// takes for one.
bool looks_like_serve_config(const YAML::Node& root);

}  // namespace gridcase::app
