#!/usr/bin/env python3
"""Generate the runtime's test fixtures (deterministic).

Writes tests/data/fixtures/<name>/{config.json, model.safetensors, inputs.npy,
expected.npy} and tests/data/fixtures/MANIFEST.json.

- inputs: vit float32 [N, C, H, W]; text int32 [N, L]; gpt int32 [N, n].
- expected: float32 logits computed in float64 from the weights *as stored*
  (the checkpoint is written first, then read back and evaluated, so F16/BF16
  fixtures use the rounded weights): vit/text [N, num_classes], gpt [N, n, vocab].

Also copies the two library-written fixtures (hf-gpt2-tiny, timm-vit-tiny) and
checks that this package reproduces their expected outputs.

Usage: /usr/bin/python3 converter/python/gen_fixtures.py [--out DIR] [--src DIR]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attn_torch import build_model, export, load_model  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "fixtures")
# The outside fixtures (written by transformers and timm) are committed beside
# the generated ones; --src copies them in again from another folder.
DEFAULT_SRC = DEFAULT_OUT
OUTSIDE = ("hf-gpt2-tiny", "timm-vit-tiny")


def vit(attention, image_size, channels, patch, pool, d, heads, layers, mlp, classes, **kw):
    cfg = dict(family="vit", attention=attention, d_model=d, heads=heads, layers=layers,
               mlp_dim=mlp, activation="gelu", norm_first=True, layer_norm_eps=1e-6,
               qkv_bias=True, align_bias=True, image_size=list(image_size), channels=channels,
               patch_size=patch, pool=pool, num_classes=classes)
    cfg["context"] = (image_size[0] // patch) * (image_size[1] // patch) + (pool == "cls")
    cfg.update(kw)
    return cfg


def text(attention, vocab, context, d, heads, layers, mlp, classes, pad_id, pre_logits, **kw):
    cfg = dict(family="text", attention=attention, d_model=d, heads=heads, layers=layers,
               mlp_dim=mlp, context=context, activation="gelu", norm_first=True,
               layer_norm_eps=1e-6, qkv_bias=True, align_bias=True, vocab_size=vocab,
               num_classes=classes, pre_logits=pre_logits, pad_id=pad_id)
    cfg.update(kw)
    return cfg


def gpt(attention, vocab, context, d, heads, layers, mlp, layout, **kw):
    cfg = dict(family="gpt", attention=attention, d_model=d, heads=heads, layers=layers,
               mlp_dim=mlp, context=context, activation="gelu_tanh", norm_first=True,
               layer_norm_eps=1e-5, qkv_bias=True, align_bias=True, vocab_size=vocab,
               weight_layout=layout)
    cfg.update(kw)
    return cfg


# name -> (config, options, notes)
FIXTURES = [
    ("vit-standard-fused",
     vit("standard", (12, 12), 1, 4, "cls", 32, 4, 2, 64, 5),
     dict(fused=True),
     "fused qkv, cls pool, 12x12x1, patch 4, gelu, pre-norm"),
    ("vit-standard-split-mean",
     vit("standard", (8, 12), 3, 4, "mean", 24, 2, 1, 48, 4, activation="relu", qkv_bias=False),
     dict(fused=False),
     "split q/k/v, mean pool, non-square 8x12 image, 3 channels, relu, qkv_bias false"),
    ("vit-optimized-postnorm",
     vit("optimized", (12, 12), 1, 4, "cls", 16, 2, 2, 32, 6, activation="gelu_tanh",
         norm_first=False, layer_norm_eps=1e-5),
     dict(),
     "post-norm (norm_first false), gelu_tanh, cls pool, layer_norm_eps 1e-5"),
    ("vit-efficient-f16",
     vit("efficient", (16, 8), 3, 4, "cls", 32, 4, 2, 64, 5),
     dict(dtype="F16"),
     "stored as F16 (expected computed from the F16-rounded weights), 16x8x3 image, cls pool"),
    ("vit-super-mean",
     vit("super", (12, 12), 1, 3, "mean", 16, 2, 2, 32, 4),
     dict(),
     "super, mean pool, 16 tokens (align 16x16 + bias), gelu, pre-norm"),
    ("vit-super-cls-postnorm",
     vit("super", (8, 8), 1, 2, "cls", 32, 2, 1, 64, 3, activation="relu", norm_first=False,
         align_bias=False),
     dict(),
     "super, cls pool (context 17), post-norm, relu, align_bias false"),
    ("text-standard-fused-pad",
     text("standard", 50, 12, 32, 4, 2, 64, 3, pad_id=0, pre_logits=0),
     dict(fused=True),
     "fused qkv, pad_id 0 with padded rows, no pre_logits, gelu"),
    ("text-standard-split-nopad",
     text("standard", 40, 10, 16, 2, 1, 32, 4, pad_id=-1, pre_logits=24, activation="relu",
          qkv_bias=False),
     dict(fused=False),
     "split q/k/v, pad_id -1 (no mask, plain mean), pre_logits 24, relu, qkv_bias false"),
    ("text-optimized-postnorm-pad",
     text("optimized", 64, 12, 24, 3, 2, 48, 2, pad_id=1, pre_logits=0,
          activation="gelu_tanh", norm_first=False),
     dict(),
     "post-norm, pad_id 1 (non-zero pad id), gelu_tanh, 3 heads"),
    ("text-efficient-pad-prelogits",
     text("efficient", 32, 8, 32, 2, 2, 64, 5, pad_id=0, pre_logits=16, qkv_bias=False),
     dict(),
     "pad_id 0 with padded rows, pre_logits 16, qkv_bias false"),
    ("text-super-pad-bf16",
     text("super", 48, 12, 16, 2, 2, 32, 3, pad_id=0, pre_logits=0),
     dict(dtype="BF16"),
     "super with padding mask, stored as BF16 (expected from the BF16-rounded weights)"),
    ("text-super-postnorm",
     text("super", 40, 10, 24, 2, 1, 48, 4, pad_id=-1, pre_logits=12, activation="relu",
          norm_first=False, align_bias=False),
     dict(),
     "super, post-norm, relu, align_bias false, pad_id -1, pre_logits 12"),
    ("gpt-standard-fused",
     gpt("standard", 64, 16, 32, 4, 2, 128, "linear"),
     dict(fused=True, n=11),
     "linear layout, fused c_attn, tied logits, gelu_tanh, n 11 < context 16"),
    ("gpt-standard-conv1d",
     gpt("standard", 56, 16, 24, 2, 1, 96, "conv1d"),
     dict(fused=True, n=11),
     "conv1d layout (Hugging Face form), fused c_attn, tied logits, n 11 < context 16"),
    ("gpt-standard-split-conv1d",
     gpt("standard", 48, 16, 16, 2, 2, 64, "conv1d", activation="gelu"),
     dict(fused=False, n=11),
     "conv1d layout, split c_q/c_k/c_v, gelu, n 11 < context 16"),
    ("gpt-optimized-lmhead",
     gpt("optimized", 40, 16, 24, 2, 2, 48, "conv1d", activation="relu"),
     dict(lm_head=True, n=11),
     "conv1d layout, explicit untied lm_head.weight, relu"),
    ("gpt-efficient",
     gpt("efficient", 56, 16, 32, 2, 1, 64, "linear", activation="gelu", qkv_bias=False),
     dict(n=11),
     "linear layout, qkv_bias false, n 11 < context 16"),
    ("gpt-super",
     gpt("super", 64, 16, 32, 4, 2, 64, "linear"),
     dict(n=11),
     "linear layout, lower-triangular c_align 16x16 + bias, n 11 < context 16 (top-left block)"),
    ("gpt-super-conv1d",
     gpt("super", 32, 16, 16, 2, 2, 32, "conv1d", activation="gelu", align_bias=False,
         layer_norm_eps=1e-6),
     dict(n=16),
     "conv1d layout, lower-triangular c_align without bias, n = context 16 (full block)"),
]


# ---------------------------------------------------------------- weights

def randomize(model, seed):
    """Non-trivial random weights: LayerNorm weights 1 +- 0.2, linear weights
    N(0, (1.5/sqrt(fan_in))^2) (std 0.19-0.38 here), biases N(0, 0.1^2),
    embeddings N(0, 0.5^2), align 0.8 I + N(0, 0.2^2) (lower-triangular when causal)."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    with torch.no_grad():
        mods = dict(model.named_modules())
        for name, p in model.named_parameters():
            owner = mods[name.rsplit(".", 1)[0]] if "." in name else model
            last = name.rsplit(".", 1)[-1]
            if isinstance(owner, torch.nn.LayerNorm):
                p.copy_((1.0 + 0.2 * randn(*p.shape)) if last == "weight" else 0.1 * randn(*p.shape))
            elif name.endswith("align.weight"):
                w = 0.8 * torch.eye(p.shape[0], dtype=torch.float64) + 0.2 * randn(*p.shape)
                if owner.causal:
                    w = torch.tril(w)
                p.copy_(w)
            elif name.endswith("align.bias"):
                p.copy_(0.2 * randn(*p.shape))
            elif isinstance(owner, torch.nn.Embedding) or last in ("pos_embed", "cls_token"):
                p.copy_(0.5 * randn(*p.shape))
            elif last == "weight":
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(1.5 / np.sqrt(fan_in) * randn(*p.shape))
            else:
                p.copy_(0.1 * randn(*p.shape))


# ---------------------------------------------------------------- inputs

def make_inputs(cfg, opts, rng):
    fam = cfg["family"]
    if fam == "vit":
        H, W = cfg["image_size"]
        return rng.standard_normal((3, cfg["channels"], H, W)).astype(np.float32)
    if fam == "text":
        L, V, pad = cfg["context"], cfg["vocab_size"], cfg["pad_id"]
        tokens = np.array([t for t in range(V) if t != pad])
        ids = rng.choice(tokens, size=(4, L)).astype(np.int32)
        if pad >= 0:
            # row 0: no padding; row 1: last 3 padded; row 2: only 2 real tokens;
            # row 3: last token padded
            for row, real in ((1, L - 3), (2, 2), (3, L - 1)):
                ids[row, real:] = pad
        return ids
    n = opts.get("n", cfg["context"])
    return rng.integers(0, cfg["vocab_size"], size=(3, n)).astype(np.int32)


def run(model, inputs):
    x = torch.from_numpy(inputs)
    x = x.double() if x.is_floating_point() else x.long()
    with torch.no_grad():
        return model(x).numpy()


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("  ok:", msg)


# ---------------------------------------------------------------- fixtures

def write_fixture(out, name, cfg, opts):
    seed = seed_of(name)
    torch.manual_seed(seed)
    model = build_model(cfg, fused_qkv=opts.get("fused", False),
                        lm_head=opts.get("lm_head", False)).double()
    randomize(model, seed)
    d = os.path.join(out, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    written = export(model, cfg, d, dtype=opts.get("dtype", "F32"))
    inputs = make_inputs(written, opts, np.random.default_rng(seed))
    reloaded, rcfg = load_model(d)
    assert rcfg == written, (rcfg, written)
    expected = run(reloaded, inputs)
    # the exported file must describe the same model (up to weight rounding)
    direct = run(model, inputs)
    err = np.abs(direct - expected).max() / max(1.0, np.abs(direct).max())
    limit = {"F32": 1e-5, "F16": 2e-2, "BF16": 1e-1}[opts.get("dtype", "F32")]
    assert err < limit, (name, err)
    np.save(os.path.join(d, "inputs.npy"), inputs)
    np.save(os.path.join(d, "expected.npy"), expected.astype(np.float32))
    return inputs, expected, model


def copy_outside(src, out):
    results = {}
    for name in OUTSIDE:
        s, d = os.path.join(src, name), os.path.join(out, name)
        if not os.path.isdir(s):
            print("  (skipping %s: %s not found)" % (name, s))
            continue
        os.makedirs(d, exist_ok=True)
        if not os.path.samefile(s, d):
            for f in sorted(os.listdir(s)):
                shutil.copyfile(os.path.join(s, f), os.path.join(d, f))
        model, _ = load_model(d)
        e = np.load(os.path.join(d, "expected.npy"))
        y = run(model, np.load(os.path.join(d, "inputs.npy")))
        err = float(np.abs(y - e).max())
        results[name] = err
        check(err <= 1e-5 * max(1.0, float(np.abs(e).max())),
              "%s reproduced by attn_torch: max abs err %.3g (max |ref| %.3g)"
              % (name, err, np.abs(e).max()))
    return results


# ---------------------------------------------------------------- sanity checks

def _copy_shared(dst, src):
    """Copy every parameter of src that dst also has (same name and shape)."""
    sd = src.state_dict()
    with torch.no_grad():
        for k, v in dst.state_dict().items():
            if k in sd and sd[k].shape == v.shape:
                v.copy_(sd[k])


def sanity_checks():
    print("sanity checks:")
    rng = np.random.default_rng(0)
    # 1. super with W_A = I, b_A = 0 equals efficient with the same weights
    for name, cfg, opts in [(n, c, o) for n, c, o, _ in FIXTURES if c["attention"] == "super"]:
        eff_cfg = dict(cfg, attention="efficient")
        eff = build_model(eff_cfg).double()
        randomize(eff, 1)
        sup = build_model(cfg).double()
        _copy_shared(sup, eff)
        with torch.no_grad():
            for k, p in sup.named_parameters():
                if k.endswith("align.weight"):
                    p.copy_(torch.eye(p.shape[0], dtype=p.dtype))
                elif k.endswith("align.bias"):
                    p.zero_()
        x = make_inputs(cfg, opts, rng)
        err = np.abs(run(sup, x) - run(eff, x)).max()
        check(err < 1e-12, "%s: super(W_A=I, b_A=0) == efficient (err %.1e)" % (name, err))

    with tempfile.TemporaryDirectory() as tmp:
        # 2. fused and split q/k/v give the same outputs (written both ways, read back)
        for name, cfg, opts in [(n, c, o) for n, c, o, _ in FIXTURES
                                if c["attention"] == "standard"]:
            m = build_model(cfg, fused_qkv=True).double()
            randomize(m, 2)
            x = make_inputs(cfg, opts, rng)
            export(m, cfg, os.path.join(tmp, "f"), fused=True)
            export(m, cfg, os.path.join(tmp, "s"), fused=False)
            mf, _ = load_model(os.path.join(tmp, "f"))
            ms, _ = load_model(os.path.join(tmp, "s"))
            assert mf.state_dict().keys() != ms.state_dict().keys()
            err = np.abs(run(mf, x) - run(ms, x)).max()
            check(err < 1e-12, "%s: fused == split q/k/v (err %.1e)" % (name, err))

        # 3. gpt: linear and conv1d layouts describe the same model
        for name, cfg, opts in [(n, c, o) for n, c, o, _ in FIXTURES if c["family"] == "gpt"]:
            m = build_model(cfg, fused_qkv=opts.get("fused", False),
                            lm_head=opts.get("lm_head", False)).double()
            randomize(m, 3)
            x = make_inputs(cfg, opts, rng)
            export(m, cfg, os.path.join(tmp, "lin"), layout="linear")
            export(m, cfg, os.path.join(tmp, "c1d"), layout="conv1d")
            a = run(load_model(os.path.join(tmp, "lin"))[0], x)
            b = run(load_model(os.path.join(tmp, "c1d"))[0], x)
            check(np.abs(a - b).max() < 1e-12, "%s: linear == conv1d layout" % name)
            # 4. causality: the logits of a prefix do not depend on later tokens
            k = x.shape[1] - 4
            y_full, y_pre = run(m, x), run(m, x[:, :k].copy())
            err = np.abs(y_full[:, :k] - y_pre).max()
            check(err < 1e-12, "%s: causal (prefix logits unchanged, err %.1e)" % (name, err))

    # 5. text: padding tokens never reach real tokens (non-super variants; super mixes
    #    all rows into V by definition): perturbing the position embeddings of the last
    #    3 positions leaves rows whose last 3 tokens are padding unchanged.
    for name, cfg, opts in [(n, c, o) for n, c, o, _ in FIXTURES
                            if c["family"] == "text" and c["pad_id"] >= 0
                            and c["attention"] != "super"]:
        m = build_model(cfg).double()
        randomize(m, 4)
        x = make_inputs(cfg, opts, rng)
        a = run(m, x)
        with torch.no_grad():
            m.pos_embed[:, -3:] += 1.0
        b = run(m, x)
        check(np.abs(a[1:3] - b[1:3]).max() < 1e-12 and np.abs(a[0] - b[0]).max() > 1e-6,
              "%s: padded keys are masked and excluded from the mean" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--src", default=DEFAULT_SRC, help="folder holding hf-gpt2-tiny/, timm-vit-tiny/")
    ap.add_argument("--skip-checks", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)

    if not args.skip_checks:
        sanity_checks()

    manifest = []
    print("fixtures:")
    for name, cfg, opts, notes in FIXTURES:
        inputs, expected, _ = write_fixture(args.out, name, cfg, opts)
        dtype = opts.get("dtype", "F32")
        print("  %-30s %-5s inputs %-16s expected %-14s max|y| %.2f"
              % (name, dtype, list(inputs.shape), list(expected.shape), np.abs(expected).max()))
        manifest.append(dict(name=name, family=cfg["family"], attention=cfg["attention"],
                             notes=notes))

    print("library-written fixtures:")
    errs = copy_outside(args.src, args.out)
    if "hf-gpt2-tiny" in errs:
        manifest.append(dict(
            name="hf-gpt2-tiny", family="gpt", attention="standard",
            notes="written by transformers 5.17.0 GPT2LMHeadModel.save_pretrained: Hugging Face "
                  "config.json (model_type gpt2, gelu_new), conv1d layout, tied lm_head "
                  "omitted; inputs int32 [3, 20] with n_positions 32"))
    if "timm-vit-tiny" in errs:
        manifest.append(dict(
            name="timm-vit-tiny", family="vit", attention="standard",
            notes="timm 1.0.29 VisionTransformer state dict (fused qkv, cls token, "
                  "layer_norm_eps 1e-6), 16x16x1 image, patch 4"))
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.out) for f in fs)
    print("wrote %d fixtures to %s (%.0f KB)" % (len(manifest), args.out, total / 1024))


if __name__ == "__main__":
    main()
