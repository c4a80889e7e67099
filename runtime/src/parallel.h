// A small pool of worker threads for attn's own kernels.
//
// Work is a count of items taken from a shared atomic counter. The calling
// thread takes items too, and waits only for items that a worker has already
// started: a worker that the OS has not scheduled yet holds nothing, and when
// it wakes it finds no items left. On a busy machine (another process on the
// other core) a run therefore never waits a scheduler time slice for a worker
// to show up, as a pool with a fixed share of the work per thread must.
//
// Nothing is allocated after construction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace attn {

class WorkerPool {
 public:
  using Task = void (*)(void* context, size_t item);

  // threads counts the calling thread: threads - 1 workers are started.
  // spin: an idle worker spins a while for the next job before it sleeps
  // (back-to-back operators start without a wake-up); without, it sleeps at
  // once and leaves the core to other work.
  explicit WorkerPool(size_t threads, bool spin = true);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t threads() const { return workers_.size() + 1; }

  // Which thread of its pool runs the calling code: i in [1, threads()) on
  // worker i, 0 on any thread that is no pool's worker (the caller of run(),
  // which takes items too). A task uses it to pick its thread's share of
  // scratch: items that run at once run on different threads of one pool.
  static size_t thread_index();

  // Runs task(context, i) for every i in [0, items), returns when all are
  // done. Sessions sharing the pool take turns: one job at a time.
  void run(Task task, void* context, size_t items);

 private:
  void work();        // takes and runs items until none are left
  void worker_loop();

  std::vector<std::thread> workers_;
  int spins_;
  std::mutex turn_;  // held by the caller whose job the pool runs
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<unsigned> generation_{0};  // bumped for every job
  Task task_ = nullptr;
  void* context_ = nullptr;
  size_t items_ = 0;
  std::atomic<size_t> next_{0};      // the next item to take
  std::atomic<size_t> finished_{0};  // items done
  std::atomic<int> busy_{0};         // workers reading the current job
};

}  // namespace attn
