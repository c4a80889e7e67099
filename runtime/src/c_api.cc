// The C boundary: handles, statuses and the per-thread error message. No
// exception crosses it.

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "attn/attn.h"
#include "error.h"
#include "kernels/kernels.h"
#include "kernels/quant/quant_kernels.h"
#include "model.h"
#include "sampler.h"
#include "session.h"
#include "tokenizer/bpe.h"

struct attn_model {
  std::shared_ptr<const attn::Model> model;
};

struct attn_thread_pool {
  std::shared_ptr<attn::WorkerPool> pool;
};

struct attn_session {
  std::unique_ptr<attn::Session> session;
};

namespace {

thread_local std::string last_error;

attn_status record(attn_status status, const std::string& message) {
  try {
    last_error = message;
  } catch (...) {
    // Keep the status even if the message cannot be stored.
  }
  return status;
}

// Runs `body`, turning every exception into a status and a message.
template <typename F>
attn_status guarded(F&& body) {
  try {
    last_error.clear();
    body();
    return ATTN_OK;
  } catch (const attn::Error& e) {
    return record(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return record(ATTN_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return record(ATTN_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return record(ATTN_ERROR_INTERNAL, "internal error");
  }
}

void require(const void* p, const char* what) {
  if (!p) attn::fail(ATTN_ERROR_INVALID_ARGUMENT, std::string(what) + " is null");
}

attn_status finish_load(std::unique_ptr<attn::ModelBytes> bytes, attn_model** out) {
  auto handle = std::make_unique<attn_model>();
  handle->model = attn::load_model(std::move(bytes));
  *out = handle.release();
  return ATTN_OK;
}

}  // namespace

extern "C" {

void attn_session_options_init(attn_session_options* options) {
  if (!options) return;
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
  options->threads = 1;
}

// attn.h is one self-contained file (packages copy it alone), so its version
// macros are literals: this keeps them equal to CMakeLists.txt's project().
static_assert(ATTN_VERSION_MAJOR == ATTN_PROJECT_VERSION_MAJOR && ATTN_VERSION_MINOR == ATTN_PROJECT_VERSION_MINOR &&
                  ATTN_VERSION_PATCH == ATTN_PROJECT_VERSION_PATCH,
              "attn.h's ATTN_VERSION_* differ from the version in CMakeLists.txt's project()");

const char* attn_version(void) { return ATTN_PROJECT_VERSION; }

const char* attn_kernel_path(void) {
  try {
    return attn::kernels().path;  // the first call detects the CPU and may allocate
  } catch (...) {
    return "unknown";
  }
}

const char* attn_last_error_message(void) { return last_error.c_str(); }

attn_status attn_model_load_file(const char* path, attn_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    require(path, "path");
    try {
      finish_load(attn::ModelBytes::map_file(path), out_model);
    } catch (const attn::Error& e) {
      throw attn::Error(e.status(), std::string(path) + ": " + e.what());
    }
  });
}

attn_status attn_model_load_memory(const void* data, size_t size, attn_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    require(data, "data");
    finish_load(attn::ModelBytes::copy(data, size), out_model);
  });
}

void attn_model_release(attn_model* model) { delete model; }

attn_status attn_model_input_count(const attn_model* model, size_t* out_count) {
  return guarded([&] {
    require(model, "model");
    require(out_count, "out_count");
    *out_count = model->model->inputs.size();
  });
}

attn_status attn_model_output_count(const attn_model* model, size_t* out_count) {
  return guarded([&] {
    require(model, "model");
    require(out_count, "out_count");
    *out_count = model->model->outputs.size();
  });
}

static attn_status tensor_info(const attn_model* model, size_t index, attn_tensor_info* out, bool input) {
  return guarded([&] {
    require(model, "model");
    require(out, "out_info");
    const auto& infos = input ? model->model->input_infos : model->model->output_infos;
    if (index >= infos.size())
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, std::string(input ? "input" : "output") + " index " +
                                                  std::to_string(index) + " is out of range (the model has " +
                                                  std::to_string(infos.size()) + ")");
    *out = infos[index];
  });
}

attn_status attn_model_input_info(const attn_model* model, size_t index, attn_tensor_info* out_info) {
  return tensor_info(model, index, out_info, true);
}

attn_status attn_model_output_info(const attn_model* model, size_t index, attn_tensor_info* out_info) {
  return tensor_info(model, index, out_info, false);
}

attn_status attn_model_max_tokens(const attn_model* model, int64_t* out_tokens) {
  return guarded([&] {
    require(model, "model");
    require(out_tokens, "out_tokens");
    *out_tokens = model->model->max_tokens;
  });
}

attn_status attn_model_metadata(const attn_model* model, const char* key, const char** out_value) {
  return guarded([&] {
    require(model, "model");
    require(key, "key");
    require(out_value, "out_value");
    const attn::Model& m = *model->model;
    const std::string k = key;
    if (k == "family") *out_value = m.family.c_str();
    else if (k == "attention") *out_value = m.attention.c_str();
    else if (k == "config_json") *out_value = m.config_json.c_str();
    else if (k == "converter_version") *out_value = m.converter_version.c_str();
    else if (k == "source_sha256") *out_value = m.source_sha256.c_str();
    else attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "unknown metadata key '" + k + "'");
  });
}

attn_status attn_model_sample_count(const attn_model* model, size_t* out_count) {
  return guarded([&] {
    require(model, "model");
    require(out_count, "out_count");
    *out_count = model->model->samples.size();
  });
}

// Input or output `index` of embedded sample `sample`, checked.
static const attn::SampleTensor& sample_entry(const attn_model* model, size_t sample, size_t index, bool input) {
  require(model, "model");
  const auto& samples = model->model->samples;
  if (sample >= samples.size())
    attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "sample " + std::to_string(sample) + " is out of range (the model has " +
                                                std::to_string(samples.size()) + ")");
  const auto& list = input ? samples[sample].inputs : samples[sample].outputs;
  if (index >= list.size())
    attn::fail(ATTN_ERROR_INVALID_ARGUMENT, std::string(input ? "input" : "output") + " index " + std::to_string(index) +
                                                " is out of range");
  return list[index];
}

static attn_status sample_tensor(const attn_model* model, size_t sample, size_t index, attn_tensor_info* out_info,
                                 const void** out_data, bool input) {
  return guarded([&] {
    require(out_info, "out_info");
    require(out_data, "out_data");
    const attn::SampleTensor& t = sample_entry(model, sample, index, input);
    *out_info = t.info;
    *out_data = t.data;
  });
}

attn_status attn_model_sample_input(const attn_model* model, size_t sample, size_t index, attn_tensor_info* out_info,
                                    const void** out_data) {
  return sample_tensor(model, sample, index, out_info, out_data, true);
}

attn_status attn_model_sample_output(const attn_model* model, size_t sample, size_t index, attn_tensor_info* out_info,
                                     const void** out_data) {
  return sample_tensor(model, sample, index, out_info, out_data, false);
}

attn_status attn_model_sample_allowance(const attn_model* model, size_t sample, size_t index, float* out_allowance) {
  return guarded([&] {
    require(out_allowance, "out_allowance");
    *out_allowance = sample_entry(model, sample, index, false).rounding_allowance;
  });
}

const char* attn_op_class_name(attn_op_class op_class) {
  static const char* names[] = {"attention", "dense", "norm", "activation", "other"};
  // A C caller may pass any int: read it as one, not as a C++ enum.
  int value;
  std::memcpy(&value, &op_class, sizeof value);
  return value >= 0 && value < ATTN_OP_CLASS_COUNT ? names[value] : "unknown";
}

attn_status attn_session_profile(const attn_session* session, double* out_seconds, uint64_t* out_runs) {
  return guarded([&] {
    require(session, "session");
    require(out_seconds, "out_seconds");
    session->session->profile(out_seconds, out_runs);
  });
}

attn_status attn_session_profile_reset(attn_session* session) {
  return guarded([&] {
    require(session, "session");
    session->session->reset_profile();
  });
}

attn_status attn_session_create(attn_model* model, const attn_session_options* options, attn_session** out_session) {
  return guarded([&] {
    require(out_session, "out_session");
    *out_session = nullptr;
    require(model, "model");
    attn_session_options opts;
    attn_session_options_init(&opts);
    if (options) {
      if (options->struct_size < offsetof(attn_session_options, threads) + sizeof(uint32_t) ||
          options->struct_size > 4096)
        attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "options->struct_size " + std::to_string(options->struct_size) +
                                                    " is not a valid attn_session_options size (this build's is " +
                                                    std::to_string(sizeof(attn_session_options)) + ")");
      opts.threads = options->threads;
      if (options->struct_size >= offsetof(attn_session_options, profile) + sizeof(uint32_t))
        opts.profile = options->profile;
      // Each later field is read when the caller's struct holds it.
      auto holds = [&](size_t offset, size_t size) { return options->struct_size >= offset + size; };
      if (holds(offsetof(attn_session_options, kernel_path), sizeof(const char*))) opts.kernel_path = options->kernel_path;
      if (holds(offsetof(attn_session_options, dense), sizeof(uint32_t))) opts.dense = options->dense;
      if (holds(offsetof(attn_session_options, cancel_data), sizeof(void*))) {
        opts.cancel = options->cancel;
        opts.cancel_data = options->cancel_data;
      }
      if (holds(offsetof(attn_session_options, pool), sizeof(attn_thread_pool*))) opts.pool = options->pool;
      if (holds(offsetof(attn_session_options, wait), sizeof(uint32_t))) opts.wait = options->wait;
      if (holds(offsetof(attn_session_options, quant_kernels), sizeof(const char*)))
        opts.quant_kernels = options->quant_kernels;
    }
    attn::SessionConfig config;
    config.threads = opts.threads;
    config.profile = opts.profile != 0;
    config.kernels = &attn::kernels_by_name(opts.kernel_path);
    if (opts.quant_kernels) config.quant = &attn::quant_kernels_by_name(opts.quant_kernels);
    if (opts.dense > ATTN_DENSE_GEMM_IN_PLACE)
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "options->dense " + std::to_string(int(opts.dense)) +
                                                  " is not an attn_dense_backend");
    config.dense = attn_dense_backend(opts.dense);
    config.cancel = opts.cancel;
    config.cancel_data = opts.cancel_data;
    if (opts.pool) config.pool = opts.pool->pool;
    if (opts.wait != ATTN_WAIT_SPIN && opts.wait != ATTN_WAIT_BLOCK)
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "options->wait " + std::to_string(int(opts.wait)) + " is not an attn_wait_mode");
    config.spin = opts.wait == ATTN_WAIT_SPIN;
    auto handle = std::make_unique<attn_session>();
    handle->session = std::make_unique<attn::Session>(model->model, config);
    *out_session = handle.release();
  });
}

void attn_session_release(attn_session* session) { delete session; }

attn_status attn_session_set_input(attn_session* session, size_t index, const void* data, size_t bytes,
                                   const int64_t* shape, size_t rank) {
  return guarded([&] {
    require(session, "session");
    // `rank` says how many entries `shape` holds: check it before any is read.
    if (rank > ATTN_MAX_RANK)
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "input rank " + std::to_string(rank) + " is more than ATTN_MAX_RANK (" +
                                                  std::to_string(ATTN_MAX_RANK) + "); no shape entry was read");
    session->session->set_input(index, data, bytes, shape, rank);
  });
}

attn_status attn_session_run(attn_session* session) {
  return guarded([&] {
    require(session, "session");
    session->session->run();
  });
}

attn_status attn_session_decode(attn_session* session, const int32_t* ids, size_t count) {
  return guarded([&] {
    require(session, "session");
    session->session->decode(ids, count);
  });
}

attn_status attn_session_reset(attn_session* session) {
  return guarded([&] {
    require(session, "session");
    session->session->reset_cache();
  });
}

attn_status attn_session_position(const attn_session* session, size_t* out_position) {
  return guarded([&] {
    require(session, "session");
    require(out_position, "out_position");
    *out_position = session->session->position();
  });
}

attn_status attn_session_cache_info(const attn_session* session, size_t* out_bytes, size_t* out_bytes_per_token) {
  return guarded([&] {
    require(session, "session");
    if (out_bytes) *out_bytes = session->session->cache_bytes();
    if (out_bytes_per_token) *out_bytes_per_token = session->session->cache_bytes_per_token();
  });
}

attn_status attn_session_output_info(const attn_session* session, size_t index, attn_tensor_info* out_info) {
  return guarded([&] {
    require(session, "session");
    require(out_info, "out_info");
    *out_info = session->session->output_info(index);
  });
}

attn_status attn_session_get_output(const attn_session* session, size_t index, void* buffer, size_t capacity) {
  return guarded([&] {
    require(session, "session");
    session->session->get_output(index, buffer, capacity);
  });
}

/* --- Thread pools -------------------------------------------------------- */

attn_status attn_thread_pool_create(uint32_t threads, uint32_t wait, attn_thread_pool** out_pool) {
  return guarded([&] {
    require(out_pool, "out_pool");
    *out_pool = nullptr;
    if (threads > 1024) attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "threads " + std::to_string(threads) + " is more than 1024");
    if (wait != ATTN_WAIT_SPIN && wait != ATTN_WAIT_BLOCK)
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "wait " + std::to_string(int(wait)) + " is not an attn_wait_mode");
    const size_t n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
    auto handle = std::make_unique<attn_thread_pool>();
    handle->pool = std::make_shared<attn::WorkerPool>(n, wait == ATTN_WAIT_SPIN);
    *out_pool = handle.release();
  });
}

void attn_thread_pool_release(attn_thread_pool* pool) { delete pool; }

/* --- Loading without a copy --------------------------------------------- */

attn_status attn_model_load_memory_flags(const void* data, size_t size, uint32_t flags, attn_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    require(data, "data");
    if (flags & ~uint32_t(ATTN_LOAD_NO_COPY))
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "flags has unknown bits " + std::to_string(flags & ~uint32_t(ATTN_LOAD_NO_COPY)));
    finish_load(flags & ATTN_LOAD_NO_COPY ? attn::ModelBytes::borrow(data, size) : attn::ModelBytes::copy(data, size),
                out_model);
  });
}

attn_status attn_model_load_fd(int fd, uint64_t offset, uint64_t length, attn_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = nullptr;
    try {
      finish_load(attn::ModelBytes::map_fd(fd, offset, length), out_model);
    } catch (const attn::Error& e) {
      throw attn::Error(e.status(), "fd " + std::to_string(fd) + " at offset " + std::to_string(offset) + ": " + e.what());
    }
  });
}

}  // extern "C"

// --- Text: tokenizer and sampling ---------------------------------------------

struct attn_sampler {
  std::unique_ptr<attn::Sampler> sampler;
};

namespace {

const attn::text::Bpe& tokenizer_of(const attn_model* model) {
  require(model, "model");
  if (!model->model->tokenizer)
    attn::fail(ATTN_ERROR_BAD_STATE, "the model has no tokenizer (convert it with attn-convert --tokenizer)");
  return *model->model->tokenizer;
}

}  // namespace

extern "C" {

attn_status attn_model_has_tokenizer(const attn_model* model, int* out_has) {
  return guarded([&] {
    require(model, "model");
    require(out_has, "out_has");
    *out_has = model->model->tokenizer ? 1 : 0;
  });
}

attn_status attn_tokenizer_info(const attn_model* model, size_t* out_vocab, int32_t* out_eos_id) {
  return guarded([&] {
    const attn::text::Bpe& bpe = tokenizer_of(model);
    if (out_vocab) *out_vocab = bpe.size();
    if (out_eos_id) *out_eos_id = bpe.eos_id();
  });
}

attn_status attn_tokenize(const attn_model* model, const char* text, size_t length, int32_t* out_ids, size_t capacity,
                          size_t* out_count) {
  return guarded([&] {
    const attn::text::Bpe& bpe = tokenizer_of(model);
    if (length) require(text, "text");
    require(out_count, "out_count");
    if (capacity) require(out_ids, "out_ids");
    std::vector<int32_t> ids;
    bpe.encode(std::string_view(text ? text : "", length), ids);
    *out_count = ids.size();
    if (ids.size() > capacity)
      attn::fail(ATTN_ERROR_BUFFER_TOO_SMALL, "the text is " + std::to_string(ids.size()) + " tokens, the buffer holds " +
                                                  std::to_string(capacity));
    std::copy(ids.begin(), ids.end(), out_ids);
  });
}

attn_status attn_token_bytes(const attn_model* model, int32_t id, const char** out_bytes, size_t* out_length) {
  return guarded([&] {
    const attn::text::Bpe& bpe = tokenizer_of(model);
    require(out_bytes, "out_bytes");
    require(out_length, "out_length");
    if (id < 0 || size_t(id) >= bpe.size())
      attn::fail(ATTN_ERROR_OUT_OF_RANGE, "token id " + std::to_string(id) + " is outside the tokenizer's 0.." + std::to_string(bpe.size() - 1));
    *out_bytes = bpe.token(id).data();
    *out_length = bpe.token(id).size();
  });
}

attn_status attn_detokenize(const attn_model* model, const int32_t* ids, size_t count, char* buffer, size_t capacity,
                            size_t* out_length) {
  return guarded([&] {
    const attn::text::Bpe& bpe = tokenizer_of(model);
    if (count) require(ids, "ids");
    require(out_length, "out_length");
    if (capacity) require(buffer, "buffer");
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) {
      if (ids[i] < 0 || size_t(ids[i]) >= bpe.size())
        attn::fail(ATTN_ERROR_OUT_OF_RANGE, "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside the tokenizer's 0.." +
                                                std::to_string(bpe.size() - 1));
      total += bpe.token(ids[i]).size();
    }
    *out_length = total;
    if (total > capacity)
      attn::fail(ATTN_ERROR_BUFFER_TOO_SMALL, "the text is " + std::to_string(total) + " bytes, the buffer holds " + std::to_string(capacity));
    for (size_t i = 0; i < count; ++i) {
      const std::string_view t = bpe.token(ids[i]);
      std::memcpy(buffer, t.data(), t.size());
      buffer += t.size();
    }
  });
}

void attn_sampler_options_init(attn_sampler_options* options) {
  if (!options) return;
  *options = attn_sampler_options{};
  options->struct_size = sizeof(*options);
  options->temperature = 1;
  options->top_p = 1;
  options->repetition_penalty = 1;
}

attn_status attn_sampler_create(const attn_sampler_options* options, size_t vocab, attn_sampler** out_sampler) {
  return guarded([&] {
    require(options, "options");
    require(out_sampler, "out_sampler");
    *out_sampler = nullptr;
    if (options->struct_size != sizeof(attn_sampler_options))
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "options->struct_size " + std::to_string(options->struct_size) + " is not sizeof(attn_sampler_options) = " +
                                                  std::to_string(sizeof(attn_sampler_options)) + ": call attn_sampler_options_init");
    auto handle = std::make_unique<attn_sampler>();
    handle->sampler = std::make_unique<attn::Sampler>(*options, vocab);
    *out_sampler = handle.release();
  });
}

void attn_sampler_release(attn_sampler* sampler) { delete sampler; }

attn_status attn_sampler_sample(attn_sampler* sampler, const float* logits, size_t count, const int32_t* history,
                                size_t history_count, int32_t* out_id) {
  return guarded([&] {
    require(sampler, "sampler");
    require(logits, "logits");
    require(out_id, "out_id");
    if (history_count) require(history, "history");
    *out_id = sampler->sampler->sample(logits, count, history, history_count);
  });
}

}  // extern "C"
