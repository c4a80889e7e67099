/*
 * attn — a CPU inference runtime for standard, Optimized, Efficient and Super
 * attention transformers. This is the library's only public header.
 *
 * Life cycle: load a model (attn_model_load_file / attn_model_load_memory),
 * create a session on it (this plans memory and packs weights: "prepare"),
 * then for each inference set the inputs, run, and read the outputs.
 *
 * Status: every function that can fail returns an attn_status. ATTN_OK is 0;
 * other codes are grouped by kind in blocks of 100 (ATTN_STATUS_KIND()). After
 * a failure, attn_last_error_message() describes it (which argument, field,
 * tensor or file offset), in the calling thread.
 *
 * Ownership:
 *   - attn_model_load_file maps the file read-only; attn_model_load_memory
 *     copies the caller's bytes, which may be freed once it returns
 *     (attn_model_load_memory_flags can use them in place instead).
 *   - The dense weights are packed once per model, by its first session, and
 *     shared by every session on it.
 *   - A session holds a reference to its model: attn_model_release and
 *     attn_session_release may be called in any order.
 *   - Strings and shapes returned in attn_tensor_info are owned by the model
 *     and live as long as it.
 *
 * Thread safety:
 *   - A model is immutable once loaded: any number of threads may query it and
 *     create sessions on it at once.
 *   - A session may be used by one thread at a time; different sessions may
 *     run concurrently.
 *   - attn_last_error_message is per thread.
 *
 * Memory: all activation memory is allocated when the session is created;
 * attn_session_run allocates nothing.
 */
#ifndef ATTN_ATTN_H_
#define ATTN_ATTN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own build defines ATTN_BUILDING_LIBRARY: it exports the
 * attn_* functions and nothing else. A program using the Windows DLL defines
 * ATTN_SHARED to import them; elsewhere a consumer needs no definition. */
#if defined(_WIN32)
#if defined(ATTN_BUILDING_LIBRARY)
#define ATTN_API __declspec(dllexport)
#elif defined(ATTN_SHARED)
#define ATTN_API __declspec(dllimport)
#else
#define ATTN_API
#endif
#elif defined(ATTN_BUILDING_LIBRARY)
#define ATTN_API __attribute__((visibility("default")))
#else
#define ATTN_API
#endif

#define ATTN_VERSION_MAJOR 0
#define ATTN_VERSION_MINOR 1
#define ATTN_VERSION_PATCH 0

typedef enum attn_status {
  ATTN_OK = 0,
  /* 1xx: the caller passed something wrong. */
  ATTN_ERROR_INVALID_ARGUMENT = 100, /* null pointer, bad index, bad options */
  ATTN_ERROR_SHAPE_MISMATCH = 101,   /* input shape, dtype or size is wrong */
  ATTN_ERROR_OUT_OF_RANGE = 102,     /* a value (e.g. a token id) is outside its range */
  ATTN_ERROR_BUFFER_TOO_SMALL = 103, /* an output buffer cannot hold the result */
  ATTN_ERROR_BAD_STATE = 104,        /* e.g. run before every input was set */
  /* 2xx: the model file or buffer was refused. */
  ATTN_ERROR_IO = 200,               /* cannot open, stat or map the file */
  ATTN_ERROR_INVALID_MODEL = 201,    /* not a valid .attnmodel: structure or meaning */
  ATTN_ERROR_UNSUPPORTED_VERSION = 202, /* a format version this build does not read */
  /* 4xx: stopped on the caller's request. */
  ATTN_ERROR_CANCELLED = 400,        /* options.cancel asked a run to stop */
  /* 3xx: the platform could not do it. */
  ATTN_ERROR_OUT_OF_MEMORY = 300,
  ATTN_ERROR_UNSUPPORTED_HARDWARE = 301,
  /* 9xx: a bug in attn; please report it with the message. */
  ATTN_ERROR_INTERNAL = 900
} attn_status;

#define ATTN_STATUS_KIND(status) ((int)(status) / 100)

typedef enum attn_dtype {
  ATTN_DTYPE_F32 = 0,
  ATTN_DTYPE_I32 = 1
} attn_dtype;

#define ATTN_MAX_RANK 8

/* Describes a model input or output. A dimension of -1 is the sequence
 * length, chosen per run (1 ≤ n ≤ max_tokens). */
typedef struct attn_tensor_info {
  const char* name;
  attn_dtype dtype;
  size_t rank;
  int64_t shape[ATTN_MAX_RANK];
} attn_tensor_info;

typedef struct attn_model attn_model;
typedef struct attn_session attn_session;
/* Worker threads that sessions can share (attn_thread_pool_create). */
typedef struct attn_thread_pool attn_thread_pool;

/* What idle worker threads do. */
typedef enum attn_wait_mode {
  ATTN_WAIT_SPIN = 0,  /* spin a while for the next operator's work, then sleep: fastest runs */
  ATTN_WAIT_BLOCK = 1  /* sleep at once: leaves the cores to the app between operators */
} attn_wait_mode;

/* Called between operators during a run; non-zero stops the run with
 * ATTN_ERROR_CANCELLED (the outputs are then unset, and a gpt model's cache
 * keeps only the tokens before that run). */
typedef int (*attn_cancel_fn)(void* user_data);

/* Which implementation runs the dense layers. */
typedef enum attn_dense_backend {
  ATTN_DENSE_AUTO = 0,    /* the kernel path's own GEMM where it measured faster, else XNNPACK */
  ATTN_DENSE_GEMM = 1,    /* the kernel path's own GEMM for every layer (XNNPACK where it has none) */
  ATTN_DENSE_XNNPACK = 2, /* XNNPACK for every layer (ATTN_ERROR_INVALID_ARGUMENT in a build without it) */
  /* As ATTN_DENSE_GEMM, with f32 weights packed once per model into the
   * GEMM's layout (a copy of the weights in memory), or read in place from
   * the model (no copy). ATTN_DENSE_GEMM and AUTO choose between the two.
   * Quantized weights are packed either way. */
  ATTN_DENSE_GEMM_PACKED = 3,
  ATTN_DENSE_GEMM_IN_PLACE = 4
} attn_dense_backend;

/* Options carry their own size so that fields can be added later: set
 * struct_size = sizeof(attn_session_options) after attn_session_options_init. */
typedef struct attn_session_options {
  size_t struct_size;
  /* Worker threads for a run: 1 (the default) runs on the calling thread
   * alone; 0 = one per core. */
  uint32_t threads;
  /* Non-zero: time each operator class during runs (attn_session_profile).
   * Costs two clock reads per operator. */
  uint32_t profile;
  /* The fields below are read only when struct_size covers them. */
  /* The kernel path, by name ("scalar", "avx2", "avx512", "neon"; see
   * attn_kernel_paths()); NULL for the best this CPU has. A path this build
   * or CPU lacks is ATTN_ERROR_UNSUPPORTED_HARDWARE. */
  const char* kernel_path;
  uint32_t dense; /* an attn_dense_backend (a plain integer: any value can be checked) */
  /* Checked between operators; NULL for none. */
  attn_cancel_fn cancel;
  void* cancel_data;
  /* A pool shared with other sessions: the session runs on its threads
   * (threads is then ignored); NULL for a pool of the session's own when
   * threads > 1. Sessions running at once on one pool take turns at each
   * operator's parallel part. */
  attn_thread_pool* pool;
  /* The session's own pool's idle workers: an attn_wait_mode. */
  uint32_t wait;
  /* The kernels of f16, q8, q4 and q8c weights, by variant name ("scalar",
   * "avx2", "avx2-vnni", "avx512-vnni", "neon", "neon-dotprod"; see
   * attn_quant_kernel_variants()); NULL for the best variant of the kernel
   * path. Any variant this build and CPU have can be chosen, e.g. to measure
   * AVX2 without VNNI on a CPU with it; one they lack is
   * ATTN_ERROR_UNSUPPORTED_HARDWARE. */
  const char* quant_kernels;
} attn_session_options;

/* Operator classes for profiling. */
typedef enum attn_op_class {
  ATTN_OP_CLASS_ATTENTION = 0,  /* attention core: QKᵀ, mask, softmax, ·V, W_A mixing */
  ATTN_OP_CLASS_DENSE = 1,      /* dense layers, including Q/K/V/O projections and patch projection */
  ATTN_OP_CLASS_NORM = 2,       /* LayerNorm */
  ATTN_OP_CLASS_ACTIVATION = 3, /* GELU left to a pass of its own (fused ones count as dense) */
  ATTN_OP_CLASS_OTHER = 4,      /* embeddings, residual adds, pooling, patch gathering */
  ATTN_OP_CLASS_COUNT = 5
} attn_op_class;

ATTN_API const char* attn_op_class_name(attn_op_class op_class);

ATTN_API void attn_session_options_init(attn_session_options* options);

/* The library version as "MAJOR.MINOR.PATCH" and the kernel path in use
 * (e.g. "avx2", "scalar"). */
ATTN_API const char* attn_version(void);
ATTN_API const char* attn_kernel_path(void);

/* A description of the last failure in this thread ("" if none). */
ATTN_API const char* attn_last_error_message(void);

/* --- Models ------------------------------------------------------------- */

ATTN_API attn_status attn_model_load_file(const char* path, attn_model** out_model);
ATTN_API attn_status attn_model_load_memory(const void* data, size_t size,
                                            attn_model** out_model);
/* Drops the caller's reference; the model is freed with its last session. */
ATTN_API void attn_model_release(attn_model* model);

ATTN_API attn_status attn_model_input_count(const attn_model* model, size_t* out_count);
ATTN_API attn_status attn_model_output_count(const attn_model* model, size_t* out_count);
ATTN_API attn_status attn_model_input_info(const attn_model* model, size_t index,
                                           attn_tensor_info* out_info);
ATTN_API attn_status attn_model_output_info(const attn_model* model, size_t index,
                                            attn_tensor_info* out_info);
/* The largest sequence length n (the model's context L). */
ATTN_API attn_status attn_model_max_tokens(const attn_model* model, int64_t* out_tokens);
/* Metadata: "family", "attention", "config_json", "converter_version",
 * "source_sha256". *out_value stays valid while the model lives. */
ATTN_API attn_status attn_model_metadata(const attn_model* model, const char* key,
                                         const char** out_value);

/* Samples embedded by attn-convert --embed-sample: inputs and the expected
 * outputs. *out_data points into the model (float32 or int32 per info.dtype)
 * and stays valid while the model lives. */
ATTN_API attn_status attn_model_sample_count(const attn_model* model, size_t* out_count);
ATTN_API attn_status attn_model_sample_input(const attn_model* model, size_t sample, size_t index,
                                             attn_tensor_info* out_info, const void** out_data);
ATTN_API attn_status attn_model_sample_output(const attn_model* model, size_t sample, size_t index,
                                              attn_tensor_info* out_info, const void** out_data);
/* An expected output's allowance beyond the spec's tolerance, 1e-4 ·
 * max(1, max |expected|): nonzero in models whose dense layers round their
 * activations to 8 bits (q8, q4, q8c weights), where a value at a half step may
 * round either way (docs/spec-choices.md, "Quantized weights"). */
ATTN_API attn_status attn_model_sample_allowance(const attn_model* model, size_t sample, size_t index,
                                                 float* out_allowance);

/* --- Sessions ----------------------------------------------------------- */

/* Creates a session and prepares it: plans and allocates activation memory,
 * packs weights. options may be NULL for the defaults. */
ATTN_API attn_status attn_session_create(attn_model* model,
                                         const attn_session_options* options,
                                         attn_session** out_session);
ATTN_API void attn_session_release(attn_session* session);

/* Copies an input. shape has `rank` dimensions and must match the input's
 * declared shape, with the sequence length (-1 dimensions) between 1 and
 * max_tokens. bytes is the size of data. Token ids are checked against the
 * vocabulary here. */
ATTN_API attn_status attn_session_set_input(attn_session* session, size_t index,
                                            const void* data, size_t bytes,
                                            const int64_t* shape, size_t rank);

ATTN_API attn_status attn_session_run(attn_session* session);

/* The shape of an output after the last successful run. */
ATTN_API attn_status attn_session_output_info(const attn_session* session, size_t index,
                                              attn_tensor_info* out_info);
/* Copies an output of the last successful run into buffer (capacity bytes). */
ATTN_API attn_status attn_session_get_output(const attn_session* session, size_t index,
                                             void* buffer, size_t capacity);

/* --- Generation (causal models: the gpt family) ---------------------------
 *
 * A session of a causal model keeps a cache of each layer's per-token keys
 * and values (for Efficient attention the layer inputs, which are both; for
 * Super attention the inputs and the W_A-mixed values), sized at creation for
 * max_tokens tokens. attn_session_run fills it from position 0 with the whole
 * input; attn_session_decode appends tokens after it, computing only the new
 * positions, and leaves the logits of the last one in output 0, shape
 * [1, vocab]. Passing max_tokens is ATTN_ERROR_OUT_OF_RANGE. */
ATTN_API attn_status attn_session_decode(attn_session* session, const int32_t* ids, size_t count);
/* Empties the cache: the next decode starts at position 0. */
ATTN_API attn_status attn_session_reset(attn_session* session);
/* Tokens in the cache. */
ATTN_API attn_status attn_session_position(const attn_session* session, size_t* out_position);
/* The cache's size in bytes, in all and per token (0 for non-causal models). */
ATTN_API attn_status attn_session_cache_info(const attn_session* session, size_t* out_bytes,
                                             size_t* out_bytes_per_token);

/* Seconds spent per operator class (ATTN_OP_CLASS_COUNT entries) and the
 * number of runs, since the session was created or the profile reset. Needs
 * options.profile. */
ATTN_API attn_status attn_session_profile(const attn_session* session, double* out_seconds, uint64_t* out_runs);
ATTN_API attn_status attn_session_profile_reset(attn_session* session);

/* --- Loading without a copy ---------------------------------------------- */

/* attn_model_load_memory_flags: ATTN_LOAD_NO_COPY uses the caller's bytes in
 * place instead of copying them. They must start at a 64-byte aligned
 * address, and stay alive and unchanged until the model and every session on
 * it are released. */
#define ATTN_LOAD_NO_COPY 1u
ATTN_API attn_status attn_model_load_memory_flags(const void* data, size_t size, uint32_t flags,
                                                  attn_model** out_model);
/* Maps `length` bytes at `offset` of an open regular file: a model stored
 * inside another file, such as an uncompressed asset of an Android APK
 * (AAsset_openFileDescriptor gives the fd, offset and length). offset must be
 * a multiple of 64; the caller may close fd once this returns. */
ATTN_API attn_status attn_model_load_fd(int fd, uint64_t offset, uint64_t length, attn_model** out_model);

/* --- Thread pools -------------------------------------------------------- */

/* A pool of `threads` threads counting the caller's (threads - 1 workers;
 * 0 = one per core), for sessions to share through options.pool. Release it
 * after the sessions that use it, or before: they keep it alive. */
ATTN_API attn_status attn_thread_pool_create(uint32_t threads, uint32_t wait /* attn_wait_mode */,
                                             attn_thread_pool** out_pool);
ATTN_API void attn_thread_pool_release(attn_thread_pool* pool);

/* --- Library information ------------------------------------------------ */

/* The kernel paths this build has and this CPU can run, comma-separated, the
 * best last (e.g. "scalar,avx2,avx512"); attn_kernel_path() is the one in
 * use. */
ATTN_API const char* attn_kernel_paths(void);
/* The quantized-weight kernel variants this build has and this CPU can run,
 * comma-separated, each path's best after its others (e.g.
 * "scalar,avx2,avx2-vnni,avx512-vnni"). */
ATTN_API const char* attn_quant_kernel_variants(void);

/* --- Text: tokenizer and sampling ----------------------------------------
 *
 * A model converted with a tokenizer (attn-convert --tokenizer, or a Hugging
 * Face folder holding tokenizer.json or vocab.json + merges.txt) turns text
 * into token ids and back with GPT-2's byte-level BPE. Text is bytes: any byte
 * string encodes, and invalid UTF-8 reaches BPE as the raw bytes it is, so
 * decoding the ids gives the same bytes back. Special tokens such as
 * <|endoftext|> are never produced from text. */

/* *out_has is 1 when the model holds a tokenizer, else 0. */
ATTN_API attn_status attn_model_has_tokenizer(const attn_model* model, int* out_has);
/* The tokenizer's vocabulary size and its end-of-text id (-1 if none). */
ATTN_API attn_status attn_tokenizer_info(const attn_model* model, size_t* out_vocab, int32_t* out_eos_id);
/* Encodes text[0 .. length) into ids (capacity entries). *out_count is the
 * number of ids, also when it exceeds capacity (ATTN_ERROR_BUFFER_TOO_SMALL,
 * nothing written): call with capacity 0 to size the buffer. */
ATTN_API attn_status attn_tokenize(const attn_model* model, const char* text, size_t length,
                                   int32_t* out_ids, size_t capacity, size_t* out_count);
/* The bytes of one token, owned by the model. They may be part of a UTF-8
 * sequence that the next tokens complete. */
ATTN_API attn_status attn_token_bytes(const attn_model* model, int32_t id, const char** out_bytes,
                                      size_t* out_length);
/* Decodes ids into buffer (capacity bytes, not terminated); *out_length as
 * for attn_tokenize. */
ATTN_API attn_status attn_detokenize(const attn_model* model, const int32_t* ids, size_t count,
                                     char* buffer, size_t capacity, size_t* out_length);

/* Picks next tokens from logits. temperature 0 is greedy (the arg-max, the
 * lowest id on ties); otherwise the logits are divided by the temperature,
 * cut to the top_k most likely (0 = all), then to the fewest most likely whose
 * probability reaches top_p, and one is drawn. repetition_penalty (≥ 1; 1 =
 * none) divides the positive logits and multiplies the negative ones of the
 * tokens in the history first. The draws come from attn's own generator
 * (xoshiro256** seeded by splitmix64), not the C or C++ library's, so the same
 * seed and logits give the same tokens on every platform. */
typedef struct attn_sampler_options {
  size_t struct_size;
  float temperature;         /* default 1 */
  uint32_t top_k;            /* default 0: no cut */
  float top_p;               /* default 1: no cut */
  float repetition_penalty;  /* default 1: none */
  uint64_t seed;             /* default 0 */
} attn_sampler_options;

typedef struct attn_sampler attn_sampler;

ATTN_API void attn_sampler_options_init(attn_sampler_options* options);
/* A sampler for logits of `vocab` entries; it allocates nothing after this. */
ATTN_API attn_status attn_sampler_create(const attn_sampler_options* options, size_t vocab,
                                         attn_sampler** out_sampler);
ATTN_API void attn_sampler_release(attn_sampler* sampler);
/* Picks a token from `count` (= vocab) logits; history holds the tokens so far
 * (prompt and generated, history_count of them; NULL if 0) for the penalty. */
ATTN_API attn_status attn_sampler_sample(attn_sampler* sampler, const float* logits, size_t count,
                                         const int32_t* history, size_t history_count,
                                         int32_t* out_id);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_ATTN_H_ */
