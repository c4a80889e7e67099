"""Minimal safetensors reader/writer (numpy only).

File layout: 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``
(padded with spaces to a multiple of 8), then the raw little-endian tensor data.
Offsets are relative to the start of the data section.
"""

import json
import struct

import numpy as np

_NP_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def float_to_bf16_bits(a):
    """Round a float array to bfloat16 (round to nearest, ties to even).

    Returns the 16-bit patterns as uint16. float64 input is first rounded to
    float32 (what the file's consumer would see from a float32 model anyway).
    """
    a32 = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    u = a32.view(np.uint32).astype(np.uint64)
    rounding = ((u >> 16) & 1) + 0x7FFF
    bits = ((u + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(a32)
    if nan.any():
        bits[nan] = 0x7FC0
    return bits


def bf16_bits_to_float32(bits):
    u = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return u.view(np.float32)


def round_to_dtype(a, dtype):
    """Return `a` (float) rounded to the storage dtype, as float64."""
    if dtype == "F32":
        return np.asarray(a, dtype=np.float32).astype(np.float64)
    if dtype == "F16":
        return np.asarray(a, dtype=np.float16).astype(np.float64)
    if dtype == "BF16":
        return bf16_bits_to_float32(float_to_bf16_bits(a)).astype(np.float64)
    if dtype == "F64":
        return np.asarray(a, dtype=np.float64)
    raise ValueError("unsupported dtype %r" % dtype)


def _encode(a, dtype):
    if dtype == "BF16":
        return float_to_bf16_bits(a).astype("<u2").tobytes()
    if dtype not in _NP_DTYPES:
        raise ValueError("unsupported dtype %r" % dtype)
    return np.ascontiguousarray(np.asarray(a).astype(_NP_DTYPES[dtype])).tobytes()


def save_file(tensors, path, dtype="F32", metadata=None):
    """Write a dict {name: array} to `path`.

    `dtype` is one safetensors dtype string for all floating tensors
    ("F32", "F16", "BF16", "F64") or a dict {name: dtype}.
    Tensors are written in sorted name order.
    """
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.asarray(tensors[name])
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        blob = _encode(a, dt)
        header[name] = {
            "dtype": dt,
            "shape": [int(s) for s in a.shape],
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for blob in blobs:
            f.write(blob)


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n).decode("utf-8")), 8 + n


def load_file(path):
    """Read a safetensors file into {name: numpy array}.

    F16 stays float16, BF16 becomes (exact) float32, the rest keep their type.
    Returns (tensors, metadata, dtypes).
    """
    header, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    meta = header.pop("__metadata__", None) or {}
    out, dtypes = {}, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        dt = info["dtype"]
        raw = data[b:e]
        if dt == "BF16":
            a = bf16_bits_to_float32(np.frombuffer(raw, dtype="<u2"))
        else:
            a = np.frombuffer(raw, dtype=_NP_DTYPES[dt]).copy()
        out[name] = a.reshape(shape)
        dtypes[name] = dt
    return out, meta, dtypes
