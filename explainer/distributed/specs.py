"""For each distributed derivation: the seeded reference problem, how it is cut into shards, the
single-process oracle (PyTorch's own modules) and the communication formula.

Every rank builds the same problem from the seed and keeps only its shard; rank 0 also runs the oracle.
Parameters are random and non-zero (biases included), so a missing or doubled term shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explainer.errors import UsageError


@dataclass(frozen=True)
class Sizes:
    """The reference problem: batch, sequence length, width, heads and MLP width."""

    batch: int = 2
    seq: int = 16
    d_model: int = 64
    heads: int = 8
    d_ff: int = 256


class Shard:
    """One rank's tensors (attributes) plus ``rank``, ``world_size`` and the non-tensor settings."""

    def __init__(self, rank: int, world_size: int, tensors: dict[str, torch.Tensor], **settings):
        self.rank, self.world_size, self.tensors = rank, world_size, tensors
        for key, value in {**tensors, **settings}.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in self.tensors.items())
        return f"Shard(rank {self.rank} of {self.world_size}: {shapes})"


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _normal(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


def _rows(r: int, p: int, width: int) -> slice:
    """Rank r's contiguous block of ``width`` split p ways."""
    size = width // p
    return slice(r * size, (r + 1) * size)


def _ring_all_reduce(p: int, values: int, itemsize: int) -> int:
    """Bytes each rank sends in a ring all-reduce of ``values`` items: 2(p − 1)/p · values · itemsize."""
    return 2 * (p - 1) * values * itemsize // p


class _Spec:
    name = ""
    #: the variants run in the same workers ("" = plain; ring attention adds "causal")
    cases: tuple[str, ...] = ("",)

    def __init__(self, sizes: Sizes = Sizes()):
        self.sizes = sizes

    def to(self, tensors: dict, dtype, device) -> dict:
        return {k: v.to(dtype=dtype, device=device) for k, v in tensors.items()}


class _AttentionProblem(_Spec):
    """x (B, T, d), an upstream gradient G (B, T, d) and nn.MultiheadAttention's parameters."""

    def problem(self, seed: int) -> dict:
        s, g = self.sizes, _generator(seed)
        d = s.d_model
        return {"x": _normal(g, s.batch, s.seq, d), "grad_out": _normal(g, s.batch, s.seq, d),
                "in_proj_weight": _normal(g, 3 * d, d, scale=d ** -0.5), "in_proj_bias": _normal(g, 3 * d),
                "out_proj.weight": _normal(g, d, d, scale=d ** -0.5), "out_proj.bias": _normal(g, d)}

    def oracle(self, full: dict, case: str) -> tuple[torch.Tensor, dict]:
        """nn.MultiheadAttention (train mode, no dropout: the plain path) forward and backward of Σ out ∘ G."""
        s = self.sizes
        x = full["x"]
        mha = nn.MultiheadAttention(s.d_model, s.heads, batch_first=True, dtype=x.dtype, device=x.device)
        with torch.no_grad():
            for name, param in mha.named_parameters():
                param.copy_(full[name])
        x = x.clone().requires_grad_(True)
        mask = None
        if case == "causal":
            mask = torch.ones(s.seq, s.seq, dtype=torch.bool, device=x.device).triu(1)   # True = may not attend
        out, _ = mha(x, x, x, need_weights=False, attn_mask=mask)
        (out * full["grad_out"]).sum().backward()
        grads = {name: param.grad for name, param in mha.named_parameters()}
        return out.detach(), {"x": x.grad, **grads}


class TensorParallelAttentionSpec(_AttentionProblem):
    """Heads split across ranks: rank r holds heads r·h/p … (r+1)·h/p − 1."""

    name = "tensor-parallel-attention"

    def validate(self, p: int) -> None:
        h = self.sizes.heads
        if h % p:
            raise UsageError(f"--world-size {p} does not divide the {h} heads of the reference problem "
                             f"(each rank takes h/p whole heads); use one of {_divisors(h)}")

    def shard(self, full: dict, r: int, p: int, case: str):
        d = self.sizes.d_model
        rows = _rows(r, p, d)
        w, b = full["in_proj_weight"], full["in_proj_bias"]
        tensors = {"w_q": w[:d][rows], "w_k": w[d:2 * d][rows], "w_v": w[2 * d:][rows],
                   "b_q": b[:d][rows], "b_k": b[d:2 * d][rows], "b_v": b[2 * d:][rows],
                   "w_o": full["out_proj.weight"][:, rows], "b_o": full["out_proj.bias"]}
        return full["x"], full["grad_out"], tensors, {"heads": self.sizes.heads // p}

    def assemble(self, out: list, x_grad: list, grads: list[dict]) -> list[tuple[str, str, object]]:
        """(check, oracle key, actual) — per-rank lists stacked, column and row shards put back together."""
        cat = torch.cat
        w_in = cat([cat([g[k] for g in grads]) for k in ("w_q", "w_k", "w_v")])
        b_in = cat([cat([g[k] for g in grads]) for k in ("b_q", "b_k", "b_v")])
        return [("forward: output on every rank", "out", torch.stack(out)),
                ("backward: ∂L/∂X on every rank", "x", torch.stack(x_grad)),
                ("backward: ∂L/∂W_Q, W_K, W_V from the head shards", "in_proj_weight", w_in),
                ("backward: ∂L/∂b_Q, b_K, b_V from the head shards", "in_proj_bias", b_in),
                ("backward: ∂L/∂W_O from the row shards", "out_proj.weight", cat([g["w_o"] for g in grads], 1)),
                ("backward: ∂L/∂b_O on every rank", "out_proj.bias", torch.stack([g["b_o"] for g in grads]))]

    def formula(self, p: int, itemsize: int) -> dict[str, tuple[int, str]]:
        s = self.sizes
        values = s.batch * s.seq * s.d_model
        text = f"2({p}−1)/{p}·B·T·d·{itemsize} B, B·T·d = {values}"
        return {"forward": (_ring_all_reduce(p, values, itemsize), "one all-reduce: " + text),
                "backward": (_ring_all_reduce(p, values, itemsize), "one all-reduce: " + text)}


class TensorParallelMLPSpec(_Spec):
    """W₁ split by columns (fc.weight by rows), W₂ by rows (proj.weight by columns)."""

    name = "tensor-parallel-mlp"

    def validate(self, p: int) -> None:
        f = self.sizes.d_ff
        if f % p:
            raise UsageError(f"--world-size {p} does not divide the MLP width d_ff = {f} of the reference "
                             f"problem; use one of {_divisors(f)}")

    def problem(self, seed: int) -> dict:
        s, g = self.sizes, _generator(seed)
        d, f = s.d_model, s.d_ff
        return {"x": _normal(g, s.batch, s.seq, d), "grad_out": _normal(g, s.batch, s.seq, d),
                "0.weight": _normal(g, f, d, scale=d ** -0.5), "0.bias": _normal(g, f),
                "2.weight": _normal(g, d, f, scale=f ** -0.5), "2.bias": _normal(g, d)}

    def oracle(self, full: dict, case: str) -> tuple[torch.Tensor, dict]:
        """nn.Sequential(Linear(d, d_ff), GELU(), Linear(d_ff, d)) forward and backward of Σ out ∘ G."""
        s, x = self.sizes, full["x"]
        mlp = nn.Sequential(nn.Linear(s.d_model, s.d_ff), nn.GELU(), nn.Linear(s.d_ff, s.d_model))
        mlp = mlp.to(dtype=x.dtype, device=x.device)
        with torch.no_grad():
            for name, param in mlp.named_parameters():
                param.copy_(full[name])
        x = x.clone().requires_grad_(True)
        out = mlp(x)
        (out * full["grad_out"]).sum().backward()
        return out.detach(), {"x": x.grad, **{name: param.grad for name, param in mlp.named_parameters()}}

    def shard(self, full: dict, r: int, p: int, case: str):
        cols = _rows(r, p, self.sizes.d_ff)
        tensors = {"w_1": full["0.weight"][cols], "b_1": full["0.bias"][cols],
                   "w_2": full["2.weight"][:, cols], "b_2": full["2.bias"]}
        return full["x"], full["grad_out"], tensors, {}

    def assemble(self, out: list, x_grad: list, grads: list[dict]) -> list[tuple[str, str, object]]:
        cat = torch.cat
        return [("forward: output on every rank", "out", torch.stack(out)),
                ("backward: ∂L/∂X on every rank", "x", torch.stack(x_grad)),
                ("backward: ∂L/∂W₁ from the column shards", "0.weight", cat([g["w_1"] for g in grads])),
                ("backward: ∂L/∂b₁ from the column shards", "0.bias", cat([g["b_1"] for g in grads])),
                ("backward: ∂L/∂W₂ from the row shards", "2.weight", cat([g["w_2"] for g in grads], 1)),
                ("backward: ∂L/∂b₂ on every rank", "2.bias", torch.stack([g["b_2"] for g in grads]))]

    formula = TensorParallelAttentionSpec.formula


class RingAttentionSpec(_AttentionProblem):
    """The sequence split across ranks: rank r holds tokens r·T/p … (r+1)·T/p − 1; weights replicated."""

    name = "ring-attention"
    cases = ("", "causal")

    def validate(self, p: int) -> None:
        t = self.sizes.seq
        if t % p:
            raise UsageError(f"--world-size {p} does not divide the sequence length T = {t} of the reference "
                             f"problem (each rank takes T/p tokens); use one of {_divisors(t)}")

    def shard(self, full: dict, r: int, p: int, case: str):
        block = _rows(r, p, self.sizes.seq)
        names = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")
        tensors = dict(zip(("w_in", "b_in", "w_o", "b_o"), (full[n] for n in names)))
        return (full["x"][:, block], full["grad_out"][:, block], tensors,
                {"heads": self.sizes.heads, "causal": case == "causal"})

    def assemble(self, out: list, x_grad: list, grads: list[dict]) -> list[tuple[str, str, object]]:
        stack = torch.stack
        return [("forward: output, the blocks in rank order", "out", torch.cat(out, 1)),
                ("backward: ∂L/∂X, the blocks in rank order", "x", torch.cat(x_grad, 1)),
                ("backward: ∂L/∂W_in summed over ranks", "in_proj_weight", stack([g["w_in"] for g in grads])),
                ("backward: ∂L/∂b_in summed over ranks", "in_proj_bias", stack([g["b_in"] for g in grads])),
                ("backward: ∂L/∂W_O summed over ranks", "out_proj.weight", stack([g["w_o"] for g in grads])),
                ("backward: ∂L/∂b_O summed over ranks", "out_proj.bias", stack([g["b_o"] for g in grads]))]

    def formula(self, p: int, itemsize: int) -> dict[str, tuple[int, str]]:
        s = self.sizes
        block = s.batch * (s.seq // p) * s.d_model                     # values in one K (or V) block
        params = 4 * s.d_model ** 2 + 4 * s.d_model
        hops_back = 2 * (p - 1) + 2 * p if p > 1 else 0
        return {"forward": (2 * (p - 1) * block * itemsize,
                            f"(p−1) hops of K and V: 2·{p - 1}·B·(T/p)·d·{itemsize} B"),
                "backward": (hops_back * block * itemsize,
                             f"K, V: {p - 1} hops, dK, dV: {p if p > 1 else 0} hops of B·(T/p)·d·{itemsize} B"),
                "gradient sync": (_ring_all_reduce(p, params, itemsize),
                                  f"all-reduce of 4d² + 4d = {params} weight gradients")}


def _divisors(n: int, limit: int = 16) -> str:
    """The world sizes that divide ``n``, up to ``limit`` (more ranks than cores is slow anyway)."""
    return ", ".join(str(k) for k in range(1, min(n, limit) + 1) if n % k == 0)


SPECS = {spec.name: spec for spec in (TensorParallelAttentionSpec, TensorParallelMLPSpec, RingAttentionSpec)}


def spec(name: str, sizes: Sizes = Sizes()) -> _Spec:
    return SPECS[name](sizes)
