// What the command-line tools share: CLI11 parsing with one set of
// conventions, --version, and the provenance every output carries.
//
// Exit codes: 0 success, 1 the work failed, 2 a usage mistake. A usage
// mistake prints one line, "TOOL: error: MESSAGE", and a hint to --help.
#pragma once

#include <CLI/CLI.hpp>
#include <attn/attn.h>

#include <functional>
#include <string>

#include "failure.h"

namespace attn::cli {

enum ExitCode { kOk = 0, kFailure = 1, kUsage = 2 };

// The build's provenance: the library version, the source commit and the
// build type.
const char* commit();
const char* build_type();

// "2026-12-01T21:30:00Z": when an output was made.
std::string utc_now();

// "TOOL attn VERSION (commit C, TYPE build)\nkernel paths ..., in use ...".
std::string version_text(const std::string& tool);

// Sets the tools' conventions on an app: --version, and usage errors as one
// line. Call before adding options.
void configure(CLI::App& app, const std::string& tool);

// How a tool's sessions run besides their thread count: --kernel-path NAME,
// --quant-kernels NAME and --dense auto|gemm|xnnpack|packed|inplace
// (attn_session_options' kernel_path, quant_kernels and dense).
struct SessionChoice {
  std::string kernel_path;    // empty: the best the CPU has
  std::string quant_kernels;  // empty: the kernel path's best
  uint32_t dense = ATTN_DENSE_AUTO;
  // Sets those three fields of `options`; its names point into this choice.
  void apply(attn_session_options& options) const;
};
void add_session_options(CLI::App& app, SessionChoice& choice);

// Parses argv and runs `body`; maps every outcome to an exit code: help and
// --version exit 0, a CLI11 error or a usage Failure 2, any other exception 1
// (printed as "TOOL: error: MESSAGE", escaped for the terminal: messages
// quote names from untrusted files). Running out of memory names what the
// tool holds in memory (`memory_use`, e.g. "the input items").
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body, const std::string& memory_use = "");

// The same for a body whose arguments are already parsed.
int run_body(const std::string& tool, const std::function<int()>& body, const std::string& memory_use = "");

// A validator for comma-separated lists of non-negative integers, e.g. 1,2,4.
std::vector<uint32_t> parse_uint_list(const std::string& flag, const std::string& text, uint32_t max);

}  // namespace attn::cli
