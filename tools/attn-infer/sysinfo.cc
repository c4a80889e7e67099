#include "sysinfo.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#ifndef ATTN_BUILD_TYPE
#define ATTN_BUILD_TYPE ""
#endif

namespace attn::infer {

namespace {

std::string trim(std::string s) {
  const char* space = " \t\r\n";
  s.erase(0, s.find_first_not_of(space));
  const size_t end = s.find_last_not_of(space);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

// "key : value" lines of /proc/cpuinfo, every value of each key in order.
std::map<std::string, std::vector<std::string>> read_cpuinfo() {
  std::map<std::string, std::vector<std::string>> fields;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[trim(line.substr(0, colon))].push_back(trim(line.substr(colon + 1)));
  }
  return fields;
}

// Arm's part numbers (implementer 0x41) of common cores.
std::string arm_core(const std::string& implementer, const std::string& part) {
  static const std::map<unsigned, const char*> arm = {
      {0xd03, "Cortex-A53"}, {0xd04, "Cortex-A35"},   {0xd05, "Cortex-A55"},   {0xd07, "Cortex-A57"},
      {0xd08, "Cortex-A72"}, {0xd09, "Cortex-A73"},   {0xd0a, "Cortex-A75"},   {0xd0b, "Cortex-A76"},
      {0xd0c, "Neoverse-N1"}, {0xd0d, "Cortex-A77"},  {0xd40, "Neoverse-V1"},  {0xd41, "Cortex-A78"},
      {0xd44, "Cortex-X1"},  {0xd46, "Cortex-A510"},  {0xd47, "Cortex-A710"},  {0xd48, "Cortex-X2"},
      {0xd49, "Neoverse-N2"}, {0xd4b, "Cortex-A78C"}, {0xd4d, "Cortex-A715"},  {0xd4e, "Cortex-X3"},
      {0xd4f, "Neoverse-V2"}, {0xd80, "Cortex-A520"}, {0xd81, "Cortex-A720"},  {0xd82, "Cortex-X4"}};
  unsigned impl = 0, p = 0;
  try {
    impl = unsigned(std::stoul(implementer, nullptr, 0));
    p = unsigned(std::stoul(part, nullptr, 0));
  } catch (...) {
    return "";
  }
  if (impl == 0x41) {
    auto it = arm.find(p);
    if (it != arm.end()) return it->second;
  }
  std::ostringstream s;
  s << "implementer 0x" << std::hex << impl << " part 0x" << p;
  return s.str();
}

}  // namespace

std::string cpu_model() {
#if defined(__APPLE__)
  char brand[256];
  size_t size = sizeof brand;
  if (sysctlbyname("machdep.cpu.brand_string", brand, &size, nullptr, 0) == 0) return brand;
#endif
  auto fields = read_cpuinfo();
  for (const char* key : {"model name", "Model Name", "cpu model"})
    if (fields.count(key) && !fields[key].front().empty()) return fields[key].front();
  // Arm: a board name, and the distinct core types in order of appearance.
  std::string board;
  if (fields.count("Hardware")) board = fields["Hardware"].front();
  if (board.empty()) {
    std::ifstream dt("/proc/device-tree/model");
    std::getline(dt, board, '\0');
    board = trim(board);
  }
  std::string cores;
  if (fields.count("CPU part")) {
    std::set<std::string> seen;
    const auto& parts = fields["CPU part"];
    const auto& impls = fields["CPU implementer"];
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string core = arm_core(i < impls.size() ? impls[i] : "0x41", parts[i]);
      if (!core.empty() && seen.insert(core).second) cores += (cores.empty() ? "" : " + ") + core;
    }
  }
  std::string out = board;
  if (!cores.empty()) out += out.empty() ? cores : " (" + cores + ")";
  if (!out.empty()) return out;
  struct utsname u;
  if (uname(&u) == 0) return std::string("unknown ") + u.machine + " CPU";
  return "unknown CPU";
}

unsigned logical_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? unsigned(n) : 1;
}

double peak_rss_mib() {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
#if defined(__APPLE__)
  return double(u.ru_maxrss) / (1024.0 * 1024.0);  // bytes
#else
  return double(u.ru_maxrss) / 1024.0;  // KiB
#endif
}

const char* build_type() {
  static const std::string type = ATTN_BUILD_TYPE;
  return type.empty() ? "unspecified" : type.c_str();
}

}  // namespace attn::infer
