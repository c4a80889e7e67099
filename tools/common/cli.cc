#include "cli.h"

#include <attn/attn.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <new>

#include "attn_build_info.h"
#include "escape.h"

namespace attn::cli {

void SessionChoice::apply(attn_session_options& options) const {
  options.kernel_path = kernel_path.empty() ? nullptr : kernel_path.c_str();
  options.quant_kernels = quant_kernels.empty() ? nullptr : quant_kernels.c_str();
  options.dense = dense;
}

void add_session_options(CLI::App& app, SessionChoice& choice) {
  app.add_option("--kernel-path", choice.kernel_path,
                 "run on this kernel path (one of those --version lists; default the best this CPU has)")
      ->type_name("NAME");
  app.add_option("--quant-kernels", choice.quant_kernels,
                 "run f16/q8/q4/q8c weights on this kernel variant (one of those --version lists; default the kernel "
                 "path's best)")
      ->type_name("NAME");
  app.add_option_function<std::string>(
         "--dense",
         [&dense = choice.dense](const std::string& name) {
           const std::map<std::string, uint32_t> backends{
               {"auto", ATTN_DENSE_AUTO},
               {"gemm", ATTN_DENSE_GEMM},
               {"xnnpack", ATTN_DENSE_XNNPACK},
               {"packed", ATTN_DENSE_GEMM_PACKED},
               {"inplace", ATTN_DENSE_GEMM_IN_PLACE}};
           dense = backends.at(name);  // checked below: one of the five
         },
         "dense layers on: auto (the path's own GEMM where it measured faster), gemm, xnnpack, or the own GEMM "
         "with f32 weights packed or in place")
      ->check(CLI::IsMember({"auto", "gemm", "xnnpack", "packed", "inplace"}))
      ->type_name("BACKEND");
}

const char* commit() { return ATTN_COMMIT; }

const char* build_type() {
  static const std::string type = ATTN_BUILD_TYPE;
  return type.empty() ? "unspecified" : type.c_str();
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string version_text(const std::string& tool) {
  return tool + " (attn " + attn_version() + ", commit " + commit() + ", " + build_type() + " build)\n" +
         "kernel paths " + attn_kernel_paths() + "; in use " + attn_kernel_path() + "\n" +
         "quantized kernel variants " + attn_quant_kernel_variants() + "\n" +
         "dense backends gemm, packed, inplace" + (ATTN_BUILT_WITH_XNNPACK ? ", xnnpack" : " (built without XNNPACK)") +
         "\n";
}

namespace {

// CLI11's failure message as one line, with the hint.

std::string first_line(const std::string& text) {
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

int usage_mistake(const std::string& tool, const std::string& message) {
  std::fprintf(stderr, "%s: error: %s (see '%s --help')\n", tool.c_str(), first_line(message).c_str(), tool.c_str());
  return kUsage;
}

}  // namespace

void configure(CLI::App& app, const std::string& tool) {
  app.name(tool);
  app.set_version_flag("--version", [tool] { return version_text(tool); }, "print the version, commit, build type and kernel paths");
  app.get_formatter()->column_width(28);
  app.allow_windows_style_options(false);
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body, const std::string& memory_use) {
  const std::string tool = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kOk;
  } catch (const CLI::CallForVersion& v) {
    std::fputs(v.what(), stdout);
    return kOk;
  } catch (const CLI::ParseError& e) {
    return usage_mistake(tool, e.what());
  }
  return run_body(tool, body, memory_use);
}

int run_body(const std::string& tool, const std::function<int()>& body, const std::string& memory_use) {
  try {
    return body();
  } catch (const Failure& e) {
    if (e.kind() == Failure::Kind::Usage) return usage_mistake(tool, text::terminal_safe(e.what()));
    std::fflush(stdout);  // what the tool printed comes before the error
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), text::terminal_safe(e.what()).c_str());
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: out of memory%s%s (the library names its own allocations)\n", tool.c_str(),
                 memory_use.empty() ? "" : " for ", memory_use.c_str());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), text::terminal_safe(e.what()).c_str());
  }
  return kFailure;
}

std::vector<uint32_t> parse_uint_list(const std::string& flag, const std::string& text, uint32_t max) {
  std::vector<uint32_t> list;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    errno = 0;
    const unsigned long long x = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || item[0] == '-' || !end || *end || errno || x > max)
      throw usage_error(flag + " takes integers in 0.." + std::to_string(max) + " separated by commas, got '" + text + "'");
    list.push_back(uint32_t(x));
    if (comma == std::string::npos) return list;
    start = comma + 1;
  }
}

}  // namespace attn::cli
