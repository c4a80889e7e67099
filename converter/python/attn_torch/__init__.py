"""PyTorch reference models and checkpoint export for the attn runtime."""

from .models import (ACTIVATIONS, VARIANTS, Align, Attention, Block, GPT, TextClassifier, ViT,
                     attention_param_count)
from .export import (build_model, export, hf_gpt2_to_config, load_config, load_model,
                     normalize_config, read_checkpoint)
from . import safetensors_io

__all__ = [
    "ACTIVATIONS", "VARIANTS", "Align", "Attention", "Block", "GPT", "TextClassifier", "ViT",
    "attention_param_count", "build_model", "export", "hf_gpt2_to_config", "load_config",
    "load_model", "normalize_config", "read_checkpoint", "safetensors_io",
]
