#pragma once

namespace attn::convert {
inline constexpr const char* kConverterVersion = "attn-convert 0.1.0";
}
