"""Scene helpers: the √ split that TransformMatchingTex needs, and the engine's closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("manim")

from manim import MathTex, Scene, TransformMatchingTex, tempconfig  # noqa: E402

from scenes.helpers import closed_form, find_step, relation_parts, split_sqrt  # noqa: E402


def test_split_sqrt_isolates_every_root():
    assert split_sqrt(r"\frac{a}{\sqrt{d_{k}}} + \sqrt{x^{2}}") == [r"\frac{a}{", r"\sqrt{d_{k}}", "} + ", r"\sqrt{x^{2}}"]
    assert split_sqrt(r"\sqrt[3]{\sqrt{y}}") == [r"\sqrt[3]{\sqrt{y}}"]
    assert split_sqrt("x + y") == ["x + y"]
    assert "".join(split_sqrt(r"\frac{Q}{\sqrt{d_{k}}}")) == r"\frac{Q}{\sqrt{d_{k}}}"


def test_scaled_attention_step_keeps_its_root_across_a_transform(tmp_path):
    """The scaled-score step and its softmax: √d_k is one matched part of both (manim issue #1525)."""
    _, _, score = find_step("scaled-dot-product-attention", lambda l, r: r"\sqrt{d_{k}}" in r and "s_" in l)
    _, _, weight = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{a}_{i,j}"))
    with tempconfig({"media_dir": str(tmp_path), "dry_run": True, "verbosity": "ERROR"}):
        first = MathTex(*relation_parts(score.lhs, score.rel, score.rhs))
        second = MathTex(*relation_parts(weight.lhs, weight.rel, weight.rhs))
        roots = [[p for p in m.submobjects if p.tex_string == r"\sqrt{d_{k}}"] for m in (first, second)]
        assert len(roots[0]) == 1 and len(roots[1]) == 2
        assert all(len(p.submobjects) == len(roots[0][0].submobjects) > 0 for p in roots[1])
        transform = TransformMatchingTex(first, second)
        scene = Scene()
        scene.add(first)
        scene.play(transform)  # no error: the parts line up
    matched = [p for p in second.submobjects if p.tex_string in {q.tex_string for q in first.submobjects}]
    assert any(p.tex_string == r"\sqrt{d_{k}}" for p in matched)


def test_closed_form_matches_numpy():
    """The lambdified softmax and dot product against plain numpy."""
    x = np.array([[2.0, 1.0, -0.5]])
    assert np.allclose(closed_form("softmax", "softmax", n=3)(x), np.exp(x) / np.exp(x).sum())
    q, k = np.array([[3.0, 1.0]]), np.array([[2.0, 4.0]])
    assert closed_form("dot-product", "dot", d=2)(q, k) == pytest.approx(10.0)


def test_find_step_fills_a_chain_lhs_and_fails_loudly():
    _, _, step = find_step("softmax", lambda l, r: r == "1")  # "… = 1", a chain link without its own lhs
    assert r"\sum" in sp.latex(step.lhs) and sp.latex(step.rhs) == "1"
    with pytest.raises(LookupError):
        find_step("softmax", lambda l, r: False)
