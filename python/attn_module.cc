// The Python module `attn`: models, sessions, generation and verification
// over the C API. Inputs are passed to the library straight from numpy's
// buffer when they are C-contiguous float32 or int32 (int64 token ids are
// narrowed first); outputs are written straight into the returned arrays.
// Runs release the GIL.

#include <attn/attn.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <limits>
#include <string>
#include <vector>

#include "attn_build_info.h"
#include "util.h"
#include "verify.h"

namespace py = pybind11;

namespace {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(attn_status status, const std::string& what) {
  if (status != ATTN_OK)
    throw Error(what + ": " + attn_last_error_message() + " (status " + std::to_string(int(status)) + ")");
}

py::dict tensor_dict(const attn_tensor_info& info) {
  py::dict d;
  d["name"] = info.name;
  d["dtype"] = info.dtype == ATTN_DTYPE_F32 ? "float32" : "int32";
  d["shape"] = py::tuple(py::cast(std::vector<int64_t>(info.shape, info.shape + info.rank)));
  return d;
}

class Model {
 public:
  explicit Model(const py::object& source) {
    if (py::isinstance<py::bytes>(source) || py::isinstance<py::bytearray>(source) ||
        py::isinstance<py::memoryview>(source)) {
      py::buffer_info buf = py::buffer(source).request();
      const size_t size = size_t(buf.size) * size_t(buf.itemsize);
      py::gil_scoped_release release;
      check(attn_model_load_memory(buf.ptr, size, &model_), "loading the model from memory");
    } else {
      const std::string path = py::str(py::module_::import("os").attr("fspath")(source));
      py::gil_scoped_release release;
      check(attn_model_load_file(path.c_str(), &model_), "loading " + path);
    }
  }
  Model(const Model&) = delete;
  ~Model() { attn_model_release(model_); }

  attn_model* get() const { return model_; }

  attn_tensor_info input_info(size_t i = 0) const {
    attn_tensor_info info;
    check(attn_model_input_info(model_, i, &info), "input info");
    return info;
  }
  attn_tensor_info output_info(size_t i = 0) const {
    attn_tensor_info info;
    check(attn_model_output_info(model_, i, &info), "output info");
    return info;
  }
  py::list inputs() const {
    size_t n;
    check(attn_model_input_count(model_, &n), "input count");
    py::list list;
    for (size_t i = 0; i < n; ++i) list.append(tensor_dict(input_info(i)));
    return list;
  }
  py::list outputs() const {
    size_t n;
    check(attn_model_output_count(model_, &n), "output count");
    py::list list;
    for (size_t i = 0; i < n; ++i) list.append(tensor_dict(output_info(i)));
    return list;
  }
  std::string metadata_value(const char* key) const {
    const char* value = nullptr;
    check(attn_model_metadata(model_, key, &value), std::string("metadata '") + key + "'");
    return value ? value : "";
  }
  py::dict metadata() const {
    py::dict d;
    for (const char* key : {"family", "attention", "config_json", "converter_version", "source_sha256"}) {
      const char* value = nullptr;
      if (attn_model_metadata(model_, key, &value) == ATTN_OK && value) d[key] = value;
    }
    return d;
  }
  int64_t max_tokens() const {
    int64_t n;
    check(attn_model_max_tokens(model_, &n), "max_tokens");
    return n;
  }
  size_t sample_count() const {
    size_t n;
    check(attn_model_sample_count(model_, &n), "sample count");
    return n;
  }

 private:
  attn_model* model_ = nullptr;
};

class Session {
 public:
  Session(std::shared_ptr<Model> model, uint32_t threads, const std::optional<std::string>& kernel_path,
          const std::string& dense, const std::optional<std::string>& quant_kernels)
      : model_(std::move(model)), threads_(threads) {
    attn_session_options options;
    attn_session_options_init(&options);
    options.threads = threads;
    if (kernel_path) options.kernel_path = kernel_path->c_str();
    if (quant_kernels) options.quant_kernels = quant_kernels->c_str();
    if (dense == "auto") options.dense = ATTN_DENSE_AUTO;
    else if (dense == "gemm") options.dense = ATTN_DENSE_GEMM;
    else if (dense == "xnnpack") options.dense = ATTN_DENSE_XNNPACK;
    else if (dense == "packed") options.dense = ATTN_DENSE_GEMM_PACKED;
    else if (dense == "inplace") options.dense = ATTN_DENSE_GEMM_IN_PLACE;
    else throw py::value_error("dense is 'auto', 'gemm', 'xnnpack', 'packed' or 'inplace', not '" + dense + "'");
    py::gil_scoped_release release;
    check(attn_session_create(model_->get(), &options, &session_), "preparing the session");
  }
  Session(const Session&) = delete;
  ~Session() { attn_session_release(session_); }

  // One item (the input's own rank) or a batch along axis 0 (one more).
  py::array run(const py::array& x) {
    const attn_tensor_info in = model_->input_info();
    const bool ids = in.dtype == ATTN_DTYPE_I32;
    const size_t rank = size_t(x.ndim());
    if (rank != in.rank && rank != in.rank + 1)
      throw py::value_error("the model takes " + std::to_string(in.rank) + "-dimensional items (" +
                            attn::infer::shape_text(in.shape, in.rank) + ") or a batch of them; got " +
                            std::to_string(rank) + " dimensions");
    const bool batch = rank == in.rank + 1;
    py::array items = prepare(x, ids);
    std::vector<int64_t> shape(items.shape(), items.shape() + rank);
    const size_t count = batch ? size_t(shape[0]) : 1;
    if (count == 0) throw py::value_error("the batch is empty");
    std::vector<int64_t> item_shape(shape.begin() + (batch ? 1 : 0), shape.end());
    size_t item_elements = 1;
    for (int64_t d : item_shape) item_elements *= size_t(d);
    const char* data = static_cast<const char*>(items.data());

    // The first item fixes the output shape; the array is then filled in place.
    std::vector<int64_t> out_shape;
    size_t out_elements = 0;
    {
      py::gil_scoped_release release;
      run_item(data, item_elements * 4, item_shape, 0, count);
      attn_tensor_info info;
      check(attn_session_output_info(session_, 0, &info), "output info");
      out_shape.assign(info.shape, info.shape + info.rank);
      out_elements = 1;
      for (int64_t d : out_shape) out_elements *= size_t(d);
    }
    if (batch) out_shape.insert(out_shape.begin(), int64_t(count));
    py::array_t<float> out(out_shape);
    float* dst = out.mutable_data();
    {
      py::gil_scoped_release release;
      for (size_t item = 0; item < count; ++item) {
        if (item > 0) run_item(data + item * item_elements * 4, item_elements * 4, item_shape, item, count);
        check(attn_session_get_output(session_, 0, dst + item * out_elements, out_elements * 4), "reading the output");
      }
    }
    return out;
  }

  // gpt: appends tokens to the cache; returns the last one's logits [vocab].
  py::array_t<float> decode(const py::object& tokens) {
    py::array ids = prepare(py::array::ensure(tokens), true);
    if (ids.ndim() != 1 && ids.ndim() != 0) throw py::value_error("decode takes a token id or a 1-D list of them");
    const size_t count = size_t(ids.size());
    if (count == 0) throw py::value_error("decode needs at least one token");
    const attn_tensor_info out = model_->output_info();
    const int64_t vocab = out.shape[out.rank - 1];
    py::array_t<float> logits(std::vector<int64_t>{vocab});
    float* dst = logits.mutable_data();
    const int32_t* src = static_cast<const int32_t*>(ids.data());
    py::gil_scoped_release release;
    check(attn_session_decode(session_, src, count), "decoding");
    check(attn_session_get_output(session_, 0, dst, size_t(vocab) * 4), "reading the logits");
    return logits;
  }

  void reset() { check(attn_session_reset(session_), "reset"); }
  size_t position() const {
    size_t p;
    check(attn_session_position(session_, &p), "position");
    return p;
  }

  // Runs the model's embedded samples against the spec's contract.
  py::dict verify() {
    attn::infer::VerifyReport report;
    try {
      py::gil_scoped_release release;
      report = attn::infer::verify_model(model_->get(), threads_);
    } catch (const attn::infer::Failure& f) {
      throw Error(f.what());
    }
    if (report.samples == 0)
      throw Error("the model has no embedded samples to verify: convert it with 'attn-convert ... --embed-sample "
                  "inputs.npy' to store some");
    py::list checks;
    for (const auto& c : report.checks) {
      py::dict d;
      d["sample"] = c.sample;
      d["output"] = c.output;
      d["max_error"] = c.max_error;
      d["tolerance"] = c.tolerance;
      d["argmax_checked"] = c.argmax_checked;
      d["argmax_same"] = c.argmax_same;
      d["passed"] = c.passed;
      checks.append(d);
    }
    py::dict d;
    d["samples"] = report.samples;
    d["passed"] = report.passed;
    d["checks"] = checks;
    return d;
  }

  std::shared_ptr<Model> model() const { return model_; }

 private:
  // A C-contiguous float32 or int32 array: the caller's own when it already
  // is one, else a converted copy. Token ids must fit int32 exactly.
  static py::array prepare(const py::array& x, bool ids) {
    if (!ids) {
      if (x.dtype().kind() != 'f' && x.dtype().kind() != 'i' && x.dtype().kind() != 'u')
        throw py::type_error("the model takes float32 images; got dtype " + std::string(py::str(x.dtype())));
      return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(x);
    }
    if (x.dtype().kind() != 'i' && x.dtype().kind() != 'u')
      throw py::type_error("the model takes integer token ids; got dtype " + std::string(py::str(x.dtype())));
    auto wide = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(x);
    if (py::dtype::of<int32_t>().is(x.dtype()) && x.flags() & py::array::c_style)
      return py::array_t<int32_t>::ensure(x);
    py::array_t<int32_t> narrow(std::vector<ssize_t>(wide.shape(), wide.shape() + wide.ndim()));
    const int64_t* src = wide.data();
    int32_t* dst = narrow.mutable_data();
    for (ssize_t i = 0; i < wide.size(); ++i) {
      if (src[i] < std::numeric_limits<int32_t>::min() || src[i] > std::numeric_limits<int32_t>::max())
        throw py::value_error("token id " + std::to_string(src[i]) + " at flat index " + std::to_string(i) +
                              " is outside int32");
      dst[i] = int32_t(src[i]);
    }
    return std::move(narrow);
  }

  void run_item(const char* data, size_t bytes, const std::vector<int64_t>& shape, size_t item, size_t count) {
    const std::string where = count > 1 ? "item " + std::to_string(item) : std::string("the input");
    check(attn_session_set_input(session_, 0, data, bytes, shape.data(), shape.size()), where);
    check(attn_session_run(session_), "running " + where);
  }

  std::shared_ptr<Model> model_;
  attn_session* session_ = nullptr;
  uint32_t threads_;
};

}  // namespace

PYBIND11_MODULE(attn, m) {
  m.doc() = "attn: CPU inference for standard, Optimized, Efficient and Super attention transformers";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  m.attr("__version__") = attn_version();
  m.attr("commit") = ATTN_COMMIT;
  m.def("version", &attn_version, "The library version, MAJOR.MINOR.PATCH.");
  m.def("kernel_path", &attn_kernel_path, "The kernel path sessions use by default, e.g. 'avx2'.");
  const auto split = [](const std::string& all) {
    std::vector<std::string> list;
    for (size_t start = 0; start <= all.size();) {
      const size_t comma = std::min(all.find(',', start), all.size());
      list.push_back(all.substr(start, comma - start));
      start = comma + 1;
    }
    return list;
  };
  m.def("kernel_paths", [split] { return split(attn_kernel_paths()); },
        "The kernel paths this build and CPU have, the best last.");
  m.def("quant_kernel_variants", [split] { return split(attn_quant_kernel_variants()); },
        "The kernel variants of f16/q8/q4/q8c weights this build and CPU have, e.g. 'avx2-vnni'.");

  py::class_<Model, std::shared_ptr<Model>>(m, "Model", "A loaded .attnmodel: a path, or the file's bytes.")
      .def(py::init<const py::object&>(), py::arg("source"))
      .def_property_readonly("inputs", &Model::inputs, "[{'name', 'dtype', 'shape'}]; -1 is the sequence length")
      .def_property_readonly("outputs", &Model::outputs)
      .def_property_readonly("metadata", &Model::metadata)
      .def_property_readonly("family", [](const Model& m) { return m.metadata_value("family"); })
      .def_property_readonly("attention", [](const Model& m) { return m.metadata_value("attention"); })
      .def_property_readonly("max_tokens", &Model::max_tokens)
      .def_property_readonly("sample_count", &Model::sample_count);

  py::class_<Session>(m, "Session", "A prepared session on a model; one thread at a time may use it.")
      .def(py::init<std::shared_ptr<Model>, uint32_t, const std::optional<std::string>&, const std::string&,
                    const std::optional<std::string>&>(),
           py::arg("model"), py::arg("threads") = 1, py::arg("kernel_path") = py::none(), py::arg("dense") = "auto",
           py::arg("quant_kernels") = py::none(),
           "threads: 0 = one per core; kernel_path: one of kernel_paths() (default the best); dense: 'auto', "
           "'gemm', 'xnnpack', 'packed' or 'inplace' (the own GEMM with f32 weights packed or in place); "
           "quant_kernels: one of quant_kernel_variants() (default the kernel path's best)")
      .def("run", &Session::run, py::arg("x"),
           "Runs one item, or a batch along axis 0; returns float32 outputs (with the batch axis if given).")
      .def("decode", &Session::decode, py::arg("tokens"),
           "gpt: appends tokens to the cache; returns the logits of the last one.")
      .def("reset", &Session::reset, "gpt: empties the cache.")
      .def_property_readonly("position", &Session::position, "gpt: tokens in the cache.")
      .def("verify", &Session::verify, "Checks the model's embedded samples against the numerical contract.")
      .def_property_readonly("model", &Session::model);
}
