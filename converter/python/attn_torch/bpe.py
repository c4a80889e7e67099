"""GPT-2's byte-level BPE: training a small vocabulary, encoding, and the files.

The files are the ones Hugging Face's `save_pretrained` writes for GPT-2:
vocab.json (token string -> id) and merges.txt (one merge per line, by rank,
after a "#version" line). Token strings spell bytes through GPT-2's
byte-to-unicode map, so that every byte sequence has a printable spelling.

    train_bpe(texts, vocab_size) -> (vocab, merges)
    save(vocab, merges, out_dir)
    Encoder(vocab, merges).encode(text) -> [ids]

The trained vocabulary holds the 256 single bytes (ids 0-255, in GPT-2's
order), then one token per merge, then "<|endoftext|>" last.
"""

import collections
import json
import os

import regex

# GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, spaces.
PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
END_OF_TEXT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's map from each byte to a printable character (same order as GPT-2's ids)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_CHARS = bytes_to_unicode()


def _words(text):
    for piece in PATTERN.findall(text):
        yield "".join(BYTE_CHARS[b] for b in piece.encode("utf-8"))


def train_bpe(texts, vocab_size):
    """Learn vocab_size - 257 merges from an iterable of strings."""
    counts = collections.Counter()
    for t in texts:
        counts.update(_words(t))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words holding it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[a, b] += freq[i]
            where[a, b].add(i)
    merges = []
    while len(merges) < vocab_size - 257 and pairs:
        # Most frequent pair; ties broken by the pair itself, so training is deterministic.
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        for i in list(where[best]):
            w = words[i]
            for a, b in zip(w, w[1:]):
                pairs[a, b] -= freq[i]
                if pairs[a, b] <= 0:
                    del pairs[a, b]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(joined)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pairs[a, b] += freq[i]
                where[a, b].add(i)
        del where[best]
    vocab = {c: i for i, c in enumerate(BYTE_CHARS[b] for b in BYTE_CHARS)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[END_OF_TEXT] = len(vocab)
    return vocab, merges


def save(vocab, merges, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write("%s %s\n" % (a, b))


class Encoder:
    """Encodes text with a vocabulary and its merges (merges applied by rank)."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.rank = {tuple(m): r for r, m in enumerate(merges)}
        self.cache = {}

    def _bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.rank.get(p, 1 << 30), k) for k, p in enumerate(zip(parts, parts[1:]))]
            r, k = min(ranked)
            if r == 1 << 30:
                break
            parts[k:k + 2] = [parts[k] + parts[k + 1]]
        return [self.vocab[p] for p in parts]

    def encode(self, text):
        ids = []
        for w in _words(text):
            if w not in self.cache:
                self.cache[w] = self._bpe(w)
            ids.extend(self.cache[w])
        return ids
