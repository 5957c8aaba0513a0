"""`lm-head`: logits h·W_Eᵀ and their softmax against numpy / a tied torch head."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from explainer import registry
from tests.derivations.steps import step_index as _index
from explainer.check import FAILED, PROVED, check

NAME = "lm-head"




def test_report_ok_and_key_steps_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    for text in ("logit v is h · (row v of W_E)", "sum to 1", "odds between two tokens", "tied weights"):
        assert report.result_for("step", _index(d, text) + 1).status == PROVED, text


def test_closed_forms_match_numpy():
    rng = np.random.default_rng(1)
    for d, V in ((2, 3), (4, 7)):
        forms = registry.build(NAME).closed_forms(d, V)
        h, W = rng.standard_normal((1, d)), rng.standard_normal((V, d)) * 30  # large logits: stability matters
        logits = sp.lambdify(*forms["logits"], "numpy")(h, W)
        np.testing.assert_allclose(np.asarray(logits, dtype=float), h @ W.T, rtol=1e-12)
        probs = np.asarray(sp.lambdify(*forms["probabilities"], "numpy")(h, W), dtype=float)
        z = (h @ W.T).ravel()
        want = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.testing.assert_allclose(probs.ravel(), want, rtol=1e-12, atol=1e-300)
        assert probs.sum() == pytest.approx(1)


def test_closed_forms_match_a_tied_torch_head():
    torch = pytest.importorskip("torch", reason="a tied nn.Embedding / nn.Linear pair is the oracle")
    torch.manual_seed(0)
    emb = torch.nn.Embedding(5, 3, dtype=torch.float64)
    head = torch.nn.Linear(3, 5, bias=False, dtype=torch.float64)
    head.weight = emb.weight  # weight tying, as GPT-2
    h = torch.randn(1, 3, dtype=torch.float64)
    forms = registry.build(NAME).closed_forms(3, 5)
    W = emb.weight.detach().numpy()
    got = np.asarray(sp.lambdify(*forms["probabilities"], "numpy")(h.numpy(), W), dtype=float)
    np.testing.assert_allclose(got, torch.softmax(head(h), dim=-1).detach().numpy(), rtol=1e-7, atol=1e-7)


def test_wrong_odds_fail():
    d = registry.build(NAME)
    n = _index(d, "odds between two tokens")
    z = sp.MatrixSymbol("z", 1, 3)
    broken = replace(d, steps=d.steps[:n] + (replace(d.steps[n], rhs=sp.exp(z[0, 0] + z[0, 1])),) + d.steps[n + 1:])
    assert check(broken).result_for("step", n + 1).status == FAILED


def test_the_example_softmax_is_of_the_example_logits():
    """Example 2 reads softmax(z) = …: its argument is example 1's logits, and a wrong value fails."""
    d = registry.build(NAME)
    logits, probs = d.example[0].rhs, d.example[1]
    assert probs.lhs.args[0] == logits
    z = np.array([float(v) for v in logits])
    want = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose([float(v) for v in probs.rhs], want, rtol=1e-12)
    swapped = replace(probs, rhs=sp.ImmutableMatrix([list(probs.rhs)[::-1]]))
    broken = replace(d, example=(d.example[0], swapped) + d.example[2:])
    assert check(broken).result_for("example", 2).status == FAILED
