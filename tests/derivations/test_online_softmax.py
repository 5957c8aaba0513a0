"""`online-softmax`: the merge of block states is softmax attention over the union — proved by the checker,
and against torch's full softmax / scaled_dot_product_attention with the reusable ``merge`` helper."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sympy as sp

from explainer import registry
from explainer.check import FAILED, PROVED, check
from explainer.derivations import online_softmax
from explainer.derivations.online_softmax import block_state, merge
from tests.derivations.steps import step_index

NAME = "online-softmax"


def test_report_ok_and_the_merge_is_proved():
    d = registry.build(NAME)
    report = check(d)
    assert report.ok
    assert report.result_for("result", 1).status == PROVED
    assert report.result_for("step", step_index(d, "exactly softmax attention over the union") + 1).status == PROVED


def test_keys_count_from_0_and_blocks_are_named_from_1():
    d = registry.build(NAME)
    (full,) = {t.limits for t in d.steps[0].rhs.atoms(sp.Sum)}
    assert [tuple(lim[1:]) for lim in full] == [(0, 3)]                        # o over keys 0 … 3
    first = d.steps[step_index(d, "block 1 holds")]
    assert str(first.lhs) == "m_1" and first.rhs.args == tuple(sp.Indexed(online_softmax.s, k) for k in (0, 1))


def test_a_merge_that_forgets_to_rescale_is_rejected():
    d = registry.build(NAME)
    k = step_index(d, "rescale each block's sum")
    wrong = replace(d.steps[k], rhs=d.steps[k].rhs.replace(sp.exp, lambda _: sp.Integer(1)))  # ℓ = ℓ₁ + ℓ₂
    assert wrong.rhs != d.steps[k].rhs and not wrong.rhs.has(sp.exp)
    report = check(replace(d, steps=d.steps[:k] + (wrong,) + d.steps[k + 1:]))
    assert report.result_for("step", k + 2).status == FAILED  # ℓ = Σ e^{s_j − m} no longer holds
    assert not report.ok


def test_merge_of_sympy_blocks_equals_the_full_softmax_exactly():
    scores, values = (sp.Integer(1), sp.Integer(3), sp.Integer(2), sp.Integer(0)), (4, 0, 2, 6)
    m, ell, o = merge(*block_state(scores[:2], values[:2]), *block_state(scores[2:], values[2:]))
    full = sum(sp.exp(x) * y for x, y in zip(scores, values)) / sum(sp.exp(x) for x in scores)
    assert m == 3
    assert sp.simplify(o - full) == 0


def test_streaming_merge_over_tiles_matches_sdpa_and_a_full_softmax():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(3)
    n, d, tile = 13, 8, 4
    q, k, v = (torch.randn(n, d, generator=gen, dtype=torch.float64) * 3 for _ in range(3))
    scores = q @ k.T / d**0.5                                                        # (n, n)
    state = None
    for start in range(0, n, tile):
        s, vals = scores[:, start:start + tile], v[start:start + tile]              # (n, b), (b, d)
        m = s.max(dim=1, keepdim=True).values                                        # (n, 1)
        w = torch.exp(s - m)
        block = (m, w.sum(dim=1, keepdim=True), (w @ vals) / w.sum(dim=1, keepdim=True))
        state = block if state is None else merge(*state, *block, exp=torch.exp, maximum=torch.maximum)
    full = torch.softmax(scores, dim=-1) @ v
    sdpa = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    torch.testing.assert_close(state[2], full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state[2], sdpa, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state[1], torch.exp(scores - scores.max(1, keepdim=True).values).sum(1, keepdim=True))


def test_a_wrong_merge_is_caught_by_the_torch_comparison():
    torch = pytest.importorskip("torch")
    s = torch.tensor([[1.0, 3.0, 2.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[4.0], [0.0], [2.0], [6.0]], dtype=torch.float64)
    a = block_state([s[:, 0:1], s[:, 1:2]], [v[0], v[1]], exp=torch.exp, maximum=torch.maximum)
    b = block_state([s[:, 2:3], s[:, 3:4]], [v[2], v[3]], exp=torch.exp, maximum=torch.maximum)
    right = merge(*a, *b, exp=torch.exp, maximum=torch.maximum)[2]
    unscaled = (a[1] * a[2] + b[1] * b[2]) / (a[1] + b[1])  # forgets e^{mᵢ − m}
    full = torch.softmax(s, dim=-1) @ v
    torch.testing.assert_close(right, full, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(unscaled, full, rtol=1e-3, atol=1e-3)
