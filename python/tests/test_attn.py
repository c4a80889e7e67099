"""The Python module against the fixtures' float64 references.

Run by CTest with PYTHONPATH at the built module, ATTN_CONVERT the built
attn-convert and ATTN_FIXTURES the fixture folder. Every check is the spec's
numerical contract (docs/spec.md section 5): max|y - y_ref| <= 1e-4 *
max(1, max|y_ref|) per item, and the same arg-max wherever the reference's
top-two margin exceeds twice that. The references are float64 evaluations
stored as float32; their own rounding (~6e-8 relative) is far below it.
"""
import os
import subprocess
import tempfile
import threading
import unittest

import numpy as np

import attn

FIXTURES = os.environ["ATTN_FIXTURES"]
CONVERT = os.environ["ATTN_CONVERT"]


def contract_errors(got, ref):
    """Why got misses the contract against ref (one item), or []."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64)
    if got.shape != ref.shape:
        return [f"shape {got.shape}, reference {ref.shape}"]
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    errors = []
    worst = float(np.abs(got - ref).max())
    if worst > tol:
        errors.append(f"max error {worst:.3g} > tolerance {tol:.3g}")
    rows_ref = ref.reshape(-1, ref.shape[-1])
    rows_got = got.reshape(-1, ref.shape[-1])
    for r, (a, b) in enumerate(zip(rows_got, rows_ref)):
        top2 = np.sort(b)[-2:] if b.size > 1 else None
        if top2 is not None and top2[1] - top2[0] > 2 * tol and a.argmax() != b.argmax():
            errors.append(f"row {r}: arg-max {a.argmax()}, reference {b.argmax()}")
    return errors


class Converted:
    """Each fixture converted once, with its first two inputs embedded as samples."""
    _dir = tempfile.TemporaryDirectory()
    _paths = {}

    @classmethod
    def path(cls, name):
        if name not in cls._paths:
            out = os.path.join(cls._dir.name, name + ".attnmodel")
            src = os.path.join(FIXTURES, name)
            subprocess.run([CONVERT, src, "-o", out, "--embed-sample", os.path.join(src, "inputs.npy"),
                            "--embed-count", "2"], check=True, stdout=subprocess.DEVNULL)
            cls._paths[name] = out
        return cls._paths[name]


def fixture_names():
    return sorted(d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d)))


def load(name, kind):
    return np.load(os.path.join(FIXTURES, name, kind + ".npy"))


class EveryFixture(unittest.TestCase):
    def test_batch_and_single_items_meet_the_contract(self):
        names = fixture_names()
        self.assertGreaterEqual(len(names), 14)
        for name in names:
            with self.subTest(name):
                x, ref = load(name, "inputs"), load(name, "expected")
                session = attn.Session(attn.Model(Converted.path(name)))
                batch = session.run(x)
                self.assertEqual(batch.dtype, np.float32)
                self.assertEqual(batch.shape, ref.shape)
                for i in range(x.shape[0]):
                    self.assertEqual(contract_errors(batch[i], ref[i]), [], f"{name} item {i}")
                    np.testing.assert_array_equal(session.run(x[i]), batch[i])

    def test_verify_passes_on_every_fixture(self):
        for name in fixture_names():
            with self.subTest(name):
                report = attn.Session(attn.Model(Converted.path(name))).verify()
                self.assertTrue(report["passed"], report)
                self.assertEqual(report["samples"], 2)


class Models(unittest.TestCase):
    def test_description(self):
        model = attn.Model(Converted.path("gpt-super"))
        self.assertEqual(model.family, "gpt")
        self.assertEqual(model.attention, "super")
        self.assertEqual(model.inputs[0]["dtype"], "int32")
        self.assertEqual(model.inputs[0]["shape"], (-1,))
        self.assertEqual(model.outputs[0]["shape"], (-1, 64))
        self.assertEqual(model.max_tokens, 16)
        self.assertEqual(model.sample_count, 2)
        self.assertEqual(len(model.metadata["source_sha256"]), 64)
        vit = attn.Model(Converted.path("vit-standard-split-mean"))
        self.assertEqual(vit.inputs[0]["shape"], (3, 8, 12))
        self.assertEqual(vit.inputs[0]["dtype"], "float32")

    def test_bytes_and_path_give_the_same_outputs(self):
        path = Converted.path("text-super-postnorm")
        x = load("text-super-postnorm", "inputs")
        with open(path, "rb") as f:
            data = f.read()
        from_bytes = attn.Session(attn.Model(data)).run(x)
        del data  # the model keeps its own copy
        np.testing.assert_array_equal(from_bytes, attn.Session(attn.Model(path)).run(x))

    def test_refusals_name_the_problem(self):
        with self.assertRaisesRegex(attn.Error, "no-such-file"):
            attn.Model("/nonexistent/no-such-file.attnmodel")
        with self.assertRaises(attn.Error):
            attn.Model(b"not a model at all, just bytes")
        session = attn.Session(attn.Model(Converted.path("text-standard-fused-pad")))
        with self.assertRaisesRegex(ValueError, "dimensions"):
            session.run(np.zeros((2, 3, 12), np.int32))
        with self.assertRaisesRegex(TypeError, "token ids"):
            session.run(np.zeros(12, np.float32))
        with self.assertRaisesRegex(ValueError, "outside int32"):
            session.run(np.full(12, 2**40, np.int64))
        with self.assertRaisesRegex(attn.Error, "item 1"):
            ids = np.ones((2, 12), np.int64)  # 0 is the padding id
            ids[1, 3] = 10**6  # beyond the vocabulary
            session.run(ids)
        with self.assertRaisesRegex(attn.Error, "samples"):
            unsampled = os.path.join(Converted._dir.name, "unsampled.attnmodel")
            subprocess.run([CONVERT, os.path.join(FIXTURES, "vit-super-mean"), "-o", unsampled], check=True,
                           stdout=subprocess.DEVNULL)
            attn.Session(attn.Model(unsampled)).verify()


class Inputs(unittest.TestCase):
    def test_int64_and_strided_inputs_give_the_same_outputs(self):
        name = "text-optimized-postnorm-pad"
        x, ref = load(name, "inputs"), load(name, "expected")
        session = attn.Session(attn.Model(Converted.path(name)))
        base = session.run(x)
        np.testing.assert_array_equal(session.run(x.astype(np.int64)), base)
        np.testing.assert_array_equal(session.run(np.asfortranarray(x)), base)
        image = load("vit-standard-fused", "inputs")
        vit = attn.Session(attn.Model(Converted.path("vit-standard-fused")))
        np.testing.assert_array_equal(vit.run(image[::2]), vit.run(np.ascontiguousarray(image[::2])))
        for i in range(image.shape[0]):
            got = vit.run(image[i].astype(np.float64))  # rounded to float32 first: the same input
            np.testing.assert_array_equal(got, vit.run(image[i]))


class Generation(unittest.TestCase):
    def test_decode_meets_the_contract_at_every_position(self):
        for name in ("gpt-standard-fused", "gpt-efficient", "gpt-super", "hf-gpt2-tiny"):
            with self.subTest(name):
                x, ref = load(name, "inputs"), load(name, "expected")
                session = attn.Session(attn.Model(Converted.path(name)))
                for item in range(x.shape[0]):
                    session.reset()
                    self.assertEqual(session.position, 0)
                    logits = [session.decode(int(t)) for t in x[item]]
                    self.assertEqual(session.position, x.shape[1])
                    self.assertEqual(contract_errors(np.stack(logits), ref[item]), [], f"{name} item {item}")
                session.reset()
                last = session.decode(x[0])  # several tokens at once: the last one's logits
                self.assertEqual(contract_errors(last, ref[0, -1]), [])

    def test_decoding_past_the_context_is_refused(self):
        model = attn.Model(Converted.path("gpt-super"))
        session = attn.Session(model)
        session.decode(np.zeros(model.max_tokens, np.int32))
        with self.assertRaises(attn.Error):
            session.decode(0)


class Threads(unittest.TestCase):
    def test_sessions_run_concurrently_with_the_same_results(self):
        name = "hf-gpt2-tiny"
        x, ref = load(name, "inputs"), load(name, "expected")
        model = attn.Model(Converted.path(name))
        results = {}

        def work(key, threads):
            results[key] = attn.Session(model, threads=threads).run(x)

        workers = [threading.Thread(target=work, args=(k, t)) for k, t in ((0, 1), (1, 2), (2, 1))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for key in range(3):
            for i in range(x.shape[0]):
                self.assertEqual(contract_errors(results[key][i], ref[i]), [], f"session {key} item {i}")


class Options(unittest.TestCase):
    def test_every_kernel_path_and_dense_backend_meets_the_contract(self):
        name = "vit-super-mean"
        x, ref = load(name, "inputs"), load(name, "expected")
        model = attn.Model(Converted.path(name))
        self.assertEqual(attn.kernel_paths()[0], "scalar")
        for path in attn.kernel_paths():
            for dense in ("auto", "gemm", "xnnpack", "packed", "inplace"):
                got = attn.Session(model, kernel_path=path, dense=dense).run(x)
                for i in range(x.shape[0]):
                    self.assertEqual(contract_errors(got[i], ref[i]), [], f"{path} {dense} item {i}")
        with self.assertRaisesRegex(attn.Error, "avx1024"):
            attn.Session(model, kernel_path="avx1024")
        with self.assertRaisesRegex(attn.Error, "avx1024-vnni"):
            attn.Session(model, quant_kernels="avx1024-vnni")
        with self.assertRaisesRegex(ValueError, "dense"):
            attn.Session(model, dense="fast")


    def test_every_quantized_kernel_variant_meets_the_contract(self):
        # A q8 (or q8c) model's samples carry the expected outputs of its quantized math.
        variants = attn.quant_kernel_variants()
        self.assertEqual(variants[0], "scalar")
        src = os.path.join(FIXTURES, "vit-super-mean")
        for weights in ("q8", "q8c"):
            out = os.path.join(Converted._dir.name, f"vit-super-mean.{weights}.attnmodel")
            subprocess.run([CONVERT, src, "-o", out, "--weights", weights, "--embed-sample",
                            os.path.join(src, "inputs.npy"), "--embed-count", "2"], check=True,
                           stdout=subprocess.DEVNULL)
            model = attn.Model(out)
            for quant in variants:
                report = attn.Session(model, quant_kernels=quant).verify()
                self.assertTrue(report["passed"], f"{weights} on {quant}: {report}")


class Module(unittest.TestCase):
    def test_version_and_kernel_path(self):
        self.assertRegex(attn.__version__, r"^\d+\.\d+\.\d+$")
        self.assertIn(attn.kernel_path(), ("scalar", "avx2", "avx512", "neon"))
        self.assertTrue(attn.commit)


if __name__ == "__main__":
    unittest.main()
