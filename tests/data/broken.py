"""Derivations with one deliberate mistake each, next to their correct twins.

Importing this module registers ``ok-<kind>`` and ``broken-<kind>`` for three kinds of error a
reader makes: a sign error, a dropped 1/√d_k and a wrong exponent. Each broken twin differs from its
correct twin in exactly one step, whose number is in :data:`FAILING_STEP`.
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, define
from explainer.registry import derivation

q, k = sp.IndexedBase("q", real=True), sp.IndexedBase("k", real=True)
i = sp.Symbol("i", integer=True, positive=True)
d = sp.Symbol("d_k", integer=True, positive=True)
x = sp.Symbol("x", real=True)
s = sp.Symbol("s", real=True)

FAILING_STEP = {"sign": 2, "scale": 3, "exponent": 2}


def sign(broken: bool) -> Derivation:
    """d/dx of −log σ(x) is σ(x) − 1 (the broken twin says 1 − σ(x))."""
    sigma = 1 / (1 + sp.exp(-x))
    return Derivation(
        summary="The gradient of the logistic loss.",
        steps=(define(s, sigma, "the logistic sigmoid σ(x)"),
               Step(lhs=sp.Derivative(-sp.log(s), x), rhs=(1 - s) if broken else (s - 1),
                    why="differentiate −log σ(x)")),
        result=Step(lhs=s, rhs=sigma, why="σ(x)"))


def scale(broken: bool) -> Derivation:
    """Σ qᵢkᵢ/√d_k = (q·k)/√d_k (the broken twin drops the 1/√d_k)."""
    dot = sp.Sum(q[i] * k[i], (i, 1, d))
    return Derivation(
        summary="The scaled score.",
        steps=(define(s, dot / sp.sqrt(d), "the scaled score q·k/√d_k"),
               Step(lhs=s * sp.sqrt(d), rhs=dot, why="multiply by √d_k"),
               Step(lhs=sp.Sum(q[i] * k[i] / sp.sqrt(d), (i, 1, d)), rhs=dot if broken else s,
                    why="1/√d_k comes out of the sum")),
        result=Step(lhs=s, rhs=dot / sp.sqrt(d), why="the scaled score"))


def exponent(broken: bool) -> Derivation:
    """exp(−2i·ln(10000)/d) = 10000^(−2i/d) (the broken twin says 10000^(−i/d))."""
    j = sp.Symbol("j", integer=True, nonnegative=True)
    dm = sp.Symbol("d", integer=True, positive=True)
    return Derivation(
        summary="The frequency of a sinusoidal positional encoding.",
        steps=(define(s, sp.exp(-2 * j * sp.log(10000) / dm), "the exp–log form used in code"),
               Step(lhs=s, rhs=10000 ** (-(j if broken else 2 * j) / dm), why="exp(a·ln b) = b^a")),
        result=Step(lhs=s, rhs=10000 ** (-2 * j / dm), why="the frequency"))


for _kind, _build in (("sign", sign), ("scale", scale), ("exponent", exponent)):
    derivation(f"ok-{_kind}", f"Correct twin ({_kind})", "tests")(lambda b=_build: b(False))
    derivation(f"broken-{_kind}", f"Broken twin ({_kind})", "tests")(lambda b=_build: b(True))
