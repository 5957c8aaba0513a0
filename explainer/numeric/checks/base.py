"""What every check gets: the context (runs, device, dtype) and a few helpers for slices and masks."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

import numpy as np
import torch

from explainer.numeric import compare
from explainer.numeric.compare import NoClosedForm, Result
from explainer.numeric.config import Config
from explainer.numeric.run import Run, device_name, reference_run

SLICE = 3     # closed forms are written out entry by entry: matrices are evaluated on the first 3 rows
WIDTH_CAP = 32  # beyond this width a row-wise closed form is checked on a seeded standalone module


@dataclass
class Context:
    """The settings of one ``verify`` call; the reference runs are made once, when a check first asks."""

    cfg: Config
    device: torch.device
    dtype: torch.dtype
    seed: int = 0
    _runs: dict[str, Run] = field(default_factory=dict)

    def run(self, attention: str = "mha") -> Run:
        """The reference run with ``nn.MultiheadAttention`` (``mha``) or ``F.scaled_dot_product_attention``."""
        if attention not in self._runs:
            self._runs[attention] = reference_run(self.cfg.with_attention(attention), device=self.device,
                                                  dtype=self.dtype, seed=self.seed)
        return self._runs[attention]

    @property
    def info(self) -> tuple[str, str]:
        return device_name(self.device), self.dtype_name

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    @property
    def rows(self) -> int:
        return min(SLICE, self.cfg.seq_len)

    @property
    def head_rows(self) -> int:
        """Queries (and keys) of the written-out attention slice: 3, or 2 for heads wider than 16."""
        return min(SLICE if self.cfg.d_k <= 16 else 2, self.cfg.seq_len)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A seeded generator on the run's device (independent streams by ``offset``)."""
        return torch.Generator(device=self.device).manual_seed(self.seed * 1000 + offset)

    def randn(self, *shape: int, offset: int = 0, dtype: torch.dtype | None = None) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator(offset), device=self.device,
                           dtype=dtype or self.dtype)


#: derivation name -> its check functions, in the order they were defined (built-in and users' own)
CHECKS: dict[str, list] = {}


def check(derivation: str):
    """Decorator: register ``fn(ctx) -> list[Result]`` as a numeric check of ``derivation`` (built-in
    or your own); a missing closed form becomes an honest "skipped: no closed form yet" row."""

    def decorate(fn):
        @wraps(fn)
        def wrapper(ctx: Context) -> list[Result]:
            try:
                return fn(ctx)
            except NoClosedForm as exc:
                return [compare.skipped(derivation, fn.__name__.removeprefix("check_").replace("_", " "),
                                        ctx.info, f"no closed form yet ({exc})")]
        wrapper.derivation = derivation
        CHECKS.setdefault(derivation, []).append(wrapper)
        return wrapper
    return decorate


def causal_additive(n: int, m: int | None = None) -> torch.Tensor:
    """M (n, m) float64: 0 where key j ≤ query i, −∞ above the diagonal (the derivation's additive mask)."""
    m = n if m is None else m
    blocked = torch.ones(n, m, dtype=torch.bool).triu(1)
    return torch.zeros(n, m, dtype=torch.float64).masked_fill(blocked, float("-inf"))


def additive(blocked: torch.Tensor) -> torch.Tensor:
    """An additive float64 mask (0 / −∞) from a boolean one (True = blocked)."""
    return torch.zeros(blocked.shape, dtype=torch.float64).masked_fill(blocked.cpu(), float("-inf"))


def rows_last(x: torch.Tensor) -> torch.Tensor:
    """(N, a, b) → (a, b, N) so a lambdified entry-by-entry closed form evaluates all N at once."""
    return x.permute(*range(1, x.dim()), 0)


def batched(form, *args: torch.Tensor) -> np.ndarray:
    """Evaluate an entry-by-entry closed form on N inputs at once: each arg (N, a, b) is moved to
    (a, b, N), so every entry of the expression becomes a length-N vector; the result is (N, …)."""
    out = form(*(rows_last(a) for a in args))
    return np.moveaxis(out, -1, 0)
