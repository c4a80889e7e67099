"""Writes .npy files of every form numpy produces, each with the values a
reader must get from it, for test_npy and as fuzzing seeds.

    npy_forms.py OUT_DIR

For each form NAME: NAME.npy as numpy wrote it, and NAME.expected, the same
values as numpy converts them (float32 for floating types, int64 for
integers), C order, little-endian, raw. A line per form on stdout:
NAME KIND SHAPE, where KIND is f (float) or i (integer) and SHAPE is the
dimensions joined by 'x' ('-' for a scalar).
"""
import io
import os
import sys

import numpy as np


def forms():
    rng = np.random.default_rng(21)
    base = rng.standard_normal((3, 4, 5))
    ids = rng.integers(0, 200, size=(2, 7))
    yield "save_f32", base.astype(np.float32), None
    yield "save_f64", base * 1e3, None
    yield "save_f16", base.astype(np.float16), None
    yield "save_f32_big", base.astype(">f4"), None
    yield "save_f64_big", base.astype(">f8"), None
    yield "save_fortran", np.asfortranarray(base.astype(np.float32)), None
    yield "save_fortran_big_f64", np.asfortranarray(base.astype(">f8")), None
    yield "save_scalar", np.array(2.5, dtype=np.float32), None
    yield "save_vector", np.arange(6, dtype=np.float32), None
    yield "save_empty", np.zeros((0, 3), dtype=np.float32), None
    yield "save_rank6", rng.standard_normal((1, 2, 1, 3, 1, 2)).astype(np.float32), None
    for dtype in ("<i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", ">i2", ">i4", ">i8", ">u4", ">u8"):
        name = "ids_" + dtype.replace("<", "le_").replace(">", "be_").replace("|", "")
        values = ids if np.dtype(dtype).kind == "u" else ids - 100
        yield name, values.astype(dtype), None
    yield "ids_fortran_i8", np.asfortranarray(ids.astype("<i8").T), None
    # Every header format version, written explicitly.
    for version in ((1, 0), (2, 0), (3, 0)):
        yield "format_v%d" % version[0], base.astype(np.float32), version
        yield "format_v%d_fortran_big" % version[0], np.asfortranarray(base.astype(">f8")), version


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, array, version in forms():
        path = os.path.join(out, name + ".npy")
        if version is None:
            np.save(path, array)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, array, version=version)
        kind = "f" if array.dtype.kind == "f" else "i"
        expected = np.ascontiguousarray(array.astype("<f4" if kind == "f" else "<i8"))
        with open(os.path.join(out, name + ".expected"), "wb") as f:
            f.write(expected.tobytes(order="C"))
        shape = "x".join(str(d) for d in array.shape) or "-"
        print(name, kind, shape)


if __name__ == "__main__":
    main()
