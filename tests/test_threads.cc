// One model shared by many sessions on several threads at once: sessions are
// created and run concurrently, the caller's model reference is dropped while
// they run, and every run gives the bits a lone session gives.
// Built under TSan by the "tsan" preset (scripts/test-sanitizers.sh).

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

namespace {

struct Case {
  std::vector<int32_t> ids;  // token models
  std::vector<float> pixels; // image models
  std::vector<int64_t> shape;
};

// Item i of the fixture's inputs, as the C API takes it.
Case item(const attn::npy::Array& input, size_t i) {
  Case c;
  const size_t per_item = input.count() / size_t(input.shape[0]);
  c.shape.assign(input.shape.begin() + 1, input.shape.end());
  if (input.dtype == attn::npy::DType::I64) {
    const int64_t* src = reinterpret_cast<const int64_t*>(input.data.data()) + i * per_item;
    c.ids.assign(src, src + per_item);
  } else if (input.dtype == attn::npy::DType::I32) {
    const int32_t* src = reinterpret_cast<const int32_t*>(input.data.data()) + i * per_item;
    c.ids.assign(src, src + per_item);
  } else {
    const float* src = reinterpret_cast<const float*>(input.data.data()) + i * per_item;
    c.pixels.assign(src, src + per_item);
  }
  return c;
}

// Runs one case on a session; empty on failure (with the message in `error`).
std::vector<float> run(attn_session* s, const Case& c, std::string& error) {
  const void* data = c.ids.empty() ? static_cast<const void*>(c.pixels.data()) : c.ids.data();
  const size_t bytes = 4 * (c.ids.empty() ? c.pixels.size() : c.ids.size());
  if (attn_session_set_input(s, 0, data, bytes, c.shape.data(), c.shape.size()) != ATTN_OK ||
      attn_session_run(s) != ATTN_OK) {
    error = attn_last_error_message();
    return {};
  }
  attn_tensor_info info;
  if (attn_session_output_info(s, 0, &info) != ATTN_OK) {
    error = attn_last_error_message();
    return {};
  }
  size_t count = 1;
  for (size_t d = 0; d < info.rank; ++d) count *= size_t(info.shape[d]);
  std::vector<float> out(count);
  if (attn_session_get_output(s, 0, out.data(), count * 4) != ATTN_OK) {
    error = attn_last_error_message();
    return {};
  }
  return out;
}

void shared_model(const char* fixture, int threads, int sessions_per_thread, int runs_per_session) {
  const attn::npy::Array input = attn::npy::read(attn::test::fixture_dir(fixture) + "/inputs.npy");
  const size_t items = size_t(input.shape[0]);
  const auto bytes = attn::test::convert_fixture(fixture);
  attn_model* model = nullptr;
  REQUIRE(attn_model_load_memory(bytes.data(), bytes.size(), &model) == ATTN_OK);

  // The reference: each item through one session, alone.
  std::vector<Case> cases;
  std::vector<std::vector<float>> expected;
  {
    attn_session* s = nullptr;
    REQUIRE(attn_session_create(model, nullptr, &s) == ATTN_OK);
    for (size_t i = 0; i < items; ++i) {
      cases.push_back(item(input, i));
      std::string error;
      expected.push_back(run(s, cases.back(), error));
      REQUIRE_MESSAGE(!expected.back().empty(), error);
    }
    attn_session_release(s);
  }

  std::atomic<int> ready{0}, created{0};
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();  // start together
      // Phase 1, all threads at once: queries of the shared model, sessions
      // created on it, and runs on each as soon as it exists.
      std::vector<attn_session*> sessions;
      auto run_once = [&](attn_session* s, size_t i) {
        std::string error;
        const std::vector<float> out = run(s, cases[i], error);
        if (out.empty()) {
          errors[size_t(t)] = error;
          failures.fetch_add(1);
        } else if (out.size() != expected[i].size() ||
                   std::memcmp(out.data(), expected[i].data(), out.size() * 4) != 0) {
          mismatches.fetch_add(1);
        }
      };
      for (int k = 0; k < sessions_per_thread; ++k) {
        size_t count = 0;
        int64_t max_tokens = 0;
        const char* family = nullptr;
        attn_tensor_info info;
        if (attn_model_input_count(model, &count) != ATTN_OK || attn_model_max_tokens(model, &max_tokens) != ATTN_OK ||
            attn_model_metadata(model, "family", &family) != ATTN_OK || attn_model_input_info(model, 0, &info) != ATTN_OK)
          failures.fetch_add(1);
        attn_session* s = nullptr;
        if (attn_session_create(model, nullptr, &s) != ATTN_OK) {
          errors[size_t(t)] = attn_last_error_message();
          failures.fetch_add(1);
          continue;
        }
        sessions.push_back(s);
        run_once(s, size_t(t + k) % items);
      }
      created.fetch_add(1);
      // Phase 2: the caller drops its model reference meanwhile; the
      // sessions keep the model alive.
      for (int r = 0; r < runs_per_session; ++r)
        for (size_t k = 0; k < sessions.size(); ++k) run_once(sessions[k], size_t(t * 7 + int(k) * 3 + r) % items);
      for (attn_session* s : sessions) attn_session_release(s);
    });
  }
  while (created.load() < threads) std::this_thread::yield();
  attn_session* last = nullptr;
  REQUIRE(attn_session_create(model, nullptr, &last) == ATTN_OK);
  attn_model_release(model);
  for (auto& w : workers) w.join();
  std::string error;
  CHECK(run(last, cases[0], error) == expected[0]);
  attn_session_release(last);
  for (const auto& e : errors) CHECK_MESSAGE(e.empty(), e);
  CHECK(failures.load() == 0);
  CHECK(mismatches.load() == 0);
}

}  // namespace

TEST_CASE("many sessions of one model run on several threads at once") {
  // Sessions created from worker threads while others run; the model is
  // shared and its caller's reference dropped midway.
  for (const char* fixture : {"gpt-super", "vit-super-cls-postnorm", "text-standard-fused-pad", "hf-gpt2-tiny"}) {
    CAPTURE(std::string(fixture));
    shared_model(fixture, 4, 3, 100);
  }
}

TEST_CASE("error messages are per thread") {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        attn_model* model = nullptr;
        const std::string path = "/nonexistent/thread-" + std::to_string(t) + ".attnmodel";
        if (attn_model_load_file(path.c_str(), &model) != ATTN_ERROR_IO) wrong.fetch_add(1);
        if (std::string(attn_last_error_message()).find(path) == std::string::npos) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong.load() == 0);
}
