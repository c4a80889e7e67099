// Session options an app sets: the kernel path and the dense backend by
// name, and a cancellation callback checked between operators. Outputs are
// checked against the fixtures' float64 references within the spec's
// tolerance (test::spec_tolerance).

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

namespace {

struct Cancel {
  int calls = 0;
  int stop_after = -1;  // -1: never
};

int cancel_after(void* data) {
  Cancel* c = static_cast<Cancel*>(data);
  return c->stop_after >= 0 && c->calls++ >= c->stop_after;
}

attn_status create(attn_model* model, const attn_session_options& options, attn_session** session) {
  return attn_session_create(model, &options, session);
}

// Item 0 of a fixture through `session`, within the tolerance of its reference.
void check_item(attn_session* session, const std::string& fixture, const std::string& where) {
  const auto input = attn::npy::read(attn::test::fixture_dir(fixture) + "/inputs.npy");
  const auto expected = attn::npy::read(attn::test::fixture_dir(fixture) + "/expected.npy");
  const size_t per_in = input.count() / size_t(input.shape[0]);
  const size_t per_out = expected.count() / size_t(expected.shape[0]);
  std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
  REQUIRE_MESSAGE(attn_session_set_input(session, 0, input.data.data(), per_in * 4, shape.data(), shape.size()) ==
                      ATTN_OK,
                  attn_last_error_message());
  REQUIRE_MESSAGE(attn_session_run(session) == ATTN_OK, attn_last_error_message());
  std::vector<float> out(per_out);
  REQUIRE(attn_session_get_output(session, 0, out.data(), per_out * 4) == ATTN_OK);
  const float* ref = reinterpret_cast<const float*>(expected.data.data());
  double worst = 0;
  for (size_t k = 0; k < per_out; ++k) worst = std::max(worst, std::fabs(double(out[k]) - ref[k]));
  CHECK_MESSAGE(worst <= attn::test::spec_tolerance(ref, per_out), where << ": max error " << worst);
}

struct Model {
  attn_model* model = nullptr;
  explicit Model(const std::string& fixture) {
    const auto bytes = attn::test::convert_fixture(fixture);
    REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);
  }
  ~Model() { attn_model_release(model); }
};

}  // namespace

TEST_CASE("every available kernel path and dense backend can be chosen per session") {
  Model m("gpt-super");
  const std::string paths = attn_kernel_paths();
  size_t start = 0;
  while (start <= paths.size()) {
    const size_t comma = std::min(paths.find(',', start), paths.size());
    const std::string path = paths.substr(start, comma - start);
    start = comma + 1;
    for (attn_dense_backend dense : {ATTN_DENSE_AUTO, ATTN_DENSE_GEMM, ATTN_DENSE_XNNPACK, ATTN_DENSE_GEMM_PACKED,
                                     ATTN_DENSE_GEMM_IN_PLACE}) {
      for (uint32_t threads : {1u, 2u}) {
        attn_session_options options;
        attn_session_options_init(&options);
        options.kernel_path = path.c_str();
        options.dense = dense;
        options.threads = threads;
        attn_session* session = nullptr;
        if (dense == ATTN_DENSE_XNNPACK && !ATTN_TEST_WITH_XNNPACK) {
          // A build without XNNPACK refuses it by name.
          CHECK(create(m.model, options, &session) == ATTN_ERROR_INVALID_ARGUMENT);
          CHECK(std::string(attn_last_error_message()).find("XNNPACK") != std::string::npos);
          continue;
        }
        REQUIRE_MESSAGE(create(m.model, options, &session) == ATTN_OK, attn_last_error_message());
        check_item(session, "gpt-super", path + " dense " + std::to_string(int(dense)) + ", " +
                                              std::to_string(threads) + " threads");
        attn_session_release(session);
      }
    }
  }
}

TEST_CASE("a kernel path or dense backend that is not there is refused by name") {
  Model m("vit-super-mean");
  attn_session_options options;
  attn_session_options_init(&options);
  attn_session* session = nullptr;
  options.kernel_path = "avx1024";
  CHECK(create(m.model, options, &session) == ATTN_ERROR_UNSUPPORTED_HARDWARE);
  CHECK(std::string(attn_last_error_message()).find("'avx1024'") != std::string::npos);
  CHECK(std::string(attn_last_error_message()).find("scalar") != std::string::npos);
  options.kernel_path = nullptr;
  options.quant_kernels = "avx1024-vnni";
  CHECK(create(m.model, options, &session) == ATTN_ERROR_UNSUPPORTED_HARDWARE);
  CHECK(std::string(attn_last_error_message()).find("'avx1024-vnni'") != std::string::npos);
  CHECK(std::string(attn_last_error_message()).find("there are: scalar") != std::string::npos);
  options.quant_kernels = nullptr;
  options.dense = 7;
  CHECK(create(m.model, options, &session) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(session == nullptr);
  // A caller built against the first options struct sets neither: what lies
  // past its struct_size is not read.
  options.struct_size = offsetof(attn_session_options, kernel_path);
  options.kernel_path = "avx1024";
  REQUIRE(create(m.model, options, &session) == ATTN_OK);
  check_item(session, "vit-super-mean", "first options struct");
  attn_session_release(session);
  // Nor does one built before quant_kernels.
  options.struct_size = offsetof(attn_session_options, quant_kernels);
  options.kernel_path = nullptr;
  options.dense = ATTN_DENSE_AUTO;
  options.quant_kernels = "avx1024-vnni";
  REQUIRE(create(m.model, options, &session) == ATTN_OK);
  attn_session_release(session);
}

TEST_CASE("a cancelled run stops between operators and the session stays usable") {
  Model m("hf-gpt2-tiny");
  Cancel cancel;
  attn_session_options options;
  attn_session_options_init(&options);
  options.cancel = cancel_after;
  options.cancel_data = &cancel;
  attn_session* session = nullptr;
  REQUIRE(create(m.model, options, &session) == ATTN_OK);
  check_item(session, "hf-gpt2-tiny", "never cancelled");
  CHECK(cancel.calls == 0);

  cancel.stop_after = 3;  // the fourth check stops the run
  const int32_t ids[] = {1, 2, 3};
  const int64_t shape[] = {3};
  REQUIRE(attn_session_set_input(session, 0, ids, sizeof ids, shape, 1) == ATTN_OK);
  CHECK(attn_session_run(session) == ATTN_ERROR_CANCELLED);
  CHECK(cancel.calls == 4);
  CHECK(std::string(attn_last_error_message()).find("cancelled") != std::string::npos);
  attn_tensor_info info;
  CHECK(attn_session_output_info(session, 0, &info) == ATTN_ERROR_BAD_STATE);

  // Decoding: a token cancelled halfway leaves the cache as it was; the
  // token decoded again gives the reference's logits at its position.
  const auto input = attn::npy::read(attn::test::fixture_dir("hf-gpt2-tiny") + "/inputs.npy");
  const auto expected = attn::npy::read(attn::test::fixture_dir("hf-gpt2-tiny") + "/expected.npy");
  const int32_t* item = reinterpret_cast<const int32_t*>(input.data.data());
  const size_t vocab = size_t(expected.shape.back());
  cancel.stop_after = -1;
  REQUIRE(attn_session_reset(session) == ATTN_OK);
  REQUIRE(attn_session_decode(session, item, 2) == ATTN_OK);
  cancel.calls = 0;
  cancel.stop_after = 5;
  CHECK(attn_session_decode(session, item + 2, 1) == ATTN_ERROR_CANCELLED);
  size_t position = 0;
  REQUIRE(attn_session_position(session, &position) == ATTN_OK);
  CHECK(position == 2);
  cancel.stop_after = -1;
  REQUIRE(attn_session_decode(session, item + 2, 1) == ATTN_OK);
  std::vector<float> logits(vocab);
  REQUIRE(attn_session_get_output(session, 0, logits.data(), vocab * 4) == ATTN_OK);
  const float* ref = reinterpret_cast<const float*>(expected.data.data()) + 2 * vocab;
  double worst = 0;
  for (size_t k = 0; k < vocab; ++k) worst = std::max(worst, std::fabs(double(logits[k]) - ref[k]));
  CHECK_MESSAGE(worst <= attn::test::spec_tolerance(ref, vocab), "position 2 after a cancel: " << worst);

  cancel.stop_after = -1;
  check_item(session, "hf-gpt2-tiny", "after a cancelled run");
  attn_session_release(session);
}

TEST_CASE("sessions share an app's thread pool, spinning or blocking, and run at once on it") {
  Model m("hf-gpt2-tiny");
  for (attn_wait_mode wait : {ATTN_WAIT_SPIN, ATTN_WAIT_BLOCK}) {
    attn_thread_pool* pool = nullptr;
    REQUIRE(attn_thread_pool_create(2, wait, &pool) == ATTN_OK);
    attn_session_options options;
    attn_session_options_init(&options);
    options.pool = pool;
    attn_session* sessions[2] = {nullptr, nullptr};
    for (attn_session*& s : sessions) REQUIRE(create(m.model, options, &s) == ATTN_OK);
    attn_thread_pool_release(pool);  // the sessions keep it
    // Both sessions at once, from two threads, on the pool's threads.
    std::thread other([&] {
      for (int r = 0; r < 20; ++r) {
        const auto input = attn::npy::read(attn::test::fixture_dir("hf-gpt2-tiny") + "/inputs.npy");
        std::vector<int64_t> shape(input.shape.begin() + 1, input.shape.end());
        const size_t per_in = input.count() / size_t(input.shape[0]);
        if (attn_session_set_input(sessions[1], 0, input.data.data(), per_in * 4, shape.data(), shape.size()) !=
                ATTN_OK ||
            attn_session_run(sessions[1]) != ATTN_OK)
          return;
      }
    });
    for (int r = 0; r < 5; ++r) check_item(sessions[0], "hf-gpt2-tiny", "shared pool");
    other.join();
    check_item(sessions[1], "hf-gpt2-tiny", "the other session on the shared pool");
    for (attn_session* s : sessions) attn_session_release(s);
  }
  // A session's own pool that blocks.
  attn_session_options options;
  attn_session_options_init(&options);
  options.threads = 2;
  options.wait = ATTN_WAIT_BLOCK;
  attn_session* session = nullptr;
  REQUIRE(create(m.model, options, &session) == ATTN_OK);
  check_item(session, "hf-gpt2-tiny", "own blocking pool");
  attn_session_release(session);
  options.wait = 3;
  CHECK(create(m.model, options, &session) == ATTN_ERROR_INVALID_ARGUMENT);
  attn_thread_pool* pool = nullptr;
  CHECK(attn_thread_pool_create(2000, ATTN_WAIT_SPIN, &pool) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(attn_thread_pool_create(2, 9, &pool) == ATTN_ERROR_INVALID_ARGUMENT);
  CHECK(pool == nullptr);
}
