#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn::convert {

// Lower-case hex SHA-256 (FIPS 180-4) of a byte range.
std::string sha256_hex(const uint8_t* data, size_t size);

}  // namespace attn::convert
