"""The package's BPE: its encoder against gpt-3-encoder's ids (the runtime's
tokenizer fixtures), and a trained vocabulary's form."""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from attn_torch import bpe  # noqa: E402

DATA = os.path.join(HERE, "..", "..", "..", "tests", "data", "tokenizer")


class BpeTest(unittest.TestCase):
    def test_encoder_matches_gpt2_fixtures(self):
        with open(os.path.join(DATA, "gpt2", "encoder.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(DATA, "gpt2", "vocab.bpe"), encoding="utf-8") as f:
            merges = [tuple(l.split()) for l in f.read().split("\n")[1:] if l]
        enc = bpe.Encoder(vocab, merges)
        with open(os.path.join(DATA, "fixtures.json")) as f:
            fixtures = json.load(f)
        for fx in fixtures:
            if fx["name"].startswith("invalid"):
                continue  # a Python str cannot hold invalid UTF-8
            with self.subTest(fx["name"]):
                self.assertEqual(enc.encode(bytes.fromhex(fx["hex"]).decode("utf-8")), fx["ids"])

    def test_trained_vocabulary(self):
        texts = ["the cat sat on the mat. ", "the dog sat on the log! "] * 20
        vocab, merges = bpe.train_bpe(texts, 300)
        self.assertEqual(len(vocab), 256 + len(merges) + 1)
        self.assertEqual(vocab[bpe.END_OF_TEXT], len(vocab) - 1)
        enc = bpe.Encoder(vocab, merges)
        ids = enc.encode("the cat sat")
        self.assertLess(len(ids), len("the cat sat"))
        inverse = {i: s for s, i in vocab.items()}
        byte_of = {c: b for b, c in bpe.BYTE_CHARS.items()}
        self.assertEqual(bytes(byte_of[c] for i in ids for c in inverse[i]), b"the cat sat")


if __name__ == "__main__":
    unittest.main()
