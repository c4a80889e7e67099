#!/usr/bin/env python3
"""Fashion-MNIST idx files -> numpy arrays.

    /usr/bin/python3 converter/python/fashion_mnist_npy.py OUT_DIR [--split t10k|train]

writes OUT_DIR/images.npy (float32 [N, 1, 28, 28], pixel/255, no other
normalisation) and OUT_DIR/labels.npy (int32 [N]). Default split: t10k (10000 images).
"""

import argparse
import gzip
import os

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot")


def read_idx(path):
    """Read an idx file (optionally gzip-compressed) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0:
        raise ValueError("%s: not an idx file" % path)
    code, ndim = data[2], data[3]
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load(split="t10k", data_dir=DATA_DIR):
    """Return (images float32 [N, 1, 28, 28] in [0, 1], labels int32 [N])."""
    images = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split))
    labels = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split))
    images = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return np.ascontiguousarray(images), labels.astype(np.int32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--split", default="t10k", choices=("t10k", "train"))
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()
    images, labels = load(args.split, args.data_dir)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "images.npy"), images)
    np.save(os.path.join(args.out_dir, "labels.npy"), labels)
    print("wrote %s images %s and labels %s" % (args.out_dir, images.shape, labels.shape))


if __name__ == "__main__":
    main()
