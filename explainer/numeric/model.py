"""The reference transformer: a small decoder-only (GPT-style) model built from real ``torch.nn`` parts.

    x⁰ = E[ids] + PE[:T]                                    token embedding + sinusoidal positions
    h  = xˡ + Attention(LN₁(xˡ))                             pre-LN block, causal self-attention
    xˡ⁺¹ = h + W₂ GELU(W₁ LN₂(h) + b₁) + b₂                  position-wise MLP, residual
    logits = LN_f(x^L) Eᵀ                                    tied LM head

Attention is ``nn.MultiheadAttention`` (``attention="mha"``) or ``F.scaled_dot_product_attention``
(``attention="sdpa"``); both have the same parameters (``in_proj`` 3d × d, ``out_proj`` d × d).
Masks use one convention inside the model: ``causal`` (T, T) and ``pad`` (B, T) are ``True`` where a
key must be ignored (``nn.MultiheadAttention``'s convention; SDPA's boolean mask is the negation).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from explainer.numeric.config import Config


def sinusoid_table(n_ctx: int, d_model: int) -> torch.Tensor:
    """PE (n_ctx, d) in float64, the exp–log form found in most code (interleaved sin/cos):
    PE[pos, 2i] = sin(pos · exp(−2i ln(10000)/d)), PE[pos, 2i+1] = cos(same angle)."""
    position = torch.arange(n_ctx, dtype=torch.float64).unsqueeze(1)                     # (n, 1)
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))  # (d/2,)
    table = torch.zeros(n_ctx, d_model, dtype=torch.float64)                             # (n, d)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table


class SinusoidalPositions(nn.Module):
    """Adds the fixed sinusoidal table (a buffer, not a parameter) to a batch of embeddings."""

    def __init__(self, n_ctx: int, d_model: int):
        super().__init__()
        self.register_buffer("table", sinusoid_table(n_ctx, d_model), persistent=False)  # (n_ctx, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:                                   # x (B, T, d)
        return x + self.table[: x.shape[1]].to(x.dtype)


class SDPACore(nn.Module):
    """``F.scaled_dot_product_attention`` as a module, so a hook sees Q, K, V per head and the head outputs."""

    def forward(self, q, k, v, allowed):        # q, k, v (B, h, T, d_k); allowed (B, 1, T, T) True = attend
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=0.0)  # (B, h, T, d_k)


class SDPAAttention(nn.Module):
    """Multi-head self-attention written with ``F.scaled_dot_product_attention`` (nanoGPT style)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.n_heads, self.d_k = cfg.n_heads, cfg.d_k
        self.in_proj = nn.Linear(cfg.d_model, 3 * cfg.d_model)  # rows: W_Q, W_K, W_V stacked (3d, d)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model)     # W_O (d, d)
        self.core = SDPACore()

    def forward(self, x, causal, pad):          # x (B, T, d)
        B, T, d = x.shape
        q, k, v = self.in_proj(x).split(d, dim=-1)                                       # 3 × (B, T, d)
        q, k, v = (t.view(B, T, self.n_heads, self.d_k).transpose(1, 2) for t in (q, k, v))  # (B, h, T, d_k)
        allowed = ~(causal[None, None] | pad[:, None, None, :])                          # (B, 1, T, T)
        y = self.core(q, k, v, allowed)                                                  # (B, h, T, d_k)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, d))                         # (B, T, d)


class MHAAttention(nn.Module):
    """Self-attention through ``nn.MultiheadAttention`` (weights per head kept for the capture)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.mha = nn.MultiheadAttention(cfg.d_model, cfg.n_heads, dropout=0.0, batch_first=True)

    def forward(self, x, causal, pad):          # x (B, T, d)
        out, _ = self.mha(x, x, x, attn_mask=causal, key_padding_mask=pad,
                          need_weights=True, average_attn_weights=False)                  # (B, T, d)
        return out


class MLP(nn.Module):
    """Position-wise feed-forward: Linear(d, d_ff) → GELU (erf) → Linear(d_ff, d)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, cfg.d_ff)
        self.act = nn.GELU()
        self.proj = nn.Linear(cfg.d_ff, cfg.d_model)

    def forward(self, x):                       # (B, T, d) -> (B, T, d)
        return self.proj(self.act(self.fc(x)))


class Block(nn.Module):
    """Pre-LN block: x + Attn(LN₁ x), then + MLP(LN₂ ·)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        self.attn = MHAAttention(cfg) if cfg.attention == "mha" else SDPAAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        self.mlp = MLP(cfg)

    def forward(self, x, causal, pad):          # (B, T, d) -> (B, T, d)
        x = x + self.attn(self.ln_1(x), causal, pad)
        return x + self.mlp(self.ln_2(x))


class TinyGPT(nn.Module):
    """The whole decoder; ``forward(ids, pad)`` returns logits (B, T, V)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab, cfg.d_model)             # E (V, d)
        self.pos = SinusoidalPositions(cfg.n_ctx, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        self.head = nn.Linear(cfg.d_model, cfg.vocab, bias=False)
        self.head.weight = self.tok_emb.weight                           # tied: logits = h Eᵀ
        self.apply(_gpt2_init)

    def forward(self, ids: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:  # ids, pad (B, T)
        T = ids.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)  # (T, T) True above diagonal
        x = self.pos(self.tok_emb(ids))                                  # (B, T, d)
        for block in self.blocks:
            x = block(x, causal, pad)
        return self.head(self.ln_f(x))                                   # (B, T, V)


def _gpt2_init(module: nn.Module) -> None:
    """GPT-2's scale, with no parameter left at 0 or 1: weights and biases N(0, 0.02²), LayerNorm gains
    1 + N(0, 0.1²) and shifts N(0, 0.02²). GPT-2 itself starts biases at 0 and norms at γ = 1, β = 0, but
    then a closed form that forgets a bias or a gain agrees with the run; random values make the oracle
    able to disagree. The untrained loss stays close to ln V (the logits stay small)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.normal_(module.bias, std=0.02)
    elif isinstance(module, nn.MultiheadAttention):
        nn.init.normal_(module.in_proj_weight, std=0.02)
        nn.init.normal_(module.in_proj_bias, std=0.02)
    elif isinstance(module, nn.LayerNorm):
        nn.init.normal_(module.weight, mean=1.0, std=0.1)
        nn.init.normal_(module.bias, std=0.02)
