// JSON from a config.json or a safetensors header, parsed strictly: a key
// repeated within one object is an error naming it (nlohmann would keep the
// last value silently). The check costs O(log keys) per key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace attn::convert {

// Throws InputError "SOURCE: ..." for invalid JSON or a duplicate key.
nlohmann::json parse_strict_json(const char* begin, const char* end, const std::string& source);

}  // namespace attn::convert
