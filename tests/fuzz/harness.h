// What each fuzz target does with one input, shared by the libFuzzer targets
// and by test_regressions (which replays every committed crash input under
// the ordinary test runner).
//
// Each function must return for every input. It returns "" when the input
// was handled as the contract says (accepted, or refused with a status of the
// right kind and a message naming the problem) and otherwise a description of
// the broken promise; a fuzz target aborts on that, so it counts as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn::fuzz {

// attn_model_load_memory, the model queries, attn_session_create and one run
// with a valid synthetic input, through the C API.
std::string check_model(const uint8_t* data, size_t size);

// read_safetensors; when the file parses, the graph builder against a few
// fixed configs, and any model built must load again.
std::string check_safetensors(const uint8_t* data, size_t size);

// parse_config; when the text parses, the config's invariants.
std::string check_config(const uint8_t* data, size_t size);

}  // namespace attn::fuzz
