"""`attention-scores`, `scaled-dot-product-attention`, `permutation-equivariance`: every step proved, the
closed forms against plain numpy, and broken variants (a dropped 1/√d_k, a positional term) fail."""
from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import sympy as sp

from explainer.derivations.attention import REVERSE, WK_EXAMPLE, WQ_EXAMPLE, WV_EXAMPLE, X_EXAMPLE, self_attention
from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check, check_step
from explainer.model import Step, prove
from explainer.operators import Attn, Softmax


@functools.cache
def built(name: str):
    """Build and check each derivation once for this module: ``(derivation, report)``."""
    d = registry.build(name)
    return d, check(d)


def with_result(d, rhs):
    """``d`` reduced to its definitions and a result with the given right-hand side."""
    definitions = tuple(s for s in d.steps if s.check.kind == "assume")
    return replace(d, steps=definitions, example=(), result=replace(d.result, rhs=rhs))


def softmax_rows(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_scores_every_step_proved_and_closed_form_is_q_k_transpose():
    d, report = built("attention-scores")
    assert report.ok and all(r.status in (PROVED, ASSUMED) for r in report.results)
    rng = np.random.default_rng(0)
    args, expr = d.closed_forms(n=2, m=3, d_k=4)["scores"]
    Q, K = rng.normal(size=(2, 4)), rng.normal(size=(3, 4))
    expected = [[sum(Q[a, c] * K[b, c] for c in range(4)) for b in range(3)] for a in range(2)]
    assert np.allclose(sp.lambdify(args, expr, "numpy")(Q, K), expected, rtol=1e-13)


def test_scores_with_a_swapped_index_fail():
    d, _ = built("attention-scores")
    i, j = sp.symbols("i j", integer=True, nonnegative=True)
    broken = d.result.rhs.xreplace({j: i})  # q_i·k_i instead of q_i·k_j
    assert broken != d.result.rhs
    assert check(with_result(d, d.result.rhs)).result_for("result", 1).status == PROVED
    assert check(with_result(d, broken)).result_for("result", 1).status == FAILED


def test_sdpa_weights_and_convexity_are_proved():
    _, report = built("scaled-dot-product-attention")
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)
    # positive weights, rows sum to 1, output = Σ a_ij v_j, values stay in range, the stable form
    for number in (3, 4, 5, 7, 8, 10, 11):
        assert report.result_for("step", number).status == PROVED


def test_sdpa_closed_form_matches_numpy_even_for_large_scores():
    d, _ = built("scaled-dot-product-attention")
    forms = d.closed_forms(n=3, m=4, d_k=2, d_v=3)
    weights, output = (sp.lambdify(*forms[k], "numpy") for k in ("weights", "output"))
    rng = np.random.default_rng(1)
    for scale in (1.0, 40.0):  # 40² / √2 overflows exp in float64 without the shift
        Q, K, V = rng.normal(size=(3, 2)) * scale, rng.normal(size=(4, 2)) * scale, rng.normal(size=(4, 3))
        A = softmax_rows(Q @ K.T / np.sqrt(2))
        assert np.allclose(weights(Q, K), A, rtol=1e-12, atol=1e-300)
        assert np.allclose(output(Q, K, V), A @ V, rtol=1e-12, atol=1e-12)
        if scale == 1.0:  # the 1/√d_k is really there (at scale 40 both forms saturate to one-hot rows)
            assert not np.allclose(weights(Q, K), softmax_rows(Q @ K.T))


def test_sdpa_without_the_square_root_fails():
    """The matrix step ``Attn(Q, K, V) = A·V where A = softmax(QKᵀ/√d_k)`` fails when A forgets √d_k."""
    d, _ = built("scaled-dot-product-attention")
    number, step = next((k, s) for k, s in enumerate(d.steps) if s.where and isinstance(s.lhs, Attn))
    (A, weights), = step.where
    unscaled = Softmax(weights.args[0] * sp.sqrt(2))  # QKᵀ instead of QKᵀ/√2
    broken = replace(d, steps=d.steps[:number] + (replace(step, where=((A, unscaled),)),) + d.steps[number + 1:])
    assert check(d).result_for("step", number + 1).status == PROVED
    assert check(broken).result_for("step", number + 1).status == FAILED


def test_permutation_equivariance_proved_and_holds_numerically():
    _, report = built("permutation-equivariance")
    assert report.ok and all(r.status == PROVED for r in report.results)
    rng = np.random.default_rng(2)
    X, WQ, WK, WV = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 2))

    def attn(Z):
        return softmax_rows((Z @ WQ) @ (Z @ WK).T / 2.0) @ (Z @ WV)

    P = np.eye(5)[rng.permutation(5)]
    assert np.allclose(attn(P @ X), P @ attn(X), rtol=1e-12)


def test_positions_break_the_symmetry():
    pos = sp.ImmutableMatrix([[0, 1], [1, 0], [1, 1]]) / 2
    lhs = self_attention(REVERSE * X_EXAMPLE + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    rhs = REVERSE * self_attention(X_EXAMPLE + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    step = Step(rhs=rhs, why="not equivariant any more", check=prove("expand"))
    assert check_step(lhs, step, seed="pos")[0] == FAILED
