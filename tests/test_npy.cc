// The .npy reader against files numpy wrote in every form (tests/npy_forms.py,
// run at test time with Debian's numpy), and against hostile headers: the
// parser must be linear, must not read keys inside strings, and must name
// the problem.
//
// Expected values: numpy's own conversion of each array to float32 (floating
// types) or int64 (integers). float16 -> float32 and every integer widening
// are exact; float64 -> float32 is one round-to-nearest in both numpy and the
// reader, so the comparison is exact (tolerance 0).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "escape.h"
#include "files.h"
#include "npy.h"

namespace {

using attn::npy::Array;
using attn::npy::DType;

std::string output_dir(const std::string& name) {
  const std::string dir = std::string(ATTN_TEST_OUTPUT_DIR) + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A version 1 file with the given header text (padded as numpy pads) and data.
std::vector<uint8_t> npy_file(std::string header, const std::vector<uint8_t>& data = {}) {
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(header.size() & 0xff), uint8_t(header.size() >> 8)};
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::string refusal(const std::vector<uint8_t>& bytes) {
  try {
    attn::npy::parse(bytes, "x.npy");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every form numpy writes reads as numpy converts it") {
  const std::string dir = output_dir("npy_forms");
  const std::string list = dir + "/list.txt";
  REQUIRE(std::system(("/usr/bin/python3 " + std::string(ATTN_TEST_DATA_DIR) + "/../npy_forms.py " + dir + " > " + list)
                          .c_str()) == 0);
  std::ifstream in(list);
  std::string name, kind, shape_text;
  int forms = 0;
  while (in >> name >> kind >> shape_text) {
    CAPTURE(name);
    ++forms;
    const Array a = attn::npy::read(dir + "/" + name + ".npy");
    std::vector<int64_t> shape;
    if (shape_text != "-") {
      std::stringstream s(shape_text);
      for (std::string d; std::getline(s, d, 'x');) shape.push_back(std::stoll(d));
    }
    CHECK(a.shape == shape);
    const std::vector<uint8_t> expected = slurp(dir + "/" + name + ".expected");
    if (kind == "f") {
      REQUIRE(a.dtype == DType::F32);
      CHECK(a.data == expected);
    } else {
      REQUIRE(a.dtype != DType::F32);
      REQUIRE(expected.size() == a.count() * 8);
      for (size_t i = 0; i < a.count(); ++i) {
        int64_t want, got = 0;
        std::memcpy(&want, expected.data() + i * 8, 8);
        if (a.dtype == DType::I32) {
          int32_t v;
          std::memcpy(&v, a.data.data() + i * 4, 4);
          got = v;
        } else {
          std::memcpy(&got, a.data.data() + i * 8, 8);
        }
        CHECK(got == want);
      }
    }
    // The caller is told about every conversion, and only then.
    const bool converted = name != "save_f32" && name != "save_scalar" && name != "save_vector" &&
                           name != "save_empty" && name != "save_rank6" && name != "ids_le_i4" &&
                           name != "ids_le_i8" && name.rfind("format_v", 0) != 0;
    CHECK(a.note.empty() != (converted || name.find("fortran_big") != std::string::npos));
  }
  CHECK(forms >= 30);
}

TEST_CASE("hostile .npy headers are refused by name, in linear time") {
  const std::vector<uint8_t> four_floats(16, 0);
  SUBCASE("a key inside another key's string is not a key") {
    // A regex finds "'shape': (4,)" inside the descr string.
    const std::string e =
        refusal(npy_file("{'descr': \"<f4', 'shape': (4,), 'x': '\", 'fortran_order': False, 'shape': (2,), }", four_floats));
    CHECK(e.find("dtype") != std::string::npos);
  }
  SUBCASE("a duplicate key") {
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'shape': (2,), }", four_floats))
              .find("'shape' appears twice") != std::string::npos);
  }
  SUBCASE("an unknown key, a missing key, a non-tuple shape") {
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four_floats))
              .find("unexpected key 'x'") != std::string::npos);
    CHECK(refusal(npy_file("{'descr': '<f4', 'shape': (4,), }", four_floats)).find("no 'fortran_order'") !=
          std::string::npos);
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", four_floats)).find("not a tuple") !=
          std::string::npos);
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", four_floats))
              .find("non-negative") != std::string::npos);
  }
  SUBCASE("dtypes outside the supported set, and data that does not fit") {
    CHECK(refusal(npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", four_floats)).find("'<c8'") !=
          std::string::npos);
    CHECK(refusal(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", four_floats))
              .find("structured") != std::string::npos);
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", four_floats)).find("need 20") !=
          std::string::npos);
    CHECK(refusal(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", {}))
              .find("too large") != std::string::npos);
  }
  SUBCASE("values that do not survive the conversion") {
    std::vector<uint8_t> big(8, 0);
    const double huge = 1e300;
    std::memcpy(big.data(), &huge, 8);
    CHECK(refusal(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", big)).find("element 0") !=
          std::string::npos);
    const std::vector<uint8_t> all_ones(8, 0xff);
    CHECK(refusal(npy_file("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", all_ones)).find("int64") !=
          std::string::npos);
  }
  SUBCASE("a 200 KB header is refused at its length; a 60 KB one parses in linear time") {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0x40, 0x0d, 0x03, 0};  // 200000 bytes
    b.resize(b.size() + 200000, ' ');
    CHECK(refusal(b).find("longer than") != std::string::npos);
    // A long string value: a backtracking matcher recursed once per character here.
    const std::string padded = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'pad': '" + std::string(60000, 'a') + "'}";
    const auto start = std::chrono::steady_clock::now();
    CHECK(refusal(npy_file(padded, four_floats)).find("unexpected key 'pad'") != std::string::npos);
    std::string spaces = "{'descr': '<f4', 'fortran_order': False, 'shape': (4," + std::string(60000, ' ') + "), }";
    CHECK(attn::npy::parse(npy_file(spaces, four_floats), "x.npy").count() == 4);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  }
}

TEST_CASE("a path that is not a regular file is refused without blocking") {
  const std::string dir = output_dir("npy_paths");
  const std::string fifo = dir + "/fifo.npy";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // No writer ever opens the FIFO: a blocking open would hang here.
  CHECK_THROWS_WITH(attn::npy::read(fifo), doctest::Contains("is not a regular file"));
  CHECK_THROWS_WITH(attn::npy::read(dir), doctest::Contains("is not a regular file"));
  CHECK_THROWS_WITH(attn::files::read_regular(fifo, 100), doctest::Contains("is not a regular file"));
  CHECK_THROWS_WITH(attn::npy::read(dir + "/missing.npy"), doctest::Contains("cannot open"));
}

TEST_CASE("output files are replaced atomically and never written through a symlink") {
  const std::string dir = output_dir("npy_output");
  const std::string victim = dir + "/victim", out = dir + "/out.npy";
  std::ofstream(victim) << "keep";
  REQUIRE(symlink(victim.c_str(), out.c_str()) == 0);
  const float values[3] = {1, 2, 3};
  attn::npy::write_f32(out, {3}, values);
  CHECK(std::ifstream(victim).rdbuf() != nullptr);
  std::stringstream kept;
  kept << std::ifstream(victim).rdbuf();
  CHECK(kept.str() == "keep");
  struct stat st;
  REQUIRE(lstat(out.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  const Array a = attn::npy::read(out);
  REQUIRE(a.count() == 3);
  CHECK(std::memcmp(a.data.data(), values, 12) == 0);
  // Nothing but the two files is left in the directory.
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) entries += entry.path().filename() != "" ? 1 : 0;
  CHECK(entries == 2);
  // A directory as the target: refused, and no temporary file is left.
  CHECK_THROWS(attn::files::write_atomically(dir + "/", values, 12));
}

TEST_CASE("a write interrupted by SIGTERM leaves no temporary file") {
  const std::string dir = output_dir("npy_signal");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGTERM, SIG_DFL);  // as in a tool: not the test runner's handler
    // A write long enough to be interrupted (256 MiB).
    std::vector<uint8_t> big(size_t(1) << 28, 1);
    attn::files::write_atomically(dir + "/big.bin", big.data(), big.size());
    _exit(0);
  }
  // Wait for the temporary file to appear, then terminate the writer.
  bool seen = false;
  for (int i = 0; i < 2000 && !seen; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) seen = seen || entry.path().filename().string()[0] == '.';
    if (!seen) usleep(5000);
  }
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(seen);
  if (WIFSIGNALED(status)) {
    CHECK(WTERMSIG(status) == SIGTERM);
    CHECK(std::filesystem::is_empty(dir));
  } else {
    // The write finished before the signal arrived: the file is complete.
    CHECK(std::filesystem::file_size(dir + "/big.bin") == (size_t(1) << 28));
  }
}

TEST_CASE("untrusted text is made safe for a terminal") {
  using attn::text::terminal_safe;
  CHECK(terminal_safe("plain name_1.weight") == "plain name_1.weight");
  CHECK(terminal_safe("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(terminal_safe("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");        // valid UTF-8 kept
  CHECK(terminal_safe("\xc2\x9b" "31m") == "\\xc2\\x9b31m");                            // C1 CSI
  CHECK(terminal_safe("\xff\xc0\xaf") == "\\xff\\xc0\\xaf");                            // invalid, overlong
  CHECK(terminal_safe("a\\x1b") == "a\\\\x1b");                                         // the escape cannot be forged
  CHECK(terminal_safe(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(terminal_safe("\r\b") == "\\x0d\\x08");
}
