"""Sizes of the reference transformer, in one small config with presets.

``tiny`` runs in CI in a second, ``small`` on a laptop, ``large`` on a GPU. The vocabulary stays at
32 in every preset because cross-entropy's closed form is written out over the whole vocabulary. Shapes used throughout
the numeric engine: B batch, T tokens, d = d_model, h heads, d_k = d / h, V vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from explainer.errors import UsageError

ATTENTION_KINDS = ("mha", "sdpa")


@dataclass(frozen=True, slots=True)
class Config:
    """One decoder-only transformer and its batch."""

    vocab: int = 32          # V: token ids 0..V-1, id 0 is padding (small: CE is written out over V)
    d_model: int = 32        # d: width of every residual-stream vector
    n_heads: int = 4         # h: attention heads, d_k = d / h
    n_layers: int = 2        # number of pre-LN blocks
    d_ff: int = 128          # hidden width of the MLP (4 d)
    n_ctx: int = 64          # rows of the positional-encoding buffer
    batch: int = 3           # B
    seq_len: int = 16        # T (item 0 full length, the others right-padded)
    attention: str = "mha"   # "mha": nn.MultiheadAttention; "sdpa": F.scaled_dot_product_attention
    eps: float = 1e-5        # LayerNorm epsilon

    def __post_init__(self) -> None:
        for name in ("vocab", "d_model", "n_heads", "n_layers", "d_ff", "n_ctx", "batch", "seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_heads:
            raise UsageError(f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})")
        if self.d_model % 2:
            raise UsageError(f"d_model must be even for sinusoidal positions, got {self.d_model}")
        if self.seq_len > self.n_ctx:
            raise UsageError(f"seq_len ({self.seq_len}) exceeds n_ctx ({self.n_ctx})")
        if self.attention not in ATTENTION_KINDS:
            raise UsageError(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")

    @property
    def d_k(self) -> int:
        return self.d_model // self.n_heads

    def with_attention(self, kind: str) -> Config:
        return replace(self, attention=kind)


PRESETS = {
    "tiny": Config(),
    "small": Config(vocab=32, d_model=64, n_heads=4, n_layers=2, d_ff=256, n_ctx=256, batch=4, seq_len=64),
    "large": Config(vocab=32, d_model=256, n_heads=4, n_layers=4, d_ff=1024, n_ctx=1024, batch=8, seq_len=512),
}


def preset(name: str) -> Config:
    """The preset called ``name`` (``tiny``, ``small`` or ``large``)."""
    if name not in PRESETS:
        raise UsageError(f"unknown size {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
