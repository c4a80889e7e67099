#include "session.h"

#include <cmath>
#include <cstring>
#include <string>

#include "error.h"
#include "ops/xnnpack_dense.h"
#include "shape_text.h"

namespace attn {

Session::Session(std::shared_ptr<const Model> model, const SessionConfig& config)
    : model_(std::move(model)), cancel_(config.cancel), cancel_data_(config.cancel_data) {
  initialize_xnnpack();
  const Model& m = *model_;
  ExecutorConfig exec;
  exec.kernels = config.kernels;
  exec.quant = config.quant;
  exec.threads = config.threads;
  exec.pool = config.pool;
  exec.spin = config.spin;
  exec.profile = config.profile;
  exec.dense = config.dense;
  executor_ = std::make_unique<Executor>(exec);
  for (const OpInfo& op : m.ops) ops_.push_back(make_operator(op));
  memory_ = std::make_unique<SessionMemory>(m, ops_, executor_->kernels());
  const PrepareContext prepare{m, *executor_, config.dense};
  for (auto& op : ops_) op->prepare(prepare);
  if (memory_->cache_floats()) decode_ids_.assign(size_t(m.max_tokens), 0);
  input_set_.assign(m.inputs.size(), false);
  input_n_.assign(m.inputs.size(), 0);
}

void Session::set_input(size_t index, const void* data, size_t bytes, const int64_t* shape, size_t rank) {
  const Model& m = *model_;
  if (index >= m.inputs.size())
    fail(ATTN_ERROR_INVALID_ARGUMENT, "input index " + std::to_string(index) + " is out of range (the model has " +
                                          std::to_string(m.inputs.size()) + ")");
  if (!data) fail(ATTN_ERROR_INVALID_ARGUMENT, "input data is null");
  if (rank && !shape) fail(ATTN_ERROR_INVALID_ARGUMENT, "input shape is null");
  const ValueInfo& v = m.values[m.inputs[index]];
  // Messages are built only on failure: set_input must not allocate.
  auto expected = [&] { return "input '" + v.name + "' expects shape " + shape_text(v.shape.data(), v.shape.size()); };
  if (rank != v.shape.size()) fail(ATTN_ERROR_SHAPE_MISMATCH, expected() + ", got " + shape_text(shape, rank));
  int64_t n = 0;
  size_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (v.shape[i] == -1) {
      if (shape[i] < 1 || shape[i] > m.max_tokens)
        fail(ATTN_ERROR_SHAPE_MISMATCH, expected() + ", got " + shape_text(shape, rank) + ": the sequence length must be 1.." +
                                            std::to_string(m.max_tokens));
      if (n && shape[i] != n) fail(ATTN_ERROR_SHAPE_MISMATCH, expected() + ": its sequence dimensions differ");
      n = shape[i];
    } else if (shape[i] != v.shape[i]) {
      fail(ATTN_ERROR_SHAPE_MISMATCH, expected() + ", got " + shape_text(shape, rank));
    }
    count *= size_t(shape[i]);
  }
  if (bytes != count * 4)
    fail(ATTN_ERROR_SHAPE_MISMATCH, expected() + ": " + std::to_string(count * 4) + " bytes, got " + std::to_string(bytes));
  if (v.dtype == ATTN_DTYPE_I32 && m.vocab > 0) {
    const int32_t* ids = static_cast<const int32_t*>(data);
    for (size_t i = 0; i < count; ++i)
      if (ids[i] < 0 || ids[i] >= m.vocab)
        fail(ATTN_ERROR_OUT_OF_RANGE, "input '" + v.name + "': token id " + std::to_string(ids[i]) + " at position " +
                                          std::to_string(i) + " is outside the vocabulary [0, " +
                                          std::to_string(m.vocab) + ")");
  } else if (v.dtype == ATTN_DTYPE_F32) {
    const float* x = static_cast<const float*>(data);
    for (size_t i = 0; i < count; ++i)
      if (!std::isfinite(x[i]))
        fail(ATTN_ERROR_OUT_OF_RANGE, "input '" + v.name + "': element " + std::to_string(i) + " is not finite");
  }
  std::memcpy(memory_->value(m.inputs[index]), data, bytes);
  input_set_[index] = true;
  input_n_[index] = n;
}

void Session::run() {
  const Model& m = *model_;
  int64_t n = 0;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    if (!input_set_[i]) fail(ATTN_ERROR_BAD_STATE, "input '" + m.values[m.inputs[i]].name + "' has not been set");
    if (input_n_[i]) {
      if (n && input_n_[i] != n) fail(ATTN_ERROR_SHAPE_MISMATCH, "inputs were given different sequence lengths");
      n = input_n_[i];
    }
  }
  RunState state;
  state.n = n ? size_t(n) : size_t(m.max_tokens);
  position_ = 0;
  memory_->reserve_cache(state.n);
  run_steps(state);
  out_rows_ = state.n;
  position_ = memory_->cache_floats() ? state.n : 0;
}

void Session::decode(const int32_t* ids, size_t count) {
  const Model& m = *model_;
  if (!memory_->cache_floats()) fail(ATTN_ERROR_BAD_STATE, "decoding needs a causal (gpt) model");
  if (!ids) fail(ATTN_ERROR_INVALID_ARGUMENT, "ids is null");
  if (count == 0) fail(ATTN_ERROR_INVALID_ARGUMENT, "count is 0: decode at least one token");
  if (count > size_t(m.max_tokens) - position_)
    fail(ATTN_ERROR_OUT_OF_RANGE, "decoding " + std::to_string(count) + " token(s) at position " +
                                      std::to_string(position_) + " would pass the context of " +
                                      std::to_string(m.max_tokens) + " tokens");
  const ValueInfo& in = m.values[m.inputs[0]];
  if (in.dtype != ATTN_DTYPE_I32) fail(ATTN_ERROR_BAD_STATE, "the model's input is not token ids");
  for (size_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= m.vocab)
      fail(ATTN_ERROR_OUT_OF_RANGE, "token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                                        " is outside the vocabulary [0, " + std::to_string(m.vocab) + ")");
  // The ids go to a buffer of their own: the input set with set_input stays.
  std::memcpy(decode_ids_.data(), ids, count * 4);
  RunState state;
  state.n = count;
  state.offset = position_;
  state.decoding = true;
  state.decode_ids = decode_ids_.data();
  memory_->reserve_cache(position_ + count);
  // A failure past this point leaves the cache half-written: start over.
  position_ = 0;
  try {
    run_steps(state);
  } catch (const Error& e) {
    // A cancel stops between operators, having written only positions from
    // state.offset on: the tokens before this call stay.
    if (e.status() == ATTN_ERROR_CANCELLED) position_ = state.offset;
    throw;
  }
  out_rows_ = 1;
  position_ = state.offset + count;
}

void Session::run_steps(const RunState& state) {
  has_run_ = false;
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (cancel_ && cancel_(cancel_data_)) fail(ATTN_ERROR_CANCELLED, "the run was cancelled by options.cancel");
    if (!memory_->folded(k)) ops_[k]->run(*model_, *executor_, state, memory_->buffers(k));
  }
  has_run_ = true;
  executor_->count_run();
}

attn_tensor_info Session::output_info(size_t index) const {
  const Model& m = *model_;
  if (index >= m.outputs.size())
    fail(ATTN_ERROR_INVALID_ARGUMENT, "output index " + std::to_string(index) + " is out of range (the model has " +
                                          std::to_string(m.outputs.size()) + ")");
  if (!has_run_) fail(ATTN_ERROR_BAD_STATE, "the session has no result: run it first");
  attn_tensor_info info = m.output_infos[index];
  for (size_t i = 0; i < info.rank; ++i)
    if (info.shape[i] == -1) info.shape[i] = int64_t(out_rows_);
  return info;
}

void Session::get_output(size_t index, void* buffer, size_t capacity) const {
  attn_tensor_info info = output_info(index);
  if (!buffer) fail(ATTN_ERROR_INVALID_ARGUMENT, "output buffer is null");
  size_t bytes = 4;
  for (size_t i = 0; i < info.rank; ++i) bytes *= size_t(info.shape[i]);
  if (capacity < bytes)
    fail(ATTN_ERROR_BUFFER_TOO_SMALL, "output '" + std::string(info.name) + "' needs " + std::to_string(bytes) +
                                          " bytes, the buffer has " + std::to_string(capacity));
  std::memcpy(buffer, memory_->value(model_->outputs[index]), bytes);
}

}  // namespace attn
