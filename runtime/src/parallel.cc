#include "parallel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace attn {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// How long a worker spins for the next job before it sleeps: back-to-back
// operators of one run then start without a wake-up.
constexpr int kSpins = 20000;

thread_local size_t t_thread_index = 0;  // set once by each worker

}  // namespace

size_t WorkerPool::thread_index() { return t_thread_index; }

WorkerPool::WorkerPool(size_t threads, bool spin) : spins_(spin ? kSpins : 0) {
  for (size_t i = 1; i < threads; ++i)
    workers_.emplace_back([this, i] {
      t_thread_index = i;
      worker_loop();
    });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::work() {
  for (;;) {
    const size_t i = next_.fetch_add(1);
    if (i >= items_) return;
    task_(context_, i);
    finished_.fetch_add(1, std::memory_order_release);
  }
}

// Generations: even = a job (or none) that workers may join, odd = the caller
// is writing the next job. A worker joins only the even generation it waited
// for, and counts itself in busy_ while it reads the job; the caller rewrites
// the job only when busy_ is zero.
void WorkerPool::worker_loop() {
  unsigned seen = generation_.load();
  for (;;) {
    unsigned g = generation_.load();
    auto ready = [&] {
      g = generation_.load();
      return g != seen && !(g & 1u);
    };
    for (int spin = 0; spin < spins_ && !ready(); ++spin) cpu_relax();
    if (!ready()) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || ready(); });
      if (stopping_) return;
    }
    busy_.fetch_add(1);
    if (generation_.load() == g) work();
    busy_.fetch_sub(1);
    seen = g;
  }
}

void WorkerPool::run(Task task, void* context, size_t items) {
  if (workers_.empty() || items <= 1) {
    for (size_t i = 0; i < items; ++i) task(context, i);
    return;
  }
  std::lock_guard<std::mutex> turn(turn_);
  generation_.fetch_add(1);  // odd: no worker joins from here
  while (busy_.load() != 0) cpu_relax();
  task_ = task;
  context_ = context;
  items_ = items;
  next_.store(0);
  finished_.store(0);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1);  // even: the job is open
  }
  wake_.notify_all();
  work();
  while (finished_.load(std::memory_order_acquire) < items) cpu_relax();
}

}  // namespace attn
