"""``positional-encoding``: ``fn(n_positions, d_model)`` against the sinusoidal table

    PE(pos, 2i) = sin(pos / 10000^(2i/d)),   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))

(interleaved sin/cos, as in the paper), a tensor (n_positions, d_model) in any float dtype. The inputs
are sizes, so seeds and dtypes do not apply: the cases run once and the tolerance follows the dtype
``fn`` returns, widened by 2·eps·(n_positions − 1) because an angle pos·ω carries a rounding error of
about pos·eps.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing.core import Case, Options, Spec, close, closed_form, probe_tolerance, to_numpy

SIZES = ((1, 2), (7, 4), (16, 6), (50, 16), (128, 64))


def pe_reference(n_positions: int, d_model: int) -> np.ndarray:
    """The derivation's closed form on the grid of positions × dimensions, (n_positions, d_model)."""
    f = closed_form("positional-encoding", "pe", d_model=d_model)
    pos, j = np.meshgrid(np.arange(n_positions, dtype=float), np.arange(d_model, dtype=float), indexing="ij")
    return np.broadcast_to(f(pos, j), (n_positions, d_model))


class PositionalSpec(Spec):
    name = "positional-encoding"
    signature = "fn(n_positions, d_model) -> (n_positions, d_model) tensor"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        if (seed, dtype) != (options.seeds[0], options.dtypes[0]):
            return  # sizes only: one pass covers it
        for n, d in SIZES:
            yield Case(seed, dtype, f"n_positions={n}, d_model={d}", {"n_positions": n, "d_model": d})

    def call(self, fn: Callable, case: Case) -> np.ndarray:
        out = fn(case.inputs["n_positions"], case.inputs["d_model"])
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            case.dtype = out.dtype
        return to_numpy(out)

    def tolerance(self, case: Case, rtol: float, atol: float) -> tuple[float, float]:
        eps = torch.finfo(case.dtype).eps if case.dtype.is_floating_point else 0.0
        return rtol, atol + 2 * eps * (case.inputs["n_positions"] - 1)

    def expected(self, case: Case):
        return pe_reference(case.inputs["n_positions"], case.inputs["d_model"]), None, ""

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        n, d = case.inputs["n_positions"], case.inputs["d_model"]
        out, ref, tol = self.call(fn, case), pe_reference(n, d), 10 * probe_tolerance(case.dtype)
        if np.nanmax(np.abs(out)) > 1 + tol:
            return f"values outside [−1, 1] (largest {np.nanmax(np.abs(out)):.4g}): every entry is a sine or cosine"
        if close(out, np.concatenate([ref[:, 0::2], ref[:, 1::2]], axis=1), tol):
            return ("sin and cos in two halves instead of interleaved: the derivation puts sin at even indices "
                    "2i and cos at odd indices 2i+1")
        swapped = np.empty_like(ref)
        swapped[:, 0::2], swapped[:, 1::2] = ref[:, 1::2], ref[:, 0::2]
        if close(out, swapped, tol):
            return "sin and cos swapped: even indices 2i must hold sin, odd indices 2i+1 cos"
        if n > 1 and d > 2:  # pair i turns by ω_i = 10000^(−2i/d) from position 0 to 1
            got, want = np.arctan2(out[1, 2], out[1, 3]), np.arctan2(ref[1, 2], ref[1, 3])
            if abs(got - want) > tol:
                return (f"wrong frequencies (scale): dimensions 2, 3 turn by {got:.4g} rad per position, the "
                        f"derivation says 10000^(−2/d) = {want:.4g}")
        return None
