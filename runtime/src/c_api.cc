// The C boundary: handles, statuses and the per-thread error message. No
// exception crosses it.

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "attn/attn.h"
#include "error.h"
#include "kernels/kernels.h"
#include "model.h"
#include "session.h"

struct attn_model {
  std::shared_ptr<const attn::Model> model;
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

const char* attn_version(void) { return "0.1.0"; }

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

static attn_status sample_tensor(const attn_model* model, size_t sample, size_t index, attn_tensor_info* out_info,
                                 const void** out_data, bool input) {
  return guarded([&] {
    require(model, "model");
    require(out_info, "out_info");
    require(out_data, "out_data");
    const auto& samples = model->model->samples;
    if (sample >= samples.size())
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, "sample " + std::to_string(sample) + " is out of range (the model has " +
                                                  std::to_string(samples.size()) + ")");
    const auto& list = input ? samples[sample].inputs : samples[sample].outputs;
    if (index >= list.size())
      attn::fail(ATTN_ERROR_INVALID_ARGUMENT, std::string(input ? "input" : "output") + " index " + std::to_string(index) +
                                                  " is out of range");
    *out_info = list[index].info;
    *out_data = list[index].data;
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
    }
    auto handle = std::make_unique<attn_session>();
    handle->session = std::make_unique<attn::Session>(model->model, opts.threads, opts.profile != 0);
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

}  // extern "C"
