"""Run ``F.scaled_dot_product_attention`` with each backend PyTorch has, and say which ran.

Backends: math, flash, memory-efficient and cuDNN (``torch.nn.attention.SDPBackend``), each forced
with ``torch.nn.attention.sdpa_kernel``. A backend that cannot serve the device, dtype or shape is
reported as unavailable with PyTorch's own reason, never silently replaced by another.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION,
            "memory-efficient": SDPBackend.EFFICIENT_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def run_backend(name: str, q, k, v, **kwargs) -> tuple[torch.Tensor | None, str]:
    """(output, "") if backend ``name`` ran on q, k, v (B, h, n, d_k), else (None, why it could not)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with sdpa_kernel([BACKENDS[name]]):
                out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, **kwargs)
        except RuntimeError as exc:
            reasons = [_reason(str(w.message)) for w in caught if "runtime disabled" not in str(w.message)]
            reasons = [r for r in reasons if r] or [_reason(str(exc))]
            return None, f"unavailable on {q.device.type} for {str(q.dtype).removeprefix('torch.')}: " + \
                "; ".join(dict.fromkeys(reasons))[:240]
    return out, ""


def _reason(message: str) -> str:
    """PyTorch's warning without the source location it appends."""
    return message.split(" (Triggered internally")[0].splitlines()[0].strip() if message.strip() else ""


def dtypes_for(device: torch.device, run_dtype: torch.dtype) -> list[torch.dtype]:
    """The run's dtype, plus float16 and bfloat16 on CUDA (the dtypes the fused kernels exist for)."""
    found = [run_dtype]
    if device.type == "cuda":
        found += [d for d in (torch.float16, torch.bfloat16) if d != run_dtype]
    return found
