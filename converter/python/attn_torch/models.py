"""Reference PyTorch models for the four attention variants.

Implements section 2 (standard, optimized, efficient and super attention) and
section 3 (vit, text and gpt families) of the attention-variants spec. The
parameter names are exactly the state-dict names of spec sections 4.2 (timm
style, vit/text) and 4.3 (GPT-2 style, gpt), with Linear weights stored
[out, in]; conversion to the Conv1D layout happens in export.py.

Call ``model.double()`` to get the float64 reference the runtime is tested
against.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS = ("standard", "optimized", "efficient", "super")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu")

_NAMES = {
    "timm": dict(qkv="qkv", q="q", k="k", v="v", align="align", proj="proj",
                 norm1="norm1", norm2="norm2", fc1="fc1", fc2="fc2"),
    "gpt2": dict(qkv="c_attn", q="c_q", k="c_k", v="c_v", align="c_align", proj="c_proj",
                 norm1="ln_1", norm2="ln_2", fc1="c_fc", fc2="c_proj"),
}


def activation_fn(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    raise ValueError("unknown activation %r (expected one of %s)" % (name, ACTIVATIONS))


class Align(nn.Module):
    """Super Attention's token-mixing kernel: V' = W_A[:n,:n] X + b_A[:n].

    weight [L, L] (rows = output tokens), optional bias [L] added to row t as a
    scalar. With causal=True only the lower triangle is used (the upper one is
    masked to zero in forward, so its gradient is zero and it stays at its
    initial value, zero).
    """

    def __init__(self, context, bias=True, causal=False, noise=0.02):
        super().__init__()
        self.context = context
        self.causal = causal
        w = torch.eye(context) + noise * torch.randn(context, context)
        if causal:
            w = torch.tril(w)
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(context)) if bias else None

    def effective_weight(self):
        return torch.tril(self.weight) if self.causal else self.weight

    def forward(self, x):
        # x: [B, n, d]
        n = x.shape[-2]
        if n > self.context:
            raise ValueError("sequence length %d exceeds context %d" % (n, self.context))
        w = self.effective_weight()[:n, :n]
        v = torch.matmul(w, x)
        if self.bias is not None:
            v = v + self.bias[:n].unsqueeze(-1)
        return v


class Attention(nn.Module):
    """One self-attention layer in one of the four variants (spec section 2).

    Parameters (timm names; GPT-2 names with naming="gpt2"):
      standard:  qkv [3d, d] (fused) or q, k, v [d, d];  proj
      optimized: q, k;  proj          (V = X sliced per head)
      efficient: q;  proj             (K = V = X sliced per head)
      super:     q;  align [L, L] (+bias [L]);  proj   (K = X, V = W_A X + b_A)
    """

    def __init__(self, d, heads, variant="standard", context=None, causal=False,
                 qkv_bias=True, align_bias=True, fused_qkv=False, naming="timm"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError("unknown attention variant %r" % (variant,))
        if d % heads:
            raise ValueError("d_model %d not divisible by heads %d" % (d, heads))
        if fused_qkv and variant != "standard":
            raise ValueError("fused q/k/v only exists for standard attention")
        if variant == "super" and not context:
            raise ValueError("super attention needs the context length")
        self.d, self.heads, self.dk = d, heads, d // heads
        self.variant, self.causal, self.fused_qkv = variant, causal, fused_qkv
        self.context = context
        self.names = _NAMES[naming]
        nm = self.names
        if fused_qkv:
            setattr(self, nm["qkv"], nn.Linear(d, 3 * d, bias=qkv_bias))
        else:
            setattr(self, nm["q"], nn.Linear(d, d, bias=qkv_bias))
            if variant in ("standard", "optimized"):
                setattr(self, nm["k"], nn.Linear(d, d, bias=qkv_bias))
            if variant == "standard":
                setattr(self, nm["v"], nn.Linear(d, d, bias=qkv_bias))
        if variant == "super":
            setattr(self, nm["align"], Align(context, bias=align_bias, causal=causal))
        setattr(self, nm["proj"], nn.Linear(d, d, bias=True))

    def _m(self, key):
        return getattr(self, self.names[key])

    def project(self, x):
        """Return Q, K, V, each [B, n, d] (before the head split)."""
        if self.fused_qkv:
            q, k, v = self._m("qkv")(x).split(self.d, dim=-1)
            return q, k, v
        q = self._m("q")(x)
        if self.variant == "standard":
            return q, self._m("k")(x), self._m("v")(x)
        if self.variant == "optimized":
            return q, self._m("k")(x), x
        if self.variant == "efficient":
            return q, x, x
        return q, x, self._m("align")(x)  # super

    def forward(self, x, key_padding_mask=None):
        """x: [B, n, d]; key_padding_mask: bool [B, n], True = padding key."""
        B, n, d = x.shape
        q, k, v = self.project(x)
        h, dk = self.heads, self.dk

        def split(t):
            return t.reshape(B, n, h, dk).transpose(1, 2)  # [B, h, n, dk]

        q, k, v = split(q), split(k), split(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dk)  # [B, h, n, n]
        if self.causal:
            future = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        att = torch.softmax(scores, dim=-1)
        out = torch.matmul(att, v).transpose(1, 2).reshape(B, n, d)
        return self._m("proj")(out)


class Mlp(nn.Module):
    def __init__(self, d, mlp_dim, activation, naming="timm"):
        super().__init__()
        self.names = _NAMES[naming]
        setattr(self, self.names["fc1"], nn.Linear(d, mlp_dim))
        setattr(self, self.names["fc2"], nn.Linear(mlp_dim, d))
        self.act = activation_fn(activation)

    def forward(self, x):
        x = getattr(self, self.names["fc1"])(x)
        return getattr(self, self.names["fc2"])(self.act(x))


class Block(nn.Module):
    """Pre-norm (norm_first) or post-norm transformer block."""

    def __init__(self, d, heads, mlp_dim, variant="standard", context=None, causal=False,
                 qkv_bias=True, align_bias=True, fused_qkv=False, activation="gelu",
                 norm_first=True, layer_norm_eps=1e-6, naming="timm"):
        super().__init__()
        self.names = _NAMES[naming]
        self.norm_first = norm_first
        setattr(self, self.names["norm1"], nn.LayerNorm(d, eps=layer_norm_eps))
        self.attn = Attention(d, heads, variant, context, causal, qkv_bias, align_bias,
                              fused_qkv, naming)
        setattr(self, self.names["norm2"], nn.LayerNorm(d, eps=layer_norm_eps))
        self.mlp = Mlp(d, mlp_dim, activation, naming)

    def forward(self, x, key_padding_mask=None):
        ln1 = getattr(self, self.names["norm1"])
        ln2 = getattr(self, self.names["norm2"])
        if self.norm_first:
            x = x + self.attn(ln1(x), key_padding_mask)
            x = x + self.mlp(ln2(x))
        else:
            x = ln1(x + self.attn(x, key_padding_mask))
            x = ln2(x + self.mlp(x))
        return x


def _blocks(n, **kw):
    return nn.ModuleList([Block(**kw) for _ in range(n)])


class PatchEmbed(nn.Module):
    def __init__(self, channels, patch_size, d):
        super().__init__()
        self.proj = nn.Conv2d(channels, d, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        # [B, C, H, W] -> [B, (H/p)*(W/p), d], patches in row-major order
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    """Image classifier, spec section 3.1."""

    def __init__(self, image_size, channels, patch_size, d_model, heads, layers, mlp_dim,
                 num_classes, pool="cls", attention="standard", activation="gelu",
                 norm_first=True, layer_norm_eps=1e-6, qkv_bias=True, align_bias=True,
                 fused_qkv=False):
        super().__init__()
        H, W = image_size
        if H % patch_size or W % patch_size:
            raise ValueError("image size %s not divisible by patch size %d" % (image_size, patch_size))
        if pool not in ("cls", "mean"):
            raise ValueError("pool must be 'cls' or 'mean'")
        self.pool = pool
        self.num_patches = (H // patch_size) * (W // patch_size)
        self.context = self.num_patches + (1 if pool == "cls" else 0)
        self.patch_embed = PatchEmbed(channels, patch_size, d_model)
        if pool == "cls":
            self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, d_model))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, self.context, d_model))
        self.blocks = _blocks(layers, d=d_model, heads=heads, mlp_dim=mlp_dim, variant=attention,
                              context=self.context, causal=False, qkv_bias=qkv_bias,
                              align_bias=align_bias, fused_qkv=fused_qkv, activation=activation,
                              norm_first=norm_first, layer_norm_eps=layer_norm_eps)
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, images):
        x = self.patch_embed(images)
        if self.pool == "cls":
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        x = x[:, 0] if self.pool == "cls" else x.mean(dim=1)
        return self.head(x)


class PreLogits(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc = nn.Linear(d, hidden)

    def forward(self, x):
        return F.relu(self.fc(x))


class TextClassifier(nn.Module):
    """Sequence classifier, spec section 3.2 (no final LayerNorm)."""

    def __init__(self, vocab_size, context, d_model, heads, layers, mlp_dim, num_classes,
                 attention="standard", activation="gelu", norm_first=True, layer_norm_eps=1e-6,
                 qkv_bias=True, align_bias=True, fused_qkv=False, pre_logits=0, pad_id=-1):
        super().__init__()
        self.context, self.pad_id = context, pad_id
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, context, d_model))
        self.blocks = _blocks(layers, d=d_model, heads=heads, mlp_dim=mlp_dim, variant=attention,
                              context=context, causal=False, qkv_bias=qkv_bias,
                              align_bias=align_bias, fused_qkv=fused_qkv, activation=activation,
                              norm_first=norm_first, layer_norm_eps=layer_norm_eps)
        self.pre_logits = PreLogits(d_model, pre_logits) if pre_logits > 0 else None
        self.head = nn.Linear(pre_logits if pre_logits > 0 else d_model, num_classes)

    def forward(self, ids):
        ids = ids.long()
        n = ids.shape[1]
        x = self.embed(ids) + self.pos_embed[:, :n]
        pad = (ids == self.pad_id) if self.pad_id >= 0 else None
        for blk in self.blocks:
            x = blk(x, pad)
        if pad is None:
            x = x.mean(dim=1)
        else:
            keep = (~pad).to(x.dtype).unsqueeze(-1)
            x = (x * keep).sum(dim=1) / keep.sum(dim=1)
        if self.pre_logits is not None:
            x = self.pre_logits(x)
        return self.head(x)


class GPT(nn.Module):
    """Decoder-only language model, spec section 3.3 (causal, pre-norm)."""

    def __init__(self, vocab_size, context, d_model, heads, layers, mlp_dim,
                 attention="standard", activation="gelu", layer_norm_eps=1e-5, qkv_bias=True,
                 align_bias=True, fused_qkv=False, lm_head=False, norm_first=True):
        super().__init__()
        if not norm_first:
            raise ValueError("the gpt family is pre-norm (norm_first must be true)")
        self.context = context
        blocks = _blocks(layers, d=d_model, heads=heads, mlp_dim=mlp_dim, variant=attention,
                         context=context, causal=True, qkv_bias=qkv_bias, align_bias=align_bias,
                         fused_qkv=fused_qkv, activation=activation, norm_first=True,
                         layer_norm_eps=layer_norm_eps, naming="gpt2")
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, d_model),
            wpe=nn.Embedding(context, d_model),
            h=blocks,
            ln_f=nn.LayerNorm(d_model, eps=layer_norm_eps),
        ))
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False) if lm_head else None

    def forward(self, ids):
        ids = ids.long()
        n = ids.shape[1]
        if n > self.context:
            raise ValueError("sequence length %d exceeds context %d" % (n, self.context))
        t = self.transformer
        pos = torch.arange(n, device=ids.device)
        x = t.wte(ids) + t.wpe(pos)[None]
        for blk in t.h:
            x = blk(x)
        x = t.ln_f(x)
        if self.lm_head is not None:
            return self.lm_head(x)
        return torch.matmul(x, t.wte.weight.t())


def attention_param_count(d, context, variant, qkv_bias=True, align_bias=True, weights_only=False):
    """Parameters of one attention layer.

    Weights: standard 4d^2, optimized 3d^2, efficient 2d^2, super 2d^2 + L^2
    (spec section 2, paper Remarks 1-3). Biases (unless weights_only): d for each
    of the learned Q/K/V projections when qkv_bias, d for b_O (always), and L
    for b_A when align_bias (super).
    """
    nproj = {"standard": 3, "optimized": 2, "efficient": 1, "super": 1}[variant]
    n = (nproj + 1) * d * d + (context * context if variant == "super" else 0)
    if weights_only:
        return n
    n += d + (nproj * d if qkv_bias else 0)
    if variant == "super" and align_bias:
        n += context
    return n
