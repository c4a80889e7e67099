// What the benchmark reports about the machine and the build.
#pragma once

#include <string>

namespace attn::infer {

// The CPU model: /proc/cpuinfo's "model name"; on Arm, which has none, the
// board ("Hardware", the device tree's model) and the core types decoded from
// "CPU part"; at worst the architecture.
std::string cpu_model();

unsigned logical_cpus();

// The process's peak resident memory so far (getrusage ru_maxrss), in MiB.
double peak_rss_mib();

// CMAKE_BUILD_TYPE of this build ("unspecified" when empty).
const char* build_type();

}  // namespace attn::infer
