"""Quick checks of attn_torch.

    /usr/bin/python3 -m unittest discover -s converter/python/tests
"""

import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from attn_torch import (Attention, VARIANTS, attention_param_count, build_model,  # noqa: E402
                        export, load_model, safetensors_io)

D, H, L = 16, 2, 8


def vit_cfg(variant, **kw):
    cfg = dict(family="vit", attention=variant, d_model=D, heads=H, layers=1, mlp_dim=32,
               context=5, activation="gelu", norm_first=True, layer_norm_eps=1e-6,
               qkv_bias=True, align_bias=True, image_size=[8, 8], channels=1, patch_size=4,
               pool="cls", num_classes=3)
    cfg.update(kw)
    return cfg


def text_cfg(variant, **kw):
    cfg = dict(family="text", attention=variant, d_model=D, heads=H, layers=2, mlp_dim=32,
               context=L, activation="relu", norm_first=False, layer_norm_eps=1e-6,
               qkv_bias=True, align_bias=True, vocab_size=20, num_classes=3, pre_logits=8,
               pad_id=0)
    cfg.update(kw)
    return cfg


def gpt_cfg(variant, **kw):
    cfg = dict(family="gpt", attention=variant, d_model=D, heads=H, layers=2, mlp_dim=64,
               context=L, activation="gelu_tanh", norm_first=True, layer_norm_eps=1e-5,
               qkv_bias=True, align_bias=True, vocab_size=24, weight_layout="linear")
    cfg.update(kw)
    return cfg


def perturb(model, seed=0, std=0.1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("align.weight") and model_is_causal(model):
                p.add_(torch.tril(std * torch.randn(p.shape, generator=g, dtype=p.dtype)))
            else:
                p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))


def model_is_causal(model):
    return hasattr(model, "transformer")


def run(model, x):
    with torch.no_grad():
        return model(x)


class ParamCounts(unittest.TestCase):
    """Weights per attention layer: standard 4d^2, optimized 3d^2, efficient 2d^2,
    super 2d^2 + L^2 (spec section 2). Biases are counted separately: d for each
    learned Q/K/V projection (qkv_bias), d for b_O (always), L for b_A (align_bias)."""

    def count(self, variant, **kw):
        a = Attention(D, H, variant, context=L, **kw)
        return sum(p.numel() for p in a.parameters())

    def test_weights_only(self):
        expect = {"standard": 4 * D * D, "optimized": 3 * D * D, "efficient": 2 * D * D,
                  "super": 2 * D * D + L * L}
        for v in VARIANTS:
            n = self.count(v, qkv_bias=False, align_bias=False) - D  # minus b_O
            self.assertEqual(n, expect[v], v)
            self.assertEqual(attention_param_count(D, L, v, weights_only=True), expect[v])

    def test_with_biases(self):
        expect = {"standard": 4 * D * D + 4 * D, "optimized": 3 * D * D + 3 * D,
                  "efficient": 2 * D * D + 2 * D, "super": 2 * D * D + L * L + 2 * D + L}
        for v in VARIANTS:
            self.assertEqual(self.count(v), expect[v], v)
            self.assertEqual(attention_param_count(D, L, v), expect[v])
        self.assertEqual(self.count("standard", fused_qkv=True), expect["standard"])

    def test_state_dict_names(self):
        m = build_model(vit_cfg("super", pool="mean", context=4))
        names = set(m.state_dict())
        for n in ("blocks.0.attn.q.weight", "blocks.0.attn.align.weight",
                  "blocks.0.attn.align.bias", "blocks.0.attn.proj.weight",
                  "blocks.0.mlp.fc1.weight", "blocks.0.norm2.bias", "norm.weight", "pos_embed",
                  "patch_embed.proj.weight", "head.bias"):
            self.assertIn(n, names)
        self.assertNotIn("blocks.0.attn.k.weight", names)
        self.assertNotIn("cls_token", names)
        g = build_model(gpt_cfg("standard"), fused_qkv=True)
        names = set(g.state_dict())
        for n in ("transformer.wte.weight", "transformer.wpe.weight",
                  "transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_proj.bias",
                  "transformer.h.0.ln_1.weight", "transformer.h.0.mlp.c_fc.weight",
                  "transformer.h.0.mlp.c_proj.weight", "transformer.ln_f.bias"):
            self.assertIn(n, names)
        self.assertNotIn("lm_head.weight", names)


class RoundTrip(unittest.TestCase):
    def check(self, cfg, x, **kw):
        m = build_model(cfg, fused_qkv=kw.pop("fused_qkv", False),
                        lm_head=kw.pop("lm_head", False)).double()
        perturb(m)
        with tempfile.TemporaryDirectory() as tmp:
            written = export(m, cfg, tmp, **kw)
            with open(os.path.join(tmp, "config.json")) as f:
                self.assertEqual(json.load(f), written)
            m2, cfg2 = load_model(tmp)
            self.assertEqual(cfg2, written)
            ref = run(m, x)
            err = (run(m2, x) - ref).abs().max().item()
            tol = {"F32": 1e-5, "F16": 1e-2, "BF16": 1e-1}[kw.get("dtype", "F32")]
            self.assertLess(err, tol * max(1.0, ref.abs().max().item()))
            return tmp, written

    def test_vit(self):
        x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
        for v in VARIANTS:
            self.check(vit_cfg(v), x)
        self.check(vit_cfg("standard"), x, fused_qkv=True)
        self.check(vit_cfg("standard"), x, fused_qkv=True, fused=False)
        self.check(vit_cfg("efficient"), x, dtype="F16")
        self.check(vit_cfg("super"), x, dtype="BF16")

    def test_text(self):
        x = torch.tensor([[3, 4, 5, 6, 7, 8, 9, 1], [5, 6, 2, 0, 0, 0, 0, 0]])
        for v in VARIANTS:
            self.check(text_cfg(v), x)
        self.check(text_cfg("super", pad_id=-1, pre_logits=0, align_bias=False), x)

    def test_gpt_layouts(self):
        x = torch.randint(0, 24, (2, 5))
        for v in VARIANTS:
            for layout in ("linear", "conv1d"):
                self.check(gpt_cfg(v), x, layout=layout)
        self.check(gpt_cfg("standard"), x, fused_qkv=True, layout="conv1d", lm_head=True)

    def test_conv1d_is_transposed(self):
        m = build_model(gpt_cfg("standard"), fused_qkv=True)
        with tempfile.TemporaryDirectory() as tmp:
            export(m, gpt_cfg("standard"), tmp, layout="conv1d")
            sd, meta, dtypes = safetensors_io.load_file(os.path.join(tmp, "model.safetensors"))
        self.assertEqual(list(sd["transformer.h.0.attn.c_attn.weight"].shape), [D, 3 * D])
        self.assertEqual(list(sd["transformer.h.0.mlp.c_fc.weight"].shape), [D, 64])
        self.assertEqual(list(sd["transformer.h.0.mlp.c_proj.weight"].shape), [64, D])
        self.assertEqual(meta.get("format"), "pt")
        self.assertEqual(set(dtypes.values()), {"F32"})

    def test_safetensors_header(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "t.safetensors")
            a = np.arange(6, dtype=np.float32).reshape(2, 3)
            safetensors_io.save_file({"b": a, "a": a[:1]}, p, dtype="BF16")
            with open(p, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
            self.assertEqual(n % 8, 0)
            header, start = safetensors_io.read_header(p)
            self.assertEqual(header["a"]["data_offsets"], [0, 6])
            self.assertEqual(header["b"]["data_offsets"], [6, 18])
            self.assertEqual(os.path.getsize(p), start + 18)
            sd, _, _ = safetensors_io.load_file(p)
            np.testing.assert_array_equal(sd["b"], a)  # small integers are exact in bf16


class SuperAttention(unittest.TestCase):
    def test_causal_stays_lower_triangular(self):
        torch.manual_seed(0)
        m = build_model(gpt_cfg("super"))
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        x = torch.randint(0, 24, (4, L))
        for _ in range(3):
            loss = torch.nn.functional.cross_entropy(m(x[:, :-1]).reshape(-1, 24),
                                                     x[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        for name, p in m.named_parameters():
            if name.endswith("c_align.weight"):
                self.assertTrue(torch.equal(p, torch.tril(p)), name)
                self.assertFalse(torch.equal(p, torch.tril(torch.eye(L))), "align not trained")

    def test_causal_super_upper_entries_rejected(self):
        m = build_model(gpt_cfg("super"))
        with tempfile.TemporaryDirectory() as tmp:
            export(m, gpt_cfg("super"), tmp)
            p = os.path.join(tmp, "model.safetensors")
            sd, meta, _ = safetensors_io.load_file(p)
            sd["transformer.h.0.attn.c_align.weight"][0, 3] = 0.5
            safetensors_io.save_file(sd, p, metadata=meta)
            with self.assertRaises(ValueError):
                load_model(tmp)
            load_model(tmp, zero_upper=True)

    def test_identity_align_equals_efficient(self):
        cases = [(vit_cfg, torch.randn(2, 1, 8, 8, dtype=torch.float64)),
                 (text_cfg, torch.tensor([[3, 4, 5, 6, 7, 8, 9, 1], [5, 6, 2, 0, 0, 0, 0, 0]])),
                 (gpt_cfg, torch.randint(0, 24, (2, 6)))]
        for make, x in cases:
            eff = build_model(make("efficient")).double()
            perturb(eff, 1)
            sup = build_model(make("super")).double()
            sd = sup.state_dict()
            for k, v in eff.state_dict().items():
                sd[k] = v
            for k in sd:
                if k.endswith("align.weight"):
                    sd[k] = torch.eye(sd[k].shape[0], dtype=torch.float64)
                elif k.endswith("align.bias"):
                    sd[k] = torch.zeros_like(sd[k])
            sup.load_state_dict(sd)
            torch.testing.assert_close(run(sup, x), run(eff, x), rtol=0, atol=1e-12)

    def test_align_top_left_block(self):
        # for n < L the output equals a model with context n and the top-left block
        torch.manual_seed(1)
        m = build_model(gpt_cfg("super")).double()
        perturb(m, 2)
        x = torch.randint(0, 24, (2, 5))
        y = run(m, x)
        y_full = run(m, torch.cat([x, torch.randint(0, 24, (2, L - 5))], 1))[:, :5]
        torch.testing.assert_close(y, y_full, rtol=0, atol=1e-12)


if __name__ == "__main__":
    unittest.main()
