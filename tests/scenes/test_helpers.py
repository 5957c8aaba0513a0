"""Scene helpers: the √ split that TransformMatchingTex needs, and the engine's closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

pytest.importorskip("manim")

from manim import MathTex, Scene, TransformMatchingTex, VGroup, tempconfig  # noqa: E402

from explainer.scenes.attention import is_score_step  # noqa: E402
from explainer.scenes.helpers import closed_form, derivation, find_step, relation_parts, split_sqrt  # noqa: E402


def test_split_sqrt_isolates_every_root():
    assert split_sqrt(r"\frac{a}{\sqrt{d_{k}}} + \sqrt{x^{2}}") == [r"\frac{a}{", r"\sqrt{d_{k}}", "} + ", r"\sqrt{x^{2}}"]
    assert split_sqrt(r"\sqrt[3]{\sqrt{y}}") == [r"\sqrt[3]{\sqrt{y}}"]
    assert split_sqrt("x + y") == ["x + y"]
    assert "".join(split_sqrt(r"\frac{Q}{\sqrt{d_{k}}}")) == r"\frac{Q}{\sqrt{d_{k}}}"


def two_roots(score):
    """A step written with the derivation's scaled score twice: a = e^s / (1 + e^s) (s = Σ_f K_jf Q_if / √d_k),
    so √d_k appears twice, as in a softmax written out."""
    from explainer.model import Step

    e = sp.exp(score.rhs)
    return Step(lhs=sp.Symbol("a"), rhs=e / (1 + e), why="two roots")


def test_scaled_attention_step_keeps_its_root_across_a_transform(tmp_path):
    """The scaled-score step and its softmax: √d_k is one matched part of both (manim issue #1525)."""
    _, _, score = find_step("scaled-dot-product-attention", is_score_step)
    weight = two_roots(score)
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


def test_step_transform_fades_out_before_it_fades_in(tmp_path):
    """The parts that go are gone before the new ones appear; √d_k is still matched and moved."""
    from manim import FadeIn, FadeOut, Transform

    from explainer.scenes.helpers import relation, step_transform

    _, _, score = find_step("scaled-dot-product-attention", is_score_step)
    weight = two_roots(score)
    with tempconfig({"media_dir": str(tmp_path), "dry_run": True, "verbosity": "ERROR"}):
        first, second = relation(score.lhs, score.rel, score.rhs), relation(weight.lhs, weight.rel, weight.rhs)
        animation = step_transform(first, second, share=0.4)
        kinds = {type(a): a for a in animation.animations}
        assert {FadeOut, FadeIn, Transform} <= set(kinds)
        assert kinds[FadeOut].rate_func(0.4) == 1 and kinds[FadeIn].rate_func(0.4) == 0
        assert kinds[Transform].rate_func(0.4) == 0 and kinds[Transform].rate_func(1.0) == 1
        moved = {part.tex_string for group in kinds[Transform].mobject.submobjects for part in group.submobjects}
        assert r"\sqrt{d_{k}}" in moved
        scene = Scene()
        scene.add(first)
        scene.play(animation)
        assert second in scene.mobjects and first not in scene.mobjects


def test_a_relation_too_wide_for_one_legible_line_takes_two(tmp_path, glyph_dirs):
    """A relation that one line could show only below 60 % of its size goes on two lines (the written-out
    matrix examples of the attention derivations do): the relation and the right side under the left
    side, larger than on one line. A short one stays on one line; both fit the width."""
    from explainer.scenes.helpers import relation

    x, y = sp.symbols("x:24"), sp.symbols("y:24")
    with tempconfig({"media_dir": str(tmp_path), "dry_run": True, "verbosity": "ERROR", **glyph_dirs}):
        two = relation(sp.Add(*x), "=", sp.Add(*y), width=12.5, font_size=44)
        squeezed = MathTex(sp.latex(sp.Add(*x)), "=", sp.latex(sp.Add(*y)), font_size=44)
        one = relation(x[0] + x[1], "<=", y[0], width=12.5, font_size=44)
    left, rel, right = two.submobjects
    assert left.get_bottom()[1] > max(rel.get_top()[1], right.get_top()[1])  # two lines
    assert abs(left.get_x() - VGroup(rel, right).get_x()) < 1e-6  # both centred
    assert two.width <= 12.5 + 1e-6 and left.height > 1.5 * squeezed.scale_to_fit_width(12.5)[0].height
    assert [p.tex_string for p in one.submobjects] == ["x_{0} + x_{1}", r"\le", "y_{0}"]
    assert abs(one[0].get_y() - one[2].get_y()) < 0.2 and one.width < 12.5  # one line


def test_heatmap_numbers_share_one_size(tmp_path):
    """A negative number is as tall as a positive one (each is not squeezed into its cell on its own)."""
    from explainer.scenes.helpers import heatmap

    with tempconfig({"media_dir": str(tmp_path), "dry_run": True, "verbosity": "ERROR"}):
        grid = heatmap(np.array([[0.42, -0.42], [1.0, -0.96]]), cell=(0.7, 0.5))
    digits = [cell[1] for row in grid for cell in row]
    assert max(d.height for d in digits) - min(d.height for d in digits) < 0.02
    assert all(d.width < 0.7 for d in digits)
    assert "−" in [t.text for t in digits][1]  # a true minus sign


def test_softmax_title_in_terms_of_scores():
    """The attention scene writes the softmax step with s_ij (legible) instead of the full sums."""
    from explainer.scenes.attention import in_scores

    _, _, score = find_step("scaled-dot-product-attention", is_score_step)
    _, _, weight = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{a}_{i,j}") and "e^" in r)
    shown = sp.latex(in_scores(weight.rhs, score))
    assert r"\sqrt" not in shown and r"\sum_{f" not in shown  # no score written out
    assert "e^s_ij" in shown.replace("{", "").replace("}", "").replace(",", "")


def test_a_readout_draws_what_a_decimal_number_draws_without_touching_the_shared_glyphs(glyph_dirs):
    from manim import DecimalNumber
    from manim.mobject.text import numbers

    from explainer.scenes.helpers import Readout

    with tempconfig(glyph_dirs):
        plain, live = (cls(0.5, num_decimal_places=2, font_size=40, include_sign=True) for cls in (DecimalNumber, Readout))
        for value in (-2.47, 13.05):
            plain.set_value(value)
            live.set_value(value)
            a, b = plain.family_members_with_points(), live.family_members_with_points()
            assert len(a) == len(b) and all(np.allclose(x.points, y.points) for x, y in zip(a, b))
        glyphs = [m for g in numbers.string_to_mob_map.values() for m in g.get_family()]
        for member in live.get_family():  # its own arrays: changing the read-out never changes a glyph
            for attr in ("points", "fill_rgbas", "stroke_rgbas"):
                assert not any(np.shares_memory(getattr(member, attr), getattr(g, attr)) for g in glyphs), attr
