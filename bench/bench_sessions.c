/*
 * Start-up and memory of sessions on one model, through the public C API:
 * the load time, each session's creation time, and the process's resident
 * and peak resident memory (/proc/self/status) after loading, after each
 * session is created and after each has run a whole context once; or, with
 * TOKENS (a gpt model), after each has generated: decoded a prompt of TOKENS
 * ids through the cache, then 32 tokens one at a time.
 *
 *   bench_sessions MODEL.attnmodel [THREADS [TOKENS]]     prints one JSON object
 */
#include <attn/attn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double clock_ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
/* The process's CPU time: on a busy machine, closer to what an idle one
 * would take than the elapsed time. */
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

/* VmRSS or VmHWM in MiB. */
static double status_mib(const char* key) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  double kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, strlen(key)) == 0) kib = atof(line + strlen(key) + 1);
  if (f) fclose(f);
  return kib / 1024.0;
}

static int check(attn_status s, const char* what) {
  if (s == ATTN_OK) return 0;
  fprintf(stderr, "bench_sessions: %s: %s\n", what, attn_last_error_message());
  exit(1);
}

/* A whole context of token ids (or a zero image): touches every activation. */
static void run_once(attn_model* model, attn_session* session) {
  attn_tensor_info in;
  int64_t max_tokens;
  check(attn_model_input_info(model, 0, &in), "input info");
  check(attn_model_max_tokens(model, &max_tokens), "max tokens");
  int64_t shape[ATTN_MAX_RANK];
  size_t count = 1;
  for (size_t d = 0; d < in.rank; ++d) {
    shape[d] = in.shape[d] < 0 ? max_tokens : in.shape[d];
    count *= (size_t)shape[d];
  }
  void* data = calloc(count, 4);
  if (in.dtype == ATTN_DTYPE_I32)
    for (size_t i = 0; i < count; ++i) ((int32_t*)data)[i] = (int32_t)(i % 100 + 1);
  check(attn_session_set_input(session, 0, data, count * 4, shape, in.rank), "set input");
  check(attn_session_run(session), "run");
  free(data);
}

/* The generation workload: a prompt of `tokens` ids, then 32 tokens one at a time. */
static void generate(attn_session* session, size_t tokens) {
  int32_t* ids = malloc(tokens * sizeof(int32_t));
  if (!ids) exit(1);
  for (size_t i = 0; i < tokens; ++i) ids[i] = (int32_t)(i % 100 + 1);
  check(attn_session_reset(session), "reset");
  check(attn_session_decode(session, ids, tokens), "decode the prompt");
  for (int i = 0; i < 32; ++i) check(attn_session_decode(session, &ids[i % tokens], 1), "decode a token");
  free(ids);
}

static size_t workload_tokens = 0; /* 0: a whole-context run */

static void work(attn_model* model, attn_session* session) {
  if (workload_tokens) generate(session, workload_tokens);
  else run_once(model, session);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: bench_sessions MODEL.attnmodel [THREADS [TOKENS]]\n");
    return 2;
  }
  if (argc == 4) workload_tokens = (size_t)atol(argv[3]);
  struct stat st;
  if (stat(argv[1], &st) != 0) {
    fprintf(stderr, "bench_sessions: cannot stat %s\n", argv[1]);
    return 1;
  }
  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = argc == 3 ? (uint32_t)atoi(argv[2]) : 1;
  const double file_mib = (double)st.st_size / (1024.0 * 1024.0);
  const double rss_start = status_mib("VmRSS:");

  double t0 = now_ms();
  attn_model* model;
  check(attn_model_load_file(argv[1], &model), "load");
  const double load_ms = now_ms() - t0;
  const double rss_load = status_mib("VmRSS:");

  attn_session* first;
  t0 = now_ms();
  double c0 = cpu_ms();
  check(attn_session_create(model, &options, &first), "first session");
  const double first_ms = now_ms() - t0, first_cpu_ms = cpu_ms() - c0;
  const double rss_first = status_mib("VmRSS:"), hwm_first = status_mib("VmHWM:");
  work(model, first);
  const double rss_first_run = status_mib("VmRSS:"), hwm_first_run = status_mib("VmHWM:");

  attn_session* second;
  t0 = now_ms();
  c0 = cpu_ms();
  check(attn_session_create(model, &options, &second), "second session");
  const double second_ms = now_ms() - t0, second_cpu_ms = cpu_ms() - c0;
  const double rss_second = status_mib("VmRSS:");
  work(model, second);
  const double rss_second_run = status_mib("VmRSS:");

  printf("{\"model\": \"%s\", \"attn_version\": \"%s\", \"kernel_path\": \"%s\", \"threads\": %u, \"workload\": \"%s\",\n"
         " \"file_mib\": %.1f, \"rss_start_mib\": %.1f, \"load_ms\": %.2f, \"rss_after_load_mib\": %.1f,\n"
         " \"first_session_ms\": %.1f, \"first_session_cpu_ms\": %.1f, \"rss_after_first_mib\": %.1f, \"peak_rss_after_first_mib\": %.1f,\n"
         " \"rss_after_first_run_mib\": %.1f, \"peak_rss_after_first_run_mib\": %.1f,\n"
         " \"second_session_ms\": %.1f, \"second_session_cpu_ms\": %.1f, \"second_session_adds_mib\": %.1f, \"second_session_adds_after_run_mib\": %.1f}\n",
         argv[1], attn_version(), attn_kernel_path(), options.threads,
         workload_tokens ? "generate" : "whole context", file_mib, rss_start, load_ms, rss_load,
         first_ms, first_cpu_ms, rss_first, hwm_first, rss_first_run, hwm_first_run, second_ms, second_cpu_ms,
         rss_second - rss_first_run,
         rss_second_run - rss_first_run);
  attn_session_release(second);
  attn_session_release(first);
  attn_model_release(model);
  return 0;
}
