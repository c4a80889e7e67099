"""Checkpoint export / import in the layout of spec section 4.

    export(model, config, out_dir, dtype="F32", layout=None, fused=None)
        writes out_dir/model.safetensors and out_dir/config.json
    load_config(path_or_dir) -> normalised config dict (also maps a Hugging Face
        GPT-2 config.json)
    build_model(config, fused_qkv=False, lm_head=False) -> ViT | TextClassifier | GPT
    load_model(dir) -> (model in float64, config)
"""

import json
import os

import numpy as np
import torch

from . import safetensors_io as st
from .models import ACTIVATIONS, GPT, VARIANTS, TextClassifier, ViT

FAMILIES = ("vit", "text", "gpt")
DTYPES = ("F32", "F16", "BF16")
LAYOUTS = ("linear", "conv1d")

COMMON_KEYS = ("family", "attention", "d_model", "heads", "layers", "mlp_dim", "context",
               "activation", "norm_first", "layer_norm_eps", "qkv_bias", "align_bias")
FAMILY_KEYS = {
    "vit": ("image_size", "channels", "patch_size", "pool", "num_classes"),
    "text": ("vocab_size", "num_classes", "pre_logits", "pad_id"),
    "gpt": ("vocab_size", "weight_layout"),
}

# GPT-2 weights stored [in, out] with weight_layout "conv1d" (c_align is not).
CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_q.weight", "attn.c_k.weight",
                   "attn.c_v.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                   "mlp.c_proj.weight")

_HF_ACTIVATIONS = {
    "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
    "gelu": "gelu", "relu": "relu",
}


def hf_gpt2_to_config(hf):
    """Map a Hugging Face GPT-2 config.json (model_type "gpt2") to the spec's form."""
    d = hf["n_embd"]
    act = hf.get("activation_function", "gelu_new")
    if act not in _HF_ACTIVATIONS:
        raise ValueError("unsupported GPT-2 activation_function %r" % act)
    for key in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if hf.get(key):
            raise ValueError("unsupported GPT-2 option %s" % key)
    if hf.get("scale_attn_weights") is False:
        raise ValueError("unsupported GPT-2 option scale_attn_weights=false")
    return {
        "family": "gpt",
        "attention": "standard",
        "d_model": d,
        "heads": hf["n_head"],
        "layers": hf["n_layer"],
        "mlp_dim": hf.get("n_inner") or 4 * d,
        "context": hf["n_positions"],
        "activation": _HF_ACTIVATIONS[act],
        "norm_first": True,
        "layer_norm_eps": hf.get("layer_norm_epsilon", 1e-5),
        "qkv_bias": True,
        "align_bias": True,
        "vocab_size": hf["vocab_size"],
        "weight_layout": "conv1d",
    }


def normalize_config(config):
    """Fill defaults, validate, and return a new dict in the spec's key order."""
    cfg = dict(config)
    if cfg.get("model_type") == "gpt2":
        cfg = hf_gpt2_to_config(cfg)
    fam = cfg.get("family")
    if fam not in FAMILIES:
        raise ValueError("family must be one of %s, got %r" % (FAMILIES, fam))
    cfg.setdefault("attention", "standard")
    cfg.setdefault("qkv_bias", True)
    cfg.setdefault("align_bias", True)
    cfg.setdefault("norm_first", True)
    cfg.setdefault("activation", "gelu")
    cfg.setdefault("layer_norm_eps", 1e-5 if fam == "gpt" else 1e-6)
    if fam == "text":
        cfg.setdefault("pre_logits", 0)
        cfg.setdefault("pad_id", -1)
    if fam == "gpt":
        cfg.setdefault("weight_layout", "linear")
    if fam == "vit":
        H, W = cfg["image_size"]
        p = cfg["patch_size"]
        ctx = (H // p) * (W // p) + (1 if cfg["pool"] == "cls" else 0)
        cfg.setdefault("context", ctx)
        if cfg["context"] != ctx:
            raise ValueError("vit context %d != (H/p)(W/p)+cls = %d" % (cfg["context"], ctx))
        cfg["image_size"] = [int(H), int(W)]
    if cfg["attention"] not in VARIANTS:
        raise ValueError("attention must be one of %s" % (VARIANTS,))
    if cfg["activation"] not in ACTIVATIONS:
        raise ValueError("activation must be one of %s" % (ACTIVATIONS,))
    if cfg["d_model"] % cfg["heads"]:
        raise ValueError("d_model must be divisible by heads")
    if fam == "gpt" and cfg["weight_layout"] not in LAYOUTS:
        raise ValueError("weight_layout must be one of %s" % (LAYOUTS,))
    out = {}
    for k in COMMON_KEYS + FAMILY_KEYS[fam]:
        if k not in cfg:
            raise ValueError("config lacks %r" % k)
        out[k] = cfg[k]
    for k in ("norm_first", "qkv_bias", "align_bias"):
        out[k] = bool(out[k])
    out["layer_norm_eps"] = float(out["layer_norm_eps"])
    return out


def load_config(path):
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path) as f:
        return normalize_config(json.load(f))


def build_model(config, fused_qkv=False, lm_head=False):
    """Build a (float32, randomly initialised) model for a config dict."""
    c = normalize_config(config)
    common = dict(d_model=c["d_model"], heads=c["heads"], layers=c["layers"],
                  mlp_dim=c["mlp_dim"], attention=c["attention"], activation=c["activation"],
                  layer_norm_eps=c["layer_norm_eps"], qkv_bias=c["qkv_bias"],
                  align_bias=c["align_bias"], fused_qkv=fused_qkv, norm_first=c["norm_first"])
    if c["family"] == "vit":
        return ViT(image_size=c["image_size"], channels=c["channels"],
                   patch_size=c["patch_size"], num_classes=c["num_classes"], pool=c["pool"],
                   **common)
    if c["family"] == "text":
        return TextClassifier(vocab_size=c["vocab_size"], context=c["context"],
                              num_classes=c["num_classes"], pre_logits=c["pre_logits"],
                              pad_id=c["pad_id"], **common)
    return GPT(vocab_size=c["vocab_size"], context=c["context"], lm_head=lm_head, **common)


def _qkv_names(family):
    if family == "gpt":
        return "transformer.h.%d.attn.", "c_attn", ("c_q", "c_k", "c_v")
    return "blocks.%d.attn.", "qkv", ("q", "k", "v")


def _set_fused(sd, config, fused):
    """Convert between fused qkv / c_attn and split q,k,v / c_q,c_k,c_v tensors."""
    if fused is None:
        return sd
    prefix, fname, snames = _qkv_names(config["family"])
    if fused and config["attention"] != "standard":
        raise ValueError("fused q/k/v only exists for standard attention")
    d = config["d_model"]
    sd = dict(sd)
    for i in range(config["layers"]):
        p = prefix % i
        for kind in ("weight", "bias"):
            fk = p + fname + "." + kind
            sk = [p + s + "." + kind for s in snames]
            if fused and sk[0] in sd and sk[2] in sd:
                sd[fk] = np.concatenate([sd.pop(k) for k in sk], axis=0)
            elif not fused and fk in sd:
                a = sd.pop(fk)
                for j, k in enumerate(sk):
                    sd[k] = a[j * d:(j + 1) * d]
    return sd


def model_state(model, config):
    """The model's state dict as float64 numpy arrays (causal align: its lower triangle)."""
    sd = {}
    for k, v in model.state_dict().items():
        a = v.detach().cpu().to(torch.float64).numpy().copy()
        if config["family"] == "gpt" and k.endswith("attn.c_align.weight"):
            a = np.tril(a)
        sd[k] = a
    return sd


def export(model, config, out_dir, dtype="F32", layout=None, fused=None, metadata=None):
    """Write model.safetensors and config.json to out_dir.

    dtype:  "F32" | "F16" | "BF16" for every tensor.
    layout: gpt only, "linear" ([out, in]) or "conv1d" ([in, out] for c_attn, c_q,
            c_k, c_v, c_proj, c_fc); default config["weight_layout"] or "linear".
    fused:  None keeps the model's q/k/v form; True writes fused qkv / c_attn,
            False writes split q,k,v / c_q,c_k,c_v (standard attention).
    Returns the normalised config that was written.
    """
    if dtype not in DTYPES:
        raise ValueError("dtype must be one of %s" % (DTYPES,))
    cfg = normalize_config(config)
    if cfg["family"] == "gpt":
        cfg["weight_layout"] = layout or cfg["weight_layout"]
        if cfg["weight_layout"] not in LAYOUTS:
            raise ValueError("layout must be one of %s" % (LAYOUTS,))
    elif layout not in (None, "linear"):
        raise ValueError("layout only applies to the gpt family")
    sd = _set_fused(model_state(model, cfg), cfg, fused)
    if cfg["family"] == "gpt" and cfg["weight_layout"] == "conv1d":
        sd = {k: (v.T.copy() if k.endswith(CONV1D_SUFFIXES) else v) for k, v in sd.items()}
    os.makedirs(out_dir, exist_ok=True)
    meta = {"format": "pt"}
    if metadata:
        meta.update(metadata)
    st.save_file(sd, os.path.join(out_dir, "model.safetensors"), dtype=dtype, metadata=meta)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    return cfg


def read_checkpoint(path, config, zero_upper=False):
    """Read a safetensors file into a state dict of float64 torch tensors in the
    models' [out, in] convention. Handles the Hugging Face GPT-2 quirks of spec
    section 4.3 (missing "transformer." prefix, attn.bias/masked_bias buffers,
    Conv1D layout)."""
    raw, _, _ = st.load_file(path)
    sd = {}
    gpt = config["family"] == "gpt"
    for k, v in raw.items():
        if gpt:
            if k.endswith((".attn.bias", ".attn.masked_bias")):
                continue
            if not k.startswith("transformer.") and k != "lm_head.weight":
                k = "transformer." + k
            if config["weight_layout"] == "conv1d" and k.endswith(CONV1D_SUFFIXES):
                v = v.T
            if k.endswith("attn.c_align.weight"):
                upper = np.triu(v, 1)
                if np.any(upper != 0):
                    if not zero_upper:
                        raise ValueError("%s has non-zero entries above the diagonal" % k)
                    v = np.tril(v)
        sd[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
    return sd


def load_model(path, zero_upper=False):
    """Load config.json + model.safetensors from a directory; returns (model, config)
    with the model in float64 and eval mode."""
    cfg = load_config(path)
    sd = read_checkpoint(os.path.join(path, "model.safetensors"), cfg, zero_upper)
    if cfg["family"] == "gpt":
        fused = "transformer.h.0.attn.c_attn.weight" in sd
        lm_head = "lm_head.weight" in sd
        if lm_head and torch.equal(sd["lm_head.weight"], sd["transformer.wte.weight"]):
            # a saved tied head: same as the tied model
            del sd["lm_head.weight"]
            lm_head = False
    else:
        fused = "blocks.0.attn.qkv.weight" in sd
        lm_head = False
    model = build_model(cfg, fused_qkv=fused, lm_head=lm_head).double()
    model.load_state_dict(sd, strict=True)
    model.eval()
    return model, cfg
