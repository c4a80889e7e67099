"""quant_peers.py's models: each variant's ONNX files (f32 and ONNX Runtime's
quantized forms, bench/onnx_quant.py) and .attnmodel files (attn-convert
--weights), and the checks run on them before any timing (see quant_peers.py's
docstring)."""

import json
import os
import subprocess

import benchlib as bl
import compare_peers as cp
import flops as fl
import onnx_quant as oq

import numpy as np
import torch
from attn_torch import load_model

ORT_KINDS = {  # contender -> (onnx_quant mode, bits)
    "ort-f32": None,
    "ort-int8": ("int8", 8),
    "ort-nbits8": ("nbits", 8),
    "ort-nbits4": ("nbits", 4),
}
ATTN_FORMATS = ("f32", "f16", "q8", "q4", "q8c")
QUANT_VERSION = "bench/onnx_quant.py v1"

log = cp.log

def attn_convert_formats(convert):
    """The --weights formats attn-convert offers, or [] when it has no --weights."""
    try:
        r = subprocess.run([convert, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    text = r.stdout + r.stderr
    if "--weights" not in text:
        return []
    return [f for f in ATTN_FORMATS if f in text.split("--weights", 1)[1][:400]]


def sha_stamp(path):
    return {"path": os.path.basename(path), "size": os.path.getsize(path), "mtime": os.path.getmtime(path)}



class Prepared:
    """One model variant: its ONNX files, .attnmodel files and checks."""

    def __init__(self, entry, variant, args, ort, formats, scratch):
        name = entry["name"]
        self.name, self.variant, self.entry = name, variant, entry
        self.ort = ort
        self.input_npy = bl.input_path(args.models_dir, name)
        self.ckpt = bl.checkpoint_dir(args.models_dir, name, variant)
        x = np.load(self.input_npy)
        self.dtype = "float32" if x.dtype == np.float32 else "int64"
        model64, _ = load_model(self.ckpt)
        xt = cp.torch_input(x)
        with torch.inference_mode():
            self.ref = model64(xt if x.dtype != np.float32 else xt.double()).numpy()
        del model64
        model32 = load_model(self.ckpt)[0].float().eval()
        # The f32 ONNX file: compare_peers's export, shared with it (same cache stamp).
        self.onnx = {"ort-f32": bl.onnx_path(args.models_dir, name, variant)}
        with open(os.path.join(self.ckpt, "stamp.json")) as f:
            stamp = {"checkpoint": json.load(f), "torch": torch.__version__, "opset": cp.OPSET,
                     "mtime": os.path.getmtime(os.path.join(self.ckpt, "model.safetensors"))}
        with torch.inference_mode():
            if cp.export_onnx(model32, xt, self.onnx["ort-f32"], stamp):
                log("  exported %s" % self.onnx["ort-f32"])
        del model32
        # The quantized ONNX files, cached by the f32 file and the rewrite's settings.
        self.layers = {}
        for kind, spec in ORT_KINDS.items():
            if spec is None:
                continue
            mode, bits = spec
            path = self.onnx["ort-f32"][:-len(".onnx")] + "." + kind[len("ort-"):] + ".onnx"
            qstamp = {"f32": sha_stamp(self.onnx["ort-f32"]), "mode": mode, "bits": bits, "block_size": 32,
                      "accuracy_level": args.accuracy_level, "version": QUANT_VERSION}
            if bl.read_json(path + ".json") != qstamp or not os.path.exists(path):
                layers = oq.quantize_file(self.onnx["ort-f32"], path, mode, bits, 32, args.accuracy_level)
                with open(path + ".json", "w") as f:
                    json.dump(qstamp, f)
                log("  wrote %s (%d layers)" % (path, len(layers)))
            self.onnx[kind] = path
        # attn: the f32 model of make_models.py and, where attn-convert can, its quantized forms.
        self.attnmodel = {"attn-f32": bl.attnmodel_path(args.models_dir, name, variant)}
        convert = bl.tool(args.build, "attn-convert")
        for fmt in formats:
            if fmt == "f32":
                continue
            path = bl.attnmodel_path(args.models_dir, name, variant)[:-len(".attnmodel")] + "." + fmt + ".attnmodel"
            cstamp = {"checkpoint": sha_stamp(os.path.join(self.ckpt, "model.safetensors")),
                      "convert": sha_stamp(convert), "weights": fmt}
            if bl.read_json(path + ".json") != cstamp or not os.path.exists(path):
                subprocess.run([convert, self.ckpt, "-o", path + ".tmp", "--weights", fmt, "-q"], check=True)
                os.replace(path + ".tmp", path)
                with open(path + ".json", "w") as f:
                    json.dump(cstamp, f)
                log("  converted %s" % path)
            self.attnmodel["attn-" + fmt] = path
        self.contenders = [c for c in args.contenders if c in self.onnx or c in self.attnmodel]
        est = fl.exact_flops(entry["configs"][variant], entry["tokens"])["total"] / 50e9
        self.iters = int(max(5, min(args.iters, round(args.visit_seconds / est))))
        self.warmup = int(max(1, min(args.warmup, self.iters // 2)))
        self.scratch = scratch
        self.args = args

    def sizes(self):
        out = {k: os.path.getsize(p) for k, p in self.onnx.items()}
        out.update({k: os.path.getsize(p) for k, p in self.attnmodel.items()})
        return out

    # --- running once ---

    def ort_out(self, kind, npy):
        key = "%s/%s/%s/check" % (self.name, self.variant, kind)
        self.ort.call(cmd="load", key=key, path=self.onnx[kind], threads=1, dtype=self.dtype)
        try:
            out = []
            for i, p in enumerate(npy):
                o = os.path.join(self.scratch, "ort-out.npy")
                self.ort.call(cmd="input", key=key, npy=p)
                self.ort.call(cmd="run", key=key, out=o)
                out.append(np.load(o).astype(np.float64))
            return out
        finally:
            self.ort.call(cmd="release", key=key)

    def attn_out(self, kind, npy):
        out = []
        for p in npy:
            o = os.path.join(self.scratch, "attn-out.npy")
            subprocess.run([self.args.attn_infer, self.attnmodel[kind], "-i", p, "-o", o, "-q"], check=True)
            out.append(np.load(o).astype(np.float64))
        return out

    def out(self, kind, npy):
        return self.ort_out(kind, npy) if kind.startswith("ort-") else self.attn_out(kind, npy)

    # --- checks ---

    def check_f32(self):
        res = {}
        for kind in ("ort-f32", "attn-f32"):
            y = self.out(kind, [self.input_npy])[0]
            err, tol = cp.error_bound(y, self.ref)
            res[kind] = {"max_abs_error": err, "tolerance": tol, "ok": err <= tol}
        return res

    def substituted_reference(self, layers):
        """The float64 PyTorch model with each quantized weight replaced by its
        dequantized value; None (with the reason) when a layer's weight is not
        found among the model's parameters."""
        model = load_model(self.ckpt)[0]
        params = []
        for mod in model.modules():
            for pname, p in mod.named_parameters(recurse=False):
                if p.dim() == 2:
                    params.append((mod, pname, p.detach().float().numpy()))
        for L in layers:
            w = np.ascontiguousarray(L["w"])
            found = False
            for mod, pname, arr in params:
                if arr.shape == w.T.shape and np.array_equal(arr, w.T):
                    new = L["w_deq"].T
                elif arr.shape == w.shape and np.array_equal(arr, w):
                    new = L["w_deq"]
                else:
                    continue
                if isinstance(mod, torch.nn.Embedding):
                    # GPT-2's tied head: the ONNX graph gathers from the float32 table
                    # and multiplies by a quantized copy. The gpt model uses lm_head
                    # when it has one, so the quantized copy becomes an untied head.
                    if (getattr(model, "lm_head", False) is None and hasattr(model, "transformer")
                            and mod is model.transformer["wte"] and arr.shape == w.T.shape):
                        head = torch.nn.Linear(arr.shape[1], arr.shape[0], bias=False).double()
                        head.weight = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(new)),
                                                         requires_grad=False)
                        model.lm_head = head
                        found = True
                        break
                    return None, "the weight of %s is tied to an embedding" % L["node"]
                # a new Parameter: a weight tied to an embedding is untied, so the
                # embedding keeps its float values as in the ONNX graph
                setattr(mod, pname, torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(new)),
                                                       requires_grad=False))
                found = True
                break
            if not found:
                return None, "weight of %s (%dx%d) not found among the PyTorch parameters" % (L["node"], L["K"], L["N"])
        return model.eval(), None

    def check_weight_only(self, bits):
        """MatMulNBits at accuracy_level 0 against the float64 model with dequantized weights."""
        path = os.path.join(self.scratch, "%s-%s-nbits%d-acc0.onnx" % (self.name, self.variant, bits))
        layers = oq.quantize_file(self.onnx["ort-f32"], path, "nbits", bits, 32, 0)
        ref_model, why = self.substituted_reference(layers)
        if ref_model is None:
            os.remove(path)
            return {"ok": None, "note": why}
        x = np.load(self.input_npy)
        xt = cp.torch_input(x)
        with torch.inference_mode():
            ref = ref_model(xt if x.dtype != np.float32 else xt.double()).numpy()
        key = "acc0"
        self.ort.call(cmd="load", key=key, path=path, threads=1, dtype=self.dtype)
        try:
            self.ort.call(cmd="input", key=key, npy=self.input_npy)
            o = os.path.join(self.scratch, "ort-out.npy")
            self.ort.call(cmd="run", key=key, out=o)
            y = np.load(o).astype(np.float64)
        finally:
            self.ort.call(cmd="release", key=key)
            os.remove(path)
        err, tol = cp.error_bound(y, ref)
        return {"ok": err <= tol, "max_abs_error": err, "tolerance": tol, "layers": len(layers),
                "shapes": sorted({"%dx%d" % (L["K"], L["N"]) for L in layers})}

    def accuracy(self, n):
        """Each quantized contender against its own stack's f32 on n seeded inputs."""
        npy = []
        for i in range(n):
            p = os.path.join(self.scratch, "%s-acc-%d.npy" % (self.name, i))
            np.save(p, bl.make_input(self.entry, seed=5000 + i))
            npy.append(p)
        outs = {k: self.out(k, npy) for k in self.contenders}
        res = {}
        for k in self.contenders:
            base = "ort-f32" if k.startswith("ort-") else "attn-f32"
            if k == base:
                continue
            diffs, agree, total, scale = [], 0, 0, 0.0
            for y, y0 in zip(outs[k], outs[base]):
                y, y0 = y.reshape(y0.shape), y0
                diffs.append(float(np.abs(y - y0).max()))
                scale = max(scale, float(np.abs(y0).max()))
                a, a0 = y.reshape(-1, y0.shape[-1]).argmax(-1), y0.reshape(-1, y0.shape[-1]).argmax(-1)
                agree += int((a == a0).sum())
                total += a.size
            res[k] = {"against": base, "inputs": n, "max_abs_logit_diff": max(diffs), "max_abs_logit": scale,
                      "argmax_agree": agree, "argmax_total": total}
        for p in npy:
            os.remove(p)
        return res

    # --- timing ---

    def time(self, kind, threads):
        if kind.startswith("attn-"):
            return bl.attn_p50(self.args.attn_infer, self.attnmodel[kind], self.input_npy, self.iters, threads)
        key = "%s/%s/%s/%d" % (self.name, self.variant, kind, threads)
        r = self.ort.call(cmd="load", key=key, path=self.onnx[kind], threads=threads, dtype=self.dtype)
        self.ort.version = r["version"]
        try:
            self.ort.call(cmd="input", key=key, npy=self.input_npy)
            ms = self.ort.call(cmd="bench", key=key, warmup=self.warmup, iters=self.iters)["ms"]
        finally:
            self.ort.call(cmd="release", key=key)
        return float(np.median(ms)), None
