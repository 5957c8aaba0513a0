"""Forward hooks that record the intermediates of one reference run.

Keys (``L`` is the block index; tensors are detached copies in the run's dtype):

    L.ln_1.in / L.ln_1.out, L.ln_2.in / L.ln_2.out, ln_f.in / ln_f.out    (B, T, d)  LayerNorm in/out
    L.attn.x                          (B, T, d)        input of attention (= L.ln_1.out)
    L.attn.q / .k / .v                (B, h, T, d_k)   Q, K, V per head
    L.attn.scores                     (B, h, T, T)     raw scores QKᵀ (torch.matmul, before 1/√d_k and masks)
    L.attn.weights                    (B, h, T, T)     attention weights as PyTorch computed them
    L.attn.heads                      (B, h, T, d_k)   head outputs (before W_O)
    L.attn.out                        (B, T, d)        output of the attention module (after W_O)
    L.mlp.pre / L.mlp.act             (B, T, d_ff)     GELU input and output
    logits                            (B, T, V)

Where the weights and head outputs come from: with ``nn.MultiheadAttention`` the weights are the
module's own (``need_weights=True, average_attn_weights=False``) and Q, K, V are its input projected
by its own ``in_proj_weight`` (F.linear), heads = weights·V; with SDPA, Q, K, V and the head outputs
are what the model passed to and got from ``F.scaled_dot_product_attention``, and the weights are
those of PyTorch's math backend (``aten._scaled_dot_product_attention_math``) on the same inputs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explainer.numeric.model import MHAAttention, SDPAAttention, SDPACore


class Capture:
    """``with Capture(model) as cap: model(ids, pad)`` fills ``cap.tensors`` (name -> tensor)."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.tensors: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def __enter__(self) -> Capture:
        for name, module in self.model.named_modules():
            key = name.replace("blocks.", "")
            if isinstance(module, nn.LayerNorm):
                self._hook(module, self._layer_norm(key))
            elif isinstance(module, nn.MultiheadAttention):
                self._hook(module, self._mha(key.removesuffix(".mha")), with_kwargs=True)
            elif isinstance(module, SDPACore):
                self._hook(module, self._sdpa(key.removesuffix(".core")))
            elif isinstance(module, nn.GELU):
                self._hook(module, self._gelu(key.removesuffix(".act")))
            elif isinstance(module, SDPAAttention | MHAAttention):
                self._hook(module, self._attention_out(key))
            elif name == "head":
                self._hook(module, self._logits)
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, module, fn, with_kwargs: bool = False) -> None:
        self._handles.append(module.register_forward_hook(fn, with_kwargs=with_kwargs))

    def _put(self, key: str, tensor: torch.Tensor) -> None:
        self.tensors[key] = tensor.detach().clone()

    def _layer_norm(self, key):
        def hook(module, args, out):
            self._put(f"{key}.in", args[0])
            self._put(f"{key}.out", out)
        return hook

    def _gelu(self, key):
        def hook(module, args, out):
            self._put(f"{key}.pre", args[0])
            self._put(f"{key}.act", out)
        return hook

    def _attention_out(self, key):
        def hook(module, args, out):
            self._put(f"{key}.x", args[0])
            self._put(f"{key}.out", out)
        return hook

    def _logits(self, module, args, out):
        self._put("logits", out)

    def _mha(self, key):
        def hook(module, args, kwargs, out):
            x = args[0]                                                   # (B, T, d)
            B, T, d = x.shape
            h = module.num_heads
            with torch.no_grad():
                q, k, v = F.linear(x, module.in_proj_weight, module.in_proj_bias).chunk(3, dim=-1)
                q, k, v = (t.view(B, T, h, d // h).transpose(1, 2) for t in (q, k, v))  # (B, h, T, d_k)
                weights = out[1]                                          # (B, h, T, T)
                self._attention(key, q, k, v, weights, weights @ v)
        return hook

    def _sdpa(self, key):
        def hook(module, args, out):
            q, k, v, allowed = args                                       # (B, h, T, d_k), mask (B, 1, T, T)
            with torch.no_grad():
                # the aten op adds its mask: pass the additive form F.sdpa itself builds from a boolean one
                bias = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device).masked_fill(~allowed, float("-inf"))
                _, weights = torch.ops.aten._scaled_dot_product_attention_math(q, k, v, bias)
                self._attention(key, q, k, v, weights, out)
        return hook

    def _attention(self, key, q, k, v, weights, heads) -> None:
        for name, t in (("q", q), ("k", k), ("v", v), ("weights", weights), ("heads", heads)):
            self._put(f"{key}.{name}", t)
        self._put(f"{key}.scores", torch.matmul(q, k.transpose(-2, -1)))  # (B, h, T, T)
