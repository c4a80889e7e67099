// attn-infer: runs an .attnmodel over the items of a .npy file and writes the
// stacked outputs as a float32 .npy.

#include <attn/attn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "npy.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: attn-infer MODEL.attnmodel [--input IN.npy] [--output OUT.npy] [options]\n"
               "\n"
               "Runs every item along the first axis of IN.npy through the model: float32 images\n"
               "[N, C, H, W], or int32/int64 token ids [N, L] (gpt: [N, n], giving [N, n, vocab]).\n"
               "Without --input, describes the model.\n"
               "\n"
               "options:\n"
               "  -i, --input FILE    input .npy\n"
               "  -o, --output FILE   output .npy (float32)\n"
               "  -t, --threads N     worker threads (default 1; 0 = one per core)\n"
               "  -q, --quiet         print nothing on success\n"
               "  -h, --help          this text\n");
}

struct Failure {
  std::string message;
};

void check(attn_status status, const std::string& what) {
  if (status != ATTN_OK) throw Failure{what + ": " + attn_last_error_message()};
}

std::string shape_text(const int64_t* shape, size_t rank) {
  std::string t = "[";
  for (size_t i = 0; i < rank; ++i) t += (i ? ", " : "") + (shape[i] == -1 ? std::string("n") : std::to_string(shape[i]));
  return t + "]";
}

void describe(attn_model* model) {
  const char *family, *attention, *version, *sha;
  check(attn_model_metadata(model, "family", &family), "metadata");
  check(attn_model_metadata(model, "attention", &attention), "metadata");
  check(attn_model_metadata(model, "converter_version", &version), "metadata");
  check(attn_model_metadata(model, "source_sha256", &sha), "metadata");
  int64_t max_tokens;
  check(attn_model_max_tokens(model, &max_tokens), "max_tokens");
  std::printf("family       %s\nattention    %s\nmax tokens   %lld\nconverter    %s\nsource       sha256:%s\n", family,
              attention, (long long)max_tokens, version, sha);
  size_t count;
  check(attn_model_input_count(model, &count), "inputs");
  for (size_t i = 0; i < count; ++i) {
    attn_tensor_info info;
    check(attn_model_input_info(model, i, &info), "input info");
    std::printf("input  %zu     %s %s %s\n", i, info.name, info.dtype == ATTN_DTYPE_F32 ? "float32" : "int32",
                shape_text(info.shape, info.rank).c_str());
  }
  check(attn_model_output_count(model, &count), "outputs");
  for (size_t i = 0; i < count; ++i) {
    attn_tensor_info info;
    check(attn_model_output_info(model, i, &info), "output info");
    std::printf("output %zu     %s float32 %s\n", i, info.name, shape_text(info.shape, info.rank).c_str());
  }
  std::printf("kernels      %s\n", attn_kernel_path());
}

// Converts an item to the model input's dtype, checking what the C API cannot
// see (int64 ids that do not fit int32).
std::vector<uint8_t> item_bytes(const attn::npy::Array& in, size_t item, size_t per_item, attn_dtype want,
                                const std::string& path) {
  using attn::npy::DType;
  const bool is_int = in.dtype != DType::F32;
  if (is_int != (want == ATTN_DTYPE_I32))
    throw Failure{path + ": the model takes " + std::string(want == ATTN_DTYPE_I32 ? "integer token ids" : "float32") +
                  ", the file holds " + (is_int ? "integers" : "float32")};
  std::vector<uint8_t> out(per_item * 4);
  if (in.dtype == DType::I64) {
    const int64_t* src = reinterpret_cast<const int64_t*>(in.data.data()) + item * per_item;
    int32_t* dst = reinterpret_cast<int32_t*>(out.data());
    for (size_t i = 0; i < per_item; ++i) {
      if (src[i] < INT32_MIN || src[i] > INT32_MAX)
        throw Failure{path + ": item " + std::to_string(item) + ": token id " + std::to_string(src[i]) +
                      " is outside the vocabulary"};
      dst[i] = int32_t(src[i]);
    }
  } else {
    std::memcpy(out.data(), in.data.data() + item * per_item * 4, per_item * 4);
  }
  return out;
}

int run(int argc, char** argv) {
  std::string model_path, input_path, output_path;
  attn_session_options options;
  attn_session_options_init(&options);
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Failure{a + " needs a value"};
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "-i" || a == "--input") {
      input_path = value();
    } else if (a == "-o" || a == "--output") {
      output_path = value();
    } else if (a == "-t" || a == "--threads") {
      const std::string v = value();
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (!end || *end || t < 0 || t > 1024) throw Failure{"--threads must be 0..1024, got '" + v + "'"};
      options.threads = uint32_t(t);
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      usage(stderr);
      throw Failure{"unknown option '" + a + "'"};
    } else if (model_path.empty()) {
      model_path = a;
    } else {
      throw Failure{"more than one model given"};
    }
  }
  if (model_path.empty()) {
    usage(stderr);
    return 2;
  }
  if (!output_path.empty() && input_path.empty()) throw Failure{"--output needs --input"};

  attn_model* model = nullptr;
  check(attn_model_load_file(model_path.c_str(), &model), "loading the model");
  struct ModelGuard {
    attn_model* m;
    ~ModelGuard() { attn_model_release(m); }
  } model_guard{model};
  if (input_path.empty()) {
    describe(model);
    return 0;
  }

  attn_tensor_info in_info, out_info;
  check(attn_model_input_info(model, 0, &in_info), "input info");
  check(attn_model_output_info(model, 0, &out_info), "output info");
  attn::npy::Array input;
  try {
    input = attn::npy::read(input_path);
  } catch (const std::exception& e) {
    throw Failure{e.what()};
  }
  const std::string expected = "[N, " + shape_text(in_info.shape, in_info.rank).substr(1);
  if (input.shape.size() != in_info.rank + 1 || input.shape[0] < 1)
    throw Failure{input_path + ": has shape " + shape_text(input.shape.data(), input.shape.size()) + ", the model takes " +
                  expected};
  const size_t items = size_t(input.shape[0]);
  const size_t per_item = input.count() / items;
  std::vector<int64_t> item_shape(input.shape.begin() + 1, input.shape.end());

  attn_session* session = nullptr;
  check(attn_session_create(model, &options, &session), "preparing the session");
  struct SessionGuard {
    attn_session* s;
    ~SessionGuard() { attn_session_release(s); }
  } session_guard{session};

  std::vector<float> outputs;
  std::vector<int64_t> out_shape;
  double seconds = 0;
  for (size_t item = 0; item < items; ++item) {
    const std::vector<uint8_t> bytes = item_bytes(input, item, per_item, in_info.dtype, input_path);
    const std::string where = input_path + ": item " + std::to_string(item);
    attn_status s = attn_session_set_input(session, 0, bytes.data(), bytes.size(), item_shape.data(), item_shape.size());
    if (s == ATTN_ERROR_SHAPE_MISMATCH)
      throw Failure{input_path + ": has shape " + shape_text(input.shape.data(), input.shape.size()) +
                    ", the model takes " + expected + " (" + attn_last_error_message() + ")"};
    check(s, where);
    const auto t0 = std::chrono::steady_clock::now();
    check(attn_session_run(session), where);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    attn_tensor_info info;
    check(attn_session_output_info(session, 0, &info), "output info");
    size_t count = 1;
    for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
    if (item == 0) {
      out_shape.assign(info.shape, info.shape + info.rank);
      outputs.reserve(items * count);
    }
    outputs.resize(outputs.size() + count);
    check(attn_session_get_output(session, 0, outputs.data() + outputs.size() - count, count * 4), "reading the output");
  }
  out_shape.insert(out_shape.begin(), int64_t(items));
  if (!output_path.empty()) {
    try {
      attn::npy::write_f32(output_path, out_shape, outputs.data());
    } catch (const std::exception& e) {
      throw Failure{e.what()};
    }
  }
  if (!quiet)
    std::printf("ran %zu item%s in %.3f s (%.4f ms per item, %s kernels)%s%s\n", items, items == 1 ? "" : "s", seconds,
                1e3 * seconds / double(items), attn_kernel_path(), output_path.empty() ? "" : ", wrote ",
                output_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::fprintf(stderr, "attn-infer: error: %s\n", f.message.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn-infer: error: %s\n", e.what());
    return 1;
  }
}
