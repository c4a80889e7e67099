// The converter's name and version, stored in every file it writes
// (Metadata.converter_version). The version is the project's (CMakeLists.txt).
#pragma once

namespace attn::convert {
inline constexpr const char* kConverterVersion = "attn-convert " ATTN_PROJECT_VERSION;
}
