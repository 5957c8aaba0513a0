"""`attention-masks`: every step proved; the closed form against a numpy masked softmax; a finite mask, a
mask added after softmax, or a causal mask that hides the diagonal (j < i instead of j ≤ i) fails."""
from __future__ import annotations

import numpy as np
import sympy as sp

from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check, check_step
from explainer.derivations.masks import attention_masks, causal_definition, causal_mask
from explainer.model import Step, prove
from explainer.operators import Softmax


def masked_softmax(s: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Softmax over the allowed keys of each row, written with a boolean mask (no −∞ involved)."""
    out = np.zeros_like(s)
    for r in range(s.shape[0]):
        keep = allowed[r]
        e = np.exp(s[r, keep] - s[r, keep].max())
        out[r, keep] = e / e.sum()
    return out


def test_every_step_is_proved_or_assumed():
    report = check(registry.build("attention-masks"))
    assert report.ok
    assert all(r.status in (PROVED, ASSUMED) for r in report.results)


def test_closed_form_matches_a_boolean_masked_softmax():
    forms = registry.build("attention-masks").closed_forms(n=3, m=4, d_k=2, d_v=2)
    weights, output = (sp.lambdify(*forms[k], "numpy") for k in ("weights", "output"))
    rng = np.random.default_rng(5)
    Q, K, V = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    causal = np.tril(np.ones((3, 4), dtype=bool))
    padding = np.array([[True, True, False, True]] * 3)
    for allowed in (causal, padding, causal & padding):
        M = np.where(allowed, 0.0, -np.inf)
        A = masked_softmax(Q @ K.T / np.sqrt(2), allowed)
        got = np.asarray(weights(Q, K, M), dtype=float)
        assert np.allclose(got, A, rtol=1e-12) and np.all(got[~allowed] == 0.0)
        assert np.allclose(got.sum(axis=1), 1.0, rtol=1e-12)
        assert np.allclose(output(Q, K, V, M), A @ V, rtol=1e-12)


def test_a_fully_masked_row_is_undefined():
    forms = registry.build("attention-masks").closed_forms(n=2, m=2, d_k=1, d_v=1)
    weights = sp.lambdify(*forms["weights"], "numpy")
    M = np.array([[0.0, -np.inf], [-np.inf, -np.inf]])
    with np.errstate(invalid="ignore"):
        got = np.asarray(weights(np.ones((2, 1)), np.ones((2, 1)), M), dtype=float)
    assert np.array_equal(got[0], [1.0, 0.0]) and np.all(np.isnan(got[1]))


def test_a_finite_mask_is_not_exact_and_masking_after_softmax_breaks_the_sum():
    s1, s2, s3 = sp.symbols("s_1 s_2 s_3", real=True)
    finite = Softmax(sp.MatAdd(sp.ImmutableMatrix([[s1, s2, s3]]), sp.ImmutableMatrix([[0, 0, -30]]), evaluate=False))
    assert check_step(finite[0, 2], Step(rhs=0, why="only tiny"), seed="m")[0] == FAILED
    exact = Softmax(sp.MatAdd(sp.ImmutableMatrix([[s1, s2, s3]]), causal_mask(2, 3).row(1), evaluate=False))
    assert check_step(exact[0, 2], Step(rhs=0, why="exactly 0"), seed="m")[0] == PROVED
    after = sp.exp(s1) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3)) + sp.exp(s2) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3))
    assert check_step(after, Step(rhs=1, why="zeroing after softmax", check=prove("cancel")), seed="a")[0] == FAILED


def test_a_causal_mask_that_hides_the_diagonal_fails_check():
    """The planted bug of issue 11: M[i, j] = 0 for j < i (a token cannot see itself) must not pass."""
    wrong = attention_masks(mask=causal_definition(lambda row, col: col < row))
    failed = {r.label for r in check(wrong).failures}
    assert {"step 2", "step 15"} <= failed  # the 3 × 3 pattern exp(M) and query 1's row of weights
    assert check(attention_masks(mask=causal_definition())).ok


def test_a_mask_that_lets_a_query_see_the_future_fails_check():
    wrong = attention_masks(mask=causal_definition(lambda row, col: col <= row + 1))
    assert {"step 2", "step 15"} <= {r.label for r in check(wrong).failures}
