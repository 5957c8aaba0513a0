"""A user's own derivation with its own numeric check, as a project extending the library writes it.

Registers ``user-rms`` — the root mean square √(Σ xᵢ²/n), whose closed form is verified against
``torch.linalg.vector_norm(x)/√n`` — and ``user-rms-wrong``, whose closed form forgets the 1/n: its
steps still prove, but the verification against torch fails.
"""
from __future__ import annotations

import sympy as sp
import torch

from explainer.model import Derivation, Step, define, prove
from explainer.numeric import compare
from explainer.numeric.checks import check
from explainer.registry import derivation

x = sp.IndexedBase("x", real=True)
i = sp.Symbol("i", integer=True, positive=True)
n = sp.Symbol("n", integer=True, positive=True)
r = sp.Symbol("r", nonnegative=True)


def _forms(wrong: bool):
    def closed_forms(n: int) -> dict[str, tuple]:
        v = sp.MatrixSymbol("x", 1, n)
        total = sum(v[0, j] ** 2 for j in range(n))
        return {"rms": ((v,), sp.sqrt(total if wrong else total / n))}
    return closed_forms


def _rms(wrong: bool) -> Derivation:
    mean_square = sp.Sum(x[i] ** 2, (i, 1, n)) / n
    return Derivation(
        summary="The root mean square of a vector: the scale RMSNorm divides by.",
        steps=(define(r, sp.sqrt(mean_square), "definition: the root of the mean of the squares"),
               Step(lhs=r ** 2, rhs=mean_square, why="square both sides", check=prove("expand"))),
        result=Step(lhs=r, rhs=sp.sqrt(mean_square), why="the root mean square"),
        closed_forms=_forms(wrong))


derivation("user-rms", "Root mean square", "tests")(lambda: _rms(False))
derivation("user-rms-wrong", "Root mean square (closed form without 1/n)", "tests")(lambda: _rms(True))


def _check(name: str):
    def check_rms(ctx) -> list[compare.Result]:
        """The closed form at n = 8 against torch.linalg.vector_norm(x)/√n on seeded inputs."""
        values = ctx.randn(5, 8)                                                         # (5, n)
        form = compare.closed_form(name, "rms", n=8)
        expected = [form(row[None, :]) for row in values]
        actual = torch.linalg.vector_norm(values, dim=-1) / 8 ** 0.5
        return [compare.direct(name, "rms vs torch.linalg.vector_norm / √n (5 seeded rows)", ctx.info,
                               expected, actual)]
    return check(name)(check_rms)


_check("user-rms")
_check("user-rms-wrong")
