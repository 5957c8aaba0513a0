"""`attention-masks`: every step proved; the closed form against a numpy masked softmax; a finite mask or a
mask added after softmax fails."""
from __future__ import annotations

import numpy as np
import sympy as sp

from explainer.derivations.masks import masked_row
from explainer import registry
from explainer.check import ASSUMED, FAILED, PROVED, check, check_step
from explainer.model import Step, prove


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
    finite = masked_row((s1, s2, s3), (0, 0, -30))[2]
    assert check_step(finite, Step(rhs=0, why="only tiny"), seed="m")[0] == FAILED
    after = sp.exp(s1) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3)) + sp.exp(s2) / (sp.exp(s1) + sp.exp(s2) + sp.exp(s3))
    assert check_step(after, Step(rhs=1, why="zeroing after softmax", check=prove("cancel")), seed="a")[0] == FAILED
