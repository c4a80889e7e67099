#include "session.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include "error.h"
#include "memory_plan.h"
#include "parallel.h"
#include "shape_text.h"

namespace attn {

namespace {

void initialize_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status == xnn_status_unsupported_hardware)
    fail(ATTN_ERROR_UNSUPPORTED_HARDWARE, "XNNPACK does not support this CPU");
  if (status != xnn_status_success)
    fail(ATTN_ERROR_INTERNAL, "XNNPACK failed to initialize (status " + std::to_string(status) + ")");
}

void check_xnn(xnn_status status, const char* what) {
  if (status == xnn_status_success) return;
  if (status == xnn_status_out_of_memory) fail(ATTN_ERROR_OUT_OF_MEMORY, std::string(what) + ": out of memory");
  fail(ATTN_ERROR_INTERNAL, std::string(what) + " failed with XNNPACK status " + std::to_string(status));
}


}  // namespace

Session::Session(std::shared_ptr<const Model> model, const SessionConfig& config)
    : model_(std::move(model)),
      kernels_(config.kernels ? *config.kernels : kernels()),
      profiling_(config.profile),
      dense_(config.dense),
      cancel_(config.cancel),
      cancel_data_(config.cancel_data) {
  const uint32_t threads = config.pool ? uint32_t(config.pool->threads()) : config.threads;
  initialize_xnnpack();
  if (threads > 1024) fail(ATTN_ERROR_INVALID_ARGUMENT, "threads " + std::to_string(threads) + " is more than 1024");
  threads_ = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  try {
    // attn's own kernels run on workers_; XNNPACK on pool_, which only layers
    // without an own GEMM use when there are several threads.
    if (threads_ > 1) {
      workers_ = config.pool ? config.pool : std::make_shared<WorkerPool>(threads_, config.spin);
      if (!kernels_.gemm || dense_ == ATTN_DENSE_XNNPACK) {
        pool_ = pthreadpool_create(threads_);
        if (!pool_) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot create a thread pool of " + std::to_string(threads_) + " threads");
      }
    }
    plan();
    create_operators();
  } catch (...) {
    release();
    throw;
  }
  input_set_.assign(model_->inputs.size(), false);
  input_n_.assign(model_->inputs.size(), 0);
}

Session::~Session() { release(); }

void Session::release() {
  for (Step& s : steps_) {
    if (s.fc.op) xnn_delete_operator(s.fc.op);
    if (s.fc_out.op) xnn_delete_operator(s.fc_out.op);
    s.fc.op = s.fc_out.op = nullptr;
  }
  steps_.clear();
  std::free(arena_block_);
  arena_block_ = arena_ = nullptr;
  std::free(cache_);
  cache_ = nullptr;
  if (pool_) pthreadpool_destroy(pool_);
  pool_ = nullptr;
  workers_.reset();
}

namespace {

constexpr size_t kPackedAlign = 16;  // floats: 64 bytes

size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// x [k, cols] (rows `cols` apart) as a GEMM's right operand, in the panels of
// Kernels::gemm_pack: packed[p][kk][j] = x[kk][p·panel + j], zero past cols.
void pack_right_operand(const float* x, size_t k, size_t cols, size_t panel, float* packed) {
  for (size_t p0 = 0; p0 < cols; p0 += panel) {
    const size_t width = std::min(panel, cols - p0);
    for (size_t kk = 0; kk < k; ++kk, packed += panel) {
      std::copy(x + kk * cols + p0, x + kk * cols + p0 + width, packed);
      std::fill(packed + width, packed + panel, 0.0f);
    }
  }
}

}  // namespace

// Super's W_A·x as a GEMM with x packed at each run when x's rows are a
// multiple of 1 KiB long: the token-mixing kernel reads x a column block at a
// time with rows d floats apart, and such rows land in a few L1 sets (61
// GFLOP/s on CIFAR-100's 256×256 against the GEMM's 85-90 on a Zen 3 core).
// Other widths spread over the sets, and the kernel saves the packing: 0.6-1.6%
// of the whole run on the text models and MNIST. With a causal mask the kernel
// stays: it skips the zero upper triangle, half the work.
bool Session::mixes_by_gemm(const OpInfo& op) const {
  const size_t row_bytes = size_t(op.heads) * size_t(op.head_dim) * sizeof(float);
  return traits_of(op.variant).token_mixing() && !op.causal && kernels_.gemm != nullptr && row_bytes % 1024 == 0;
}

namespace {

// The value that the Add right after op k adds to op k's output, when op k is
// a Dense or Attention op and that Add alone reads its output; -1 otherwise.
// readers[v] counts the op inputs and model outputs that are value v.
int foldable_residual(const Model& m, const std::vector<int>& readers, int k) {
  if (k + 1 >= int(m.ops.size())) return -1;
  const OpInfo& op = m.ops[k];
  const OpInfo& next = m.ops[k + 1];
  if ((op.kind != OpKind::Dense && op.kind != OpKind::Attention) || next.kind != OpKind::Add) return -1;
  const int v = op.outputs[0];
  if (readers[v] != 1) return -1;
  if (next.inputs[0] == v) return next.inputs[1];
  return next.inputs[1] == v ? next.inputs[0] : -1;
}

}  // namespace

// Every value and every op's scratch becomes a buffer request; model inputs
// and outputs live through the whole run (inputs stay valid across runs).
void Session::plan() {
  const Model& m = *model_;
  const int end = static_cast<int>(m.ops.size());
  std::vector<BufferRequest> requests;
  for (const ValueInfo& v : m.values) requests.push_back({v.max_elements * 4, end, -1});
  for (int v : m.inputs) requests[v].first_step = 0, requests[v].last_step = end;
  std::vector<int> readers(m.values.size(), 0);
  for (int k = 0; k < end; ++k) {
    for (int v : m.ops[k].inputs) {
      ++readers[v];
      requests[v].first_step = std::min(requests[v].first_step, k);
      requests[v].last_step = std::max(requests[v].last_step, k);
    }
    for (int v : m.ops[k].outputs) {
      requests[v].first_step = std::min(requests[v].first_step, k);
      requests[v].last_step = std::max(requests[v].last_step, k);
    }
  }
  for (int v : m.outputs) {
    requests[v].last_step = end;
    ++readers[v];
  }
  // A folded Add's sum is written at the step before it, and the output it
  // replaces is never written.
  std::vector<int> residual(m.ops.size(), -1);
  for (int k = 0; k < end; ++k) {
    residual[k] = foldable_residual(m, readers, k);
    if (residual[k] < 0) continue;
    BufferRequest& sum = requests[m.ops[k + 1].outputs[0]];
    sum.first_step = std::min(sum.first_step, k);
    requests[m.ops[k].outputs[0]].bytes = 0;
  }

  // Scratch per op, in floats.
  const size_t L = static_cast<size_t>(m.max_tokens);
  std::vector<std::array<size_t, 3>> scratch(m.ops.size(), {0, 0, 0});
  for (int k = 0; k < end; ++k) {
    const OpInfo& op = m.ops[k];
    if (op.kind == OpKind::PatchEmbed) {
      size_t patches = size_t(op.height / op.patch) * size_t(op.width / op.patch);
      scratch[k][0] = patches * size_t(op.channels) * op.patch * op.patch;
    } else if (op.kind == OpKind::Attention) {
      const size_t d = size_t(op.heads) * op.head_dim;
      const size_t rows = m.values[op.inputs[0]].max_shape[0];
      const VariantTraits& variant = traits_of(op.variant);
      scratch[k][0] = rows * d * size_t(variant.projections());                // projections
      scratch[k][1] = rows * d + (variant.token_mixing() ? rows * d : 0);  // heads' outputs, mixed values
      // Attention scratch per head, then the key mask bytes, then (Super
      // without a causal mask, on a path with a GEMM) x packed as its right operand.
      scratch[k][2] = size_t(op.heads) * attention_scratch_floats(std::max(rows, L), size_t(op.head_dim)) +
                      round_up(rows, kPackedAlign);
      if (mixes_by_gemm(op)) scratch[k][2] += kernels_.gemm_packed_floats(d, rows);
    }
    for (size_t j = 0; j < 3; ++j)
      if (scratch[k][j]) requests.push_back({scratch[k][j] * 4, k, k});
  }

  MemoryPlan p = plan_memory(requests);
  // XNNPACK may read up to XNN_EXTRA_BYTES past the end of a dense layer's input.
  arena_bytes_ = std::max<size_t>(p.arena_bytes, 64) + (XNN_EXTRA_BYTES + 63) / 64 * 64;
  // Zeroed by calloc, which gives a large arena as fresh pages of the kernel's:
  // they become resident when a run first writes them, not at creation, so a
  // session costs the memory of the lengths it runs.
  arena_block_ = std::calloc(arena_bytes_ + 64, 1);
  if (!arena_block_) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate the activation arena of " + std::to_string(arena_bytes_) + " bytes");
  arena_ = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(arena_block_) + 63) / 64 * 64);
  auto at = [&](size_t request) { return reinterpret_cast<float*>(static_cast<char*>(arena_) + p.offsets[request]); };

  value_ptr_.resize(m.values.size());
  for (size_t v = 0; v < m.values.size(); ++v) value_ptr_[v] = at(v);
  size_t next = m.values.size();
  steps_.resize(m.ops.size());
  for (int k = 0; k < end; ++k) {
    Step& s = steps_[k];
    s.op = &m.ops[k];
    for (int v : s.op->inputs) s.in.push_back(static_cast<float*>(value_ptr_[v]));
    const bool folds_next = residual[k] >= 0;
    s.out = static_cast<float*>(value_ptr_[(folds_next ? m.ops[k + 1] : *s.op).outputs[0]]);
    if (folds_next) s.residual = static_cast<const float*>(value_ptr_[residual[k]]);
    s.folded = k > 0 && residual[k - 1] >= 0;
    for (size_t j = 0; j < 3; ++j)
      if (scratch[k][j]) s.scratch[j] = at(next++);
    for (int v : m.outputs) s.model_output |= s.op->outputs[0] == v;
  }
  plan_cache();
}

// The decode cache: [L, d] of keys and of values per causal attention layer,
// a single copy where they are the same data.
void Session::plan_cache() {
  const Model& m = *model_;
  const size_t L = size_t(m.max_tokens);
  for (Step& s : steps_)
    if (s.op->kind == OpKind::Attention && s.op->causal)
      cache_floats_ += L * size_t(s.op->heads) * s.op->head_dim * (traits_of(s.op->variant).values_are_keys() ? 1 : 2);
  if (!cache_floats_) return;
  decode_ids_.assign(L, 0);
  cache_ = static_cast<float*>(std::aligned_alloc(64, (cache_floats_ * 4 + 63) / 64 * 64));
  if (!cache_) fail(ATTN_ERROR_OUT_OF_MEMORY, "cannot allocate the decode cache of " + std::to_string(cache_floats_ * 4) + " bytes");
  float* next = cache_;
  for (Step& s : steps_) {
    if (s.op->kind != OpKind::Attention || !s.op->causal) continue;
    const size_t block = L * size_t(s.op->heads) * s.op->head_dim;
    s.cache_keys = next;
    next += block;
    if (traits_of(s.op->variant).values_are_keys()) {
      s.cache_values = s.cache_keys;
    } else {
      s.cache_values = next;
      next += block;
    }
  }
}

namespace {

// Causal Super Attention must not mix in later tokens; the kernels rely on it.
void check_lower_triangular(const ConstTensor& w) {
  const size_t L = size_t(w.shape[0]);
  for (size_t t = 0; t < L; ++t)
    for (size_t s = t + 1; s < L; ++s)
      if (w.data[t * L + s] != 0.0f)
        fail(ATTN_ERROR_INVALID_MODEL, "tensor '" + w.name + "': causal W_A has a non-zero entry at [" +
                                           std::to_string(t) + ", " + std::to_string(s) + "] above the diagonal");
}

// Layers use the kernel path's own GEMM where it has one and the layer is at
// least the size from which it measured faster than XNNPACK (the path's
// gemm_min_*). With several threads every layer does, so that all work goes
// through the same worker pool. options.dense, or when it is AUTO the
// ATTN_DENSE environment variable (xnnpack or gemm), forces one for every layer.
bool use_own_gemm(const Kernels& k, size_t in_features, size_t out_features, size_t threads,
                  attn_dense_backend dense) {
  static const std::string forced = [] {
    const char* v = std::getenv("ATTN_DENSE");
    return std::string(v ? v : "");
  }();
  if (dense == ATTN_DENSE_AUTO) dense = forced == "xnnpack" ? ATTN_DENSE_XNNPACK : forced == "gemm" ? ATTN_DENSE_GEMM : dense;
  if (!k.gemm || dense == ATTN_DENSE_XNNPACK) return false;
  return dense == ATTN_DENSE_GEMM || threads > 1 ||
         (in_features >= k.gemm_min_in_features && in_features * out_features >= k.gemm_min_weights);
}

}  // namespace

// Weights are packed here: by XNNPACK for this session, or for the own GEMM
// once per model, shared by its sessions.
void Session::create_dense(DenseLayer& layer, int weight, const ConstTensor* b, Activation activation) {
  const ConstTensor& w = model_->tensors[size_t(weight)];
  layer.out_features = size_t(w.shape[0]);
  layer.in_features = size_t(w.shape[1]);
  layer.activation = activation;
  layer.bias = b ? b->data : nullptr;
  if (use_own_gemm(kernels_, layer.in_features, layer.out_features, threads_, dense_)) {
    layer.packed = model_->packed_weights.get(kernels_, weight, w, model_->bytes->mapped());
    return;
  }
  const float lo = activation == Activation::Relu ? 0.0f : -std::numeric_limits<float>::infinity();
  check_xnn(xnn_create_fully_connected_nc_f32(layer.in_features, layer.out_features, layer.in_features,
                                              layer.out_features, w.data, layer.bias, lo,
                                              std::numeric_limits<float>::infinity(), 0, &layer.op),
            ("packing tensor '" + w.name + "'").c_str());
}

void Session::create_operators() {
  const Model& m = *model_;
  auto tensor = [&](int i) { return i >= 0 ? &m.tensors[i] : nullptr; };
  for (Step& s : steps_) {
    const OpInfo& op = *s.op;
    switch (op.kind) {
      case OpKind::Dense:
        create_dense(s.fc, op.weight, tensor(op.bias), op.activation);
        break;
      case OpKind::PatchEmbed:
        create_dense(s.fc, op.weight, tensor(op.bias), Activation::None);
        break;
      case OpKind::Attention:
        if (op.causal && op.align_weight >= 0) check_lower_triangular(m.tensors[op.align_weight]);
        create_dense(s.fc, op.weight, tensor(op.bias), Activation::None);
        create_dense(s.fc_out, op.out_weight, tensor(op.out_bias), Activation::None);
        break;
      default:
        break;
    }
  }
}

size_t Session::rows(int value) const {
  const auto& shape = model_->values[value].shape;
  size_t r = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) r *= shape[i] == -1 ? n_ : size_t(shape[i]);
  return r;
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
  std::memcpy(value_ptr_[m.inputs[index]], data, bytes);
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
  n_ = n ? size_t(n) : size_t(m.max_tokens);
  run_offset_ = 0;
  decoding_ = false;
  position_ = 0;
  run_steps();
  position_ = cache_ ? n_ : 0;
}

void Session::decode(const int32_t* ids, size_t count) {
  const Model& m = *model_;
  if (!cache_) fail(ATTN_ERROR_BAD_STATE, "decoding needs a causal (gpt) model");
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
  n_ = count;
  run_offset_ = position_;
  decoding_ = true;
  // A failure past this point leaves the cache half-written: start over.
  position_ = 0;
  try {
    run_steps();
  } catch (const Error& e) {
    // A cancel stops between operators, having written only positions from
    // run_offset_ on: the tokens before this call stay.
    if (e.status() == ATTN_ERROR_CANCELLED) position_ = run_offset_;
    throw;
  }
  position_ = run_offset_ + count;
}

void Session::run_steps() {
  has_run_ = false;
  for (Step& s : steps_) {
    if (cancel_ && cancel_(cancel_data_)) fail(ATTN_ERROR_CANCELLED, "the run was cancelled by options.cancel");
    run_step(s);
  }
  has_run_ = true;
  out_rows_ = decoding_ ? 1 : n_;
  ++profile_runs_;
}

void Session::profile(double* seconds, uint64_t* runs) const {
  if (!profiling_) fail(ATTN_ERROR_BAD_STATE, "the session was created without options.profile");
  std::copy(profile_seconds_, profile_seconds_ + ATTN_OP_CLASS_COUNT, seconds);
  if (runs) *runs = profile_runs_;
}

void Session::reset_profile() {
  std::fill(profile_seconds_, profile_seconds_ + ATTN_OP_CLASS_COUNT, 0.0);
  profile_runs_ = 0;
}

// One GEMM, c[m, n] = epilogue(a[m, k] · Wᵀ + bias) + residual, split into
// items of column panels.
struct Session::GemmTask {
  const Kernels* kernels;
  const float* a;
  size_t a_stride, m, k;
  const float* packed;
  const float* bias;
  Epilogue epilogue;
  const float* residual;
  float* c;
  size_t n;
  size_t panels_per_item = 0, panels = 0;  // set by run_gemm
  static void run(void* context, size_t item) {
    auto* t = static_cast<GemmTask*>(context);
    const size_t first = item * t->panels_per_item;
    t->kernels->gemm(t->a, t->a_stride, t->m, t->k, t->packed, t->bias, t->epilogue, t->residual, t->c, t->n, t->n,
                     first, std::min(t->panels, first + t->panels_per_item));
  }
};

// Work below this many FLOPs stays on the calling thread: handing it to the
// pool would cost more than it saves (measured on small models).
constexpr double kParallelMinFlops = 4e6;

bool Session::parallel(double flops) const { return workers_ && flops >= kParallelMinFlops; }

// Runs items [0, count) on the workers when the work is worth it.
void Session::for_each(bool in_parallel, WorkerPool::Task task, void* context, size_t count) {
  if (in_parallel) return workers_->run(task, context, count);
  for (size_t i = 0; i < count; ++i) task(context, i);
}

void Session::run_gemm(GemmTask& task) {
  task.panels = (task.n + kernels_.gemm_panel - 1) / kernels_.gemm_panel;
  const bool split = parallel(2.0 * double(task.m) * double(task.k) * double(task.n));
  // Small items, so that a late worker leaves little for the others to wait on.
  task.panels_per_item = split ? std::max<size_t>(1, task.panels / (4 * threads_)) : task.panels;
  for_each(split, &GemmTask::run, &task, (task.panels + task.panels_per_item - 1) / task.panels_per_item);
}

void Session::run_dense(DenseLayer& layer, size_t rows, const float* in, float* out, const float* residual) {
  if (layer.packed) {
    static const Epilogue kEpilogue[] = {Epilogue::None, Epilogue::Gelu, Epilogue::GeluTanh, Epilogue::Relu};
    GemmTask task{&kernels_, in, layer.in_features, rows, layer.in_features, layer.packed, layer.bias,
                  kEpilogue[int(layer.activation)], residual, out, layer.out_features};
    // Activations and the residual are fused: their time counts as dense.
    timed(ATTN_OP_CLASS_DENSE, [&] { run_gemm(task); });
    return;
  }
  if (layer.set_rows != rows || layer.set_in != in) {
    const double flops = 2.0 * double(rows) * double(layer.in_features) * double(layer.out_features);
    layer.pool = pool_ && flops >= kParallelMinFlops ? pool_ : nullptr;
    check_xnn(xnn_setup_fully_connected_nc_f32(layer.op, rows, in, out, layer.pool), "setting up a dense layer");
    layer.set_rows = rows;
    layer.set_in = in;
  }
  timed(ATTN_OP_CLASS_DENSE, [&] { check_xnn(xnn_run_operator(layer.op, layer.pool), "running a dense layer"); });
  const size_t count = rows * layer.out_features;
  if (layer.activation == Activation::Gelu) timed(ATTN_OP_CLASS_ACTIVATION, [&] { kernels_.gelu(out, count); });
  if (layer.activation == Activation::GeluTanh)
    timed(ATTN_OP_CLASS_ACTIVATION, [&] { kernels_.gelu_tanh(out, count); });
  // ReLU is XNNPACK's output clamp.
  if (residual) timed(ATTN_OP_CLASS_OTHER, [&] { kernels_.add(out, residual, out, count); });
}

void Session::run_step(Step& s) {
  if (s.folded) return;
  const OpInfo& op = *s.op;
  const Model& m = *model_;
  switch (op.kind) {
    case OpKind::PatchEmbed:
      run_patch_embed(s);
      break;
    case OpKind::TokenEmbed: timed(ATTN_OP_CLASS_OTHER, [&] {
      const int32_t* ids = decoding_ ? decode_ids_.data() : reinterpret_cast<const int32_t*>(s.in[0]);
      const ConstTensor& table = m.tensors[op.weight];
      const ConstTensor& pos = m.tensors[op.pos_embed];
      const size_t d = size_t(table.shape[1]);
      for (size_t t = 0; t < n_; ++t)
        kernels_.add(table.data + size_t(ids[t]) * d, pos.data + (run_offset_ + t) * d, s.out + t * d, d);
    });
      break;
    case OpKind::LayerNorm: timed(ATTN_OP_CLASS_NORM, [&] {
      const size_t d = size_t(m.tensors[op.weight].count);
      kernels_.layernorm(s.in[0], s.out, rows(op.inputs[0]), d, m.tensors[op.weight].data, m.tensors[op.bias].data,
                         op.eps);
    });
      break;
    case OpKind::Dense: {
      size_t r = rows(op.inputs[0]);
      const float* in = s.in[0];
      if (decoding_ && s.model_output) {  // the logits of the last position only
        in += (r - 1) * size_t(m.tensors[op.weight].shape[1]);
        r = 1;
      }
      run_dense(s.fc, r, in, s.out, s.residual);
      break;
    }
    case OpKind::Attention:
      run_attention(s);
      break;
    case OpKind::Add: timed(ATTN_OP_CLASS_OTHER, [&] {
      const auto& shape = m.values[op.inputs[0]].shape;
      kernels_.add(s.in[0], s.in[1], s.out, rows(op.inputs[0]) * size_t(shape.back()));
    });
      break;
    case OpKind::Pool:
      timed(ATTN_OP_CLASS_OTHER, [&] { run_pool(s); });
      break;
  }
}

void Session::run_patch_embed(Step& s) {
  const OpInfo& op = *s.op;
  const Model& m = *model_;
  const size_t C = op.channels, H = op.height, W = op.width, p = op.patch;
  const size_t gw = W / p, patches = (H / p) * gw, k = C * p * p;
  const size_t d = size_t(m.tensors[op.weight].shape[0]);
  // Gather each patch as a row laid out like the weight: [C, p, p].
  const float* img = s.in[0];
  float* rows_out = s.scratch[0];
  timed(ATTN_OP_CLASS_OTHER, [&] {
    for (size_t i = 0; i < patches; ++i) {
      const size_t py = (i / gw) * p, px = (i % gw) * p;
      float* r = rows_out + i * k;
      for (size_t c = 0; c < C; ++c)
        for (size_t y = 0; y < p; ++y) std::memcpy(r + (c * p + y) * p, img + (c * H + py + y) * W + px, p * 4);
    }
  });
  const bool cls = op.cls_token >= 0;
  float* tokens = s.out + (cls ? d : 0);
  run_dense(s.fc, patches, s.scratch[0], tokens);
  timed(ATTN_OP_CLASS_OTHER, [&] {
    if (cls) std::memcpy(s.out, m.tensors[op.cls_token].data, d * 4);
    const size_t total = (patches + (cls ? 1 : 0)) * d;
    kernels_.add(s.out, m.tensors[op.pos_embed].data, s.out, total);
  });
}

size_t Session::count_real_tokens(const int32_t* ids, int pad_id, const char* op) const {
  size_t real = 0;
  for (size_t t = 0; t < n_; ++t) real += ids[t] != pad_id;
  if (!real)
    fail(ATTN_ERROR_OUT_OF_RANGE, std::string(op) + ": every token of the input is the padding id " + std::to_string(pad_id));
  return real;
}

struct Session::TokenMixTask {
  const Kernels* kernels;
  const ConstTensor* w;
  const float* bias;
  const float* x;
  float* y;
  size_t n, first_row, end_row, cols;
  bool causal;
  // A multiple of every path's row block (4, 6 or 8 rows): with 8, avx2
  // took each item as a block of 6 rows and a slower one of 2.
  static constexpr size_t kRowsPerItem = 24;
  static void run(void* context, size_t item) {
    auto* t = static_cast<TokenMixTask*>(context);
    const size_t row = t->first_row + item * kRowsPerItem;
    t->kernels->token_mix(t->w->data, size_t(t->w->shape[1]), t->bias, t->x, t->y, t->n, row,
                          std::min(t->end_row, row + kRowsPerItem), t->cols, t->causal);
  }
};

// Rows [row_begin, row_end) of W_A·x + b_A, split among threads by rows.
void Session::token_mix(const ConstTensor& w, const float* bias, const float* x, float* y, size_t n, size_t row_begin,
                        size_t row_end, size_t cols, bool causal) {
  TokenMixTask task{&kernels_, &w, bias, x, y, n, row_begin, row_end, cols, causal};
  const size_t rows = row_end - row_begin;
  for_each(parallel(2.0 * double(rows) * double(n) * double(cols)), &TokenMixTask::run, &task,
           (rows + TokenMixTask::kRowsPerItem - 1) / TokenMixTask::kRowsPerItem);
}

// y = W_A[:n, :n]·x + b_A on the path's GEMM, with x packed as its weights.
void Session::mix_by_gemm(const ConstTensor& w, const float* bias, const float* x, float* packed, float* y, size_t n,
                          size_t cols) {
  pack_right_operand(x, n, cols, kernels_.gemm_panel, packed);
  GemmTask task{&kernels_, w.data, size_t(w.shape[1]), n, n, packed, nullptr, Epilogue::None, nullptr, y, cols};
  run_gemm(task);
  if (bias)
    for (size_t t = 0; t < n; ++t)
      for (size_t c = 0; c < cols; ++c) y[t * cols + c] += bias[t];
}

struct Session::AttentionTask {
  const Kernels* kernels;
  AttentionHeadArgs base;
  size_t head_dim;
  float* scratch;
  size_t scratch_per_head;
  static void run(void* context, size_t head) {
    auto* task = static_cast<AttentionTask*>(context);
    AttentionHeadArgs a = task->base;
    const size_t offset = head * task->head_dim;
    a.q += offset;
    a.k += offset;
    a.v += offset;
    a.out += offset;
    a.scratch = task->scratch + head * task->scratch_per_head;
    task->kernels->attention_head(a);
  }
};

namespace {

// This run's rows of each source a variant reads keys and values from: the
// layer input X, the stacked projection (Q, then K and V where projected) and
// the mixed values.
struct AttentionRows {
  const float* x;
  const float* proj;
  const float* mixed;
  size_t d, projections;
  size_t proj_stride() const { return projections * d; }
  struct Rows {
    const float* data;
    size_t stride;
  };
  Rows of(RowSource source) const {
    switch (source) {
      case RowSource::KeyProjection:
      case RowSource::ValueProjection: return {proj + VariantTraits::block_of(source) * d, proj_stride()};
      case RowSource::Mixed: return {mixed, d};
      case RowSource::Input: break;
    }
    return {x, d};
  }
};

}  // namespace

void Session::run_attention(Step& s) {
  const OpInfo& op = *s.op;
  const Model& m = *model_;
  const size_t n = rows(op.inputs[0]);
  const size_t dk = size_t(op.head_dim), d = size_t(op.heads) * dk;
  const VariantTraits& variant = traits_of(op.variant);
  const float* x = s.in[0];
  float* proj = s.scratch[0];
  float* heads_out = s.scratch[1];
  float* mixed = s.scratch[1] + n * d;
  const size_t L = std::max<size_t>(size_t(m.values[op.inputs[0]].max_shape[0]), size_t(m.max_tokens));
  float* scratch = s.scratch[2];
  const size_t scratch_per_head = attention_scratch_floats(L, dk);
  uint8_t* key_masked = nullptr;
  if (op.pad_id >= 0) {
    const int32_t* ids = reinterpret_cast<const int32_t*>(s.in[1]);
    count_real_tokens(ids, op.pad_id, "attention");
    key_masked = reinterpret_cast<uint8_t*>(scratch + size_t(op.heads) * scratch_per_head);
    for (size_t t = 0; t < n; ++t) key_masked[t] = ids[t] == op.pad_id;
  }

  run_dense(s.fc, n, x, proj);
  if (s.cache_keys) {
    run_cached_attention(s, x, proj, heads_out, n);
    run_dense(s.fc_out, n, heads_out, s.out, s.residual);
    return;
  }

  AttentionTask task;
  task.kernels = &kernels_;
  AttentionHeadArgs& a = task.base;
  if (variant.token_mixing()) {
    const ConstTensor& w = m.tensors[op.align_weight];
    const float* bias = op.align_bias >= 0 ? m.tensors[op.align_bias].data : nullptr;
    if (mixes_by_gemm(op)) {
      float* packed = scratch + size_t(op.heads) * scratch_per_head + round_up(n, kPackedAlign);
      timed(ATTN_OP_CLASS_ATTENTION, [&] { mix_by_gemm(w, bias, x, packed, mixed, n, d); });
    } else {
      timed(ATTN_OP_CLASS_ATTENTION, [&] { token_mix(w, bias, x, mixed, n, 0, n, d, op.causal); });
    }
  }
  const AttentionRows rows{x, proj, mixed, d, size_t(variant.projections())};
  a.q = proj;
  a.q_stride = rows.proj_stride();
  const auto keys = rows.of(variant.keys), values = rows.of(variant.values);
  a.k = keys.data, a.k_stride = keys.stride;
  a.v = values.data, a.v_stride = values.stride;
  a.out = heads_out;
  a.out_stride = d;
  a.n = n;
  a.row_begin = 0;
  a.row_end = n;
  a.q_offset = 0;
  a.dim = dk;
  a.scale = op.scale;
  a.causal = op.causal;
  a.key_masked = key_masked;
  task.head_dim = dk;
  task.scratch = scratch;
  task.scratch_per_head = scratch_per_head;
  timed(ATTN_OP_CLASS_ATTENTION,
        [&] {
          for_each(parallel(4.0 * double(a.n) * double(a.row_end - a.row_begin) * double(d)), &AttentionTask::run,
                   &task, size_t(op.heads));
        });

  run_dense(s.fc_out, n, heads_out, s.out, s.residual);
}

// Causal attention over the cache: the m new tokens' keys and values are
// appended at run_offset_, then their queries attend to every cached token.
void Session::run_cached_attention(Step& s, const float* x, float* proj, float* heads_out, size_t m) {
  const OpInfo& op = *s.op;
  const Model& model = *model_;
  const size_t dk = size_t(op.head_dim), d = size_t(op.heads) * dk;
  const VariantTraits& variant = traits_of(op.variant);
  const AttentionRows rows{x, proj, nullptr, d, size_t(variant.projections())};
  const size_t first = run_offset_, total = run_offset_ + m;
  // The new tokens' key rows, and their value rows where those are neither
  // the keys themselves nor mixed (below).
  auto append = [&](RowSource source, float* cache) {
    const auto from = rows.of(source);
    for (size_t t = 0; t < m; ++t) std::memcpy(cache + (first + t) * d, from.data + t * from.stride, d * 4);
  };
  timed(ATTN_OP_CLASS_OTHER, [&] {
    append(variant.keys, s.cache_keys);
    if (!variant.values_are_keys() && !variant.token_mixing()) append(variant.values, s.cache_values);
  });
  if (variant.token_mixing()) {
    // The mixed values of the new tokens, from every cached input row (the
    // keys: variants.h requires Mixed values to have the input as keys).
    const ConstTensor& w = model.tensors[op.align_weight];
    const float* bias = op.align_bias >= 0 ? model.tensors[op.align_bias].data : nullptr;
    timed(ATTN_OP_CLASS_ATTENTION,
          [&] { token_mix(w, bias, s.cache_keys, s.cache_values, total, first, total, d, true); });
  }
  AttentionTask task;
  task.kernels = &kernels_;
  AttentionHeadArgs& a = task.base;
  a.q = proj;
  a.q_stride = rows.proj_stride();
  a.k = s.cache_keys, a.k_stride = d;
  a.v = s.cache_values, a.v_stride = d;
  a.out = heads_out;
  a.out_stride = d;
  a.n = total;
  a.row_begin = 0;
  a.row_end = m;
  a.q_offset = first;
  a.dim = dk;
  a.scale = op.scale;
  a.causal = true;
  a.key_masked = nullptr;
  task.head_dim = dk;
  task.scratch = s.scratch[2];
  task.scratch_per_head = attention_scratch_floats(size_t(model.max_tokens), dk);
  timed(ATTN_OP_CLASS_ATTENTION,
        [&] {
          for_each(parallel(4.0 * double(a.n) * double(a.row_end - a.row_begin) * double(d)), &AttentionTask::run,
                   &task, size_t(op.heads));
        });
}

void Session::run_pool(Step& s) {
  const OpInfo& op = *s.op;
  const size_t n = rows(op.inputs[0]);
  const size_t d = size_t(model_->values[op.inputs[0]].shape.back());
  const float* x = s.in[0];
  if (op.pool_cls) {
    std::memcpy(s.out, x, d * 4);
    return;
  }
  const int32_t* ids = op.pad_id >= 0 ? reinterpret_cast<const int32_t*>(s.in[1]) : nullptr;
  const size_t count = ids ? count_real_tokens(ids, op.pad_id, "mean pooling") : n;
  std::fill(s.out, s.out + d, 0.0f);
  for (size_t t = 0; t < n; ++t)
    if (!ids || ids[t] != op.pad_id) kernels_.add(s.out, x + t * d, s.out, d);
  const float inv = 1.0f / float(count);
  for (size_t c = 0; c < d; ++c) s.out[c] *= inv;
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
  std::memcpy(buffer, value_ptr_[model_->outputs[index]], bytes);
}

}  // namespace attn
