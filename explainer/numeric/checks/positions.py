"""Positional encodings: the derivation's closed form against the model's float64 buffer.

The buffer is ``SinusoidalPositions(2048, 512).table`` — the exp–log form the model adds to its
embeddings. Every entry is compared with the closed form evaluated by NumPy in float64, a random
sample of entries with mpmath at 30 digits, and the rotation identity PE(pos + k) = R(k)·PE(pos)
is checked on the buffer itself for every pos, with R(k) built from the buffer's row k.
"""
from __future__ import annotations

import numpy as np


from explainer.numeric import compare
from explainer.numeric.checks.base import Context, check
from explainer.numeric.compare import Result, closed_form, to_numpy
from explainer.numeric.model import SinusoidalPositions

PE = "positional-encoding"
N_POS, D_MODEL, SAMPLE = 2048, 512, 400
BUFFER = ("cpu", "float64")  # the buffer is always built in float64 on the CPU, then moved


@check(PE)
def check_positional_encoding(ctx: Context) -> list[Result]:
    table = to_numpy(SinusoidalPositions(N_POS, D_MODEL).table)                         # (2048, 512)
    pos, j = np.meshgrid(np.arange(N_POS), np.arange(D_MODEL), indexing="ij")
    rows = [compare.direct(PE, f"closed form ({label}, NumPy float64) vs the model's buffer, all "
                           f"{N_POS}×{D_MODEL} entries", BUFFER, closed_form(PE, label, d_model=D_MODEL)(pos, j),
                           table) for label in ("pe", "pe_explog")]
    rows.append(_mpmath_sample(ctx, table))
    rows += _rotation(table)
    return rows


def _mpmath_sample(ctx: Context, table: np.ndarray) -> Result:
    """The power form at 30 significant digits (mpmath) on a seeded random sample of entries."""
    import mpmath
    import sympy as sp

    args, expr = _forms()["pe"]
    fn = sp.lambdify(args, expr, "mpmath")
    rng = np.random.default_rng(ctx.seed + 5)
    picks = rng.integers(0, [N_POS, D_MODEL], size=(SAMPLE, 2))
    with mpmath.workdps(30):
        expected = np.array([float(fn(mpmath.mpf(int(p)), int(q))) for p, q in picks])
    actual = table[picks[:, 0], picks[:, 1]]
    return compare.direct(PE, f"closed form (mpmath, 30 digits) vs the buffer, {SAMPLE} random entries",
                          BUFFER, expected, actual)


def _forms():
    from explainer import registry

    forms = registry.build(PE).closed_forms
    if forms is None:
        raise compare.NoClosedForm(f"{PE} has no closed form yet")
    return forms(d_model=D_MODEL)


def _rotation(table: np.ndarray) -> list[Result]:
    """PE(pos + k) = R(k) PE(pos): on each (sin, cos) pair R(k) is the rotation by the angle ω_i k, whose
    sine and cosine are the buffer's own row k (so R(k) does not depend on pos)."""
    rows = []
    s, c = table[:, 0::2], table[:, 1::2]                                             # (n, d/2) each
    for k in (1, 10, 100, 1000):
        sk, ck = s[k], c[k]                                                           # (d/2,)
        predicted = np.empty_like(table[: N_POS - k])
        predicted[:, 0::2] = s[: N_POS - k] * ck + c[: N_POS - k] * sk                # sin(a + b)
        predicted[:, 1::2] = c[: N_POS - k] * ck - s[: N_POS - k] * sk                # cos(a + b)
        rows.append(compare.direct(PE, f"rotation PE(pos + {k}) = R({k})·PE(pos) on the buffer, all pos",
                                   BUFFER, predicted, table[k:]))
    return rows


