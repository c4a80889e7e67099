#include "files.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <pthread.h>
#include <random>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace attn::files {

namespace {

std::string why() { return std::strerror(errno); }

// Temporary files a signal must remove. A handler may only touch
// async-signal-safe state: fixed buffers, published by an atomic flag.
constexpr int kSlots = 8;
constexpr size_t kPathMax = 4096;
char pending_path[kSlots][kPathMax];
std::atomic<bool> pending_used[kSlots];

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previous_action[3];

// Removes the temporary files, then lets the signal do what it did before.
extern "C" void remove_pending_and_die(int signal) {
  for (int i = 0; i < kSlots; ++i)
    if (pending_used[i].load()) unlink(pending_path[i]);
  for (int k = 0; k < 3; ++k)
    if (kSignals[k] == signal) sigaction(signal, &previous_action[k], nullptr);
  raise(signal);  // delivered when this handler returns
}

// Installs the handler unless it is in place or the signal is ignored (as
// under nohup); done at each write, so a handler set since is chained.
void install_handlers() {
  for (int k = 0; k < 3; ++k) {
    struct sigaction old {};
    if (sigaction(kSignals[k], nullptr, &old) != 0 || old.sa_handler == SIG_IGN ||
        old.sa_handler == remove_pending_and_die)
      continue;
    previous_action[k] = old;
    struct sigaction act {};
    act.sa_handler = remove_pending_and_die;
    sigemptyset(&act.sa_mask);
    sigaction(kSignals[k], &act, nullptr);
  }
}

// Registers a temporary file for removal on a signal while it lives.
class PendingFile {
 public:
  explicit PendingFile(const std::string& path) {
    if (path.size() >= kPathMax) return;
    for (int i = 0; i < kSlots; ++i) {
      bool expected = false;
      if (claimed_[i].compare_exchange_strong(expected, true)) {
        std::memcpy(pending_path[i], path.c_str(), path.size() + 1);
        pending_used[i].store(true);
        slot_ = i;
        return;
      }
    }
  }
  ~PendingFile() {
    if (slot_ < 0) return;
    pending_used[slot_].store(false);
    claimed_[slot_].store(false);
  }

 private:
  static std::atomic<bool> claimed_[kSlots];
  int slot_ = -1;
};
std::atomic<bool> PendingFile::claimed_[kSlots];

// Holds SIGINT, SIGTERM and SIGHUP back while a temporary file is created and
// registered, so none can arrive between the two.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

}  // namespace

int open_regular(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw cli::Failure("cannot open '" + path + "': " + why());
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw cli::Failure("'" + path + "' is not a regular file");
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const std::string reason = why();
    close(fd);
    throw cli::Failure("cannot read '" + path + "': " + reason);
  }
  return fd;
}

std::vector<uint8_t> read_regular(const std::string& path, uint64_t max_bytes) {
  const int fd = open_regular(path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    throw cli::Failure("cannot read '" + path + "': " + why());
  }
  if (uint64_t(st.st_size) > max_bytes) {
    close(fd);
    throw cli::Failure("'" + path + "' is " + std::to_string(st.st_size) + " bytes, more than the " +
                    std::to_string(max_bytes) + " this input may have");
  }
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t done = 0;
  // The file may shrink while it is read; it is never read past its size at open.
  while (done < bytes.size()) {
    const ssize_t r = read(fd, bytes.data() + done, bytes.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const std::string reason = r == 0 ? "it shrank while being read" : why();
      close(fd);
      throw cli::Failure("cannot read '" + path + "': " + reason);
    }
    done += size_t(r);
  }
  close(fd);
  return bytes;
}

Mapping::Mapping(const std::string& path) {
  const int fd = open_regular(path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    throw cli::Failure("cannot read '" + path + "': " + why());
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const std::string reason = why();
      close(fd);
      throw cli::Failure("cannot map '" + path + "': " + reason);
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  close(fd);
}

Mapping::~Mapping() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

void write_atomically(const std::string& path, const void* data, size_t size) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) throw cli::Failure("'" + path + "' names a directory, not a file");
  install_handlers();
  std::random_device entropy;
  std::string tmp;
  int fd = -1;
  std::unique_ptr<PendingFile> pending;
  {
    const SignalsHeld held;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
      tmp = dir + "." + base + ".tmp." + std::to_string(getpid()) + "." + std::to_string(entropy() & 0xffffff);
      fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) throw cli::Failure("cannot create a temporary file next to '" + path + "': " + why());
    pending = std::make_unique<PendingFile>(tmp);
  }
  auto abandon = [&](const std::string& what) {
    const std::string reason = why();
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    throw cli::Failure(what + " '" + path + "': " + reason);
  };
  const uint8_t* bytes = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < size) {
    const ssize_t w = write(fd, bytes + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) abandon("cannot write");
    done += size_t(w);
  }
  if (fsync(fd) != 0) abandon("cannot write");
  const int closed = close(fd);
  fd = -1;
  if (closed != 0) abandon("cannot write");
  if (rename(tmp.c_str(), path.c_str()) != 0) abandon("cannot replace");
}

}  // namespace attn::files
