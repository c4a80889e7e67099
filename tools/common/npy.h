// Reading and writing NumPy .npy files.
//
// The header is parsed by a bounded, linear-time parser for the subset of
// Python literals numpy writes: a dict with exactly the keys 'descr',
// 'fortran_order' and 'shape', strings, True/False and a tuple of integers.
// Format versions 1, 2 and 3; little- and big-endian; C and Fortran order.
// Data comes out as one of three element types, C order, native byte order:
//   float16, float32, float64          -> float32 (float64 rounded to nearest;
//                                         a finite value beyond float32's
//                                         range is an error)
//   int8/16/32, uint8/16               -> int32
//   uint32, int64, uint64              -> int64 (uint64 above 2^63-1 is an error)
// Array::note says what was converted, so the caller can tell the user.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn::npy {

enum class DType { F32, I32, I64 };

struct Array {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // elements of dtype, native byte order, C order
  std::string note;           // empty, or what was converted on reading
  size_t count() const;
};

// What the header declares.
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// The longest header accepted (numpy's own reader refuses more than 10000
// bytes unless told otherwise).
constexpr size_t kMaxHeaderBytes = 65536;
constexpr int kMaxRank = 32;  // numpy's NPY_MAXDIMS
constexpr uint64_t kMaxElements = uint64_t(1) << 40;

// All throw cli::Failure naming the source and the problem (with the
// byte offset in the header for a syntax error).
Header parse_header(const std::string& text, const std::string& source);
Array parse(const uint8_t* bytes, size_t size, const std::string& source);
Array parse(const std::vector<uint8_t>& bytes, const std::string& source);
// The path must be a regular file of at most max_bytes.
Array read(const std::string& path, uint64_t max_bytes = uint64_t(1) << 36);

// Writes float32 data atomically (see files.h).
void write_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace attn::npy
