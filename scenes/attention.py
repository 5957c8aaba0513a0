"""Scaled dot-product attention on a short sentence: Q, K, V, the score grid, scaling, softmax row by
row, and one context vector as the weighted sum of the value rows.

Scores come from the ``attention-scores`` closed form (Q Kᵀ), the scale from ``softmax-scaling``
(1/√Var[q·k]), weights and outputs from ``scaled-dot-product-attention``; formulas from their steps.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, LEFT, RIGHT, UP, YELLOW_C, FadeIn, FadeOut, LaggedStart, ReplacementTransform,
                   SurroundingRectangle, VGroup)

from explainer.scenes.helpers import (ExplainerScene, caption, closed_form, find_step, first_share, formula, heatmap,
                            last_share, signed, subscript, tex)


class AttentionWeights(ExplainerScene):
    """Q, K, V for a four-word sentence; QKᵀ, ÷√d_k, softmax per row; the context vector of one word."""

    words = ("the", "cat", "sat", "down")
    d_k, d_v = 3, 2
    seed = 7
    focus = 1  # the word whose context vector is built at the end

    def construct(self) -> None:
        n = len(self.words)
        rng = np.random.default_rng(self.seed)
        Q, K, V = (np.round(rng.normal(size=shape), 1) for shape in ((n, self.d_k), (n, self.d_k), (n, self.d_v)))
        scores = closed_form("attention-scores", "scores", n=n, m=n, d_k=self.d_k)(Q, K)  # (n, n) = Q Kᵀ
        scale = 1 / np.sqrt(closed_form("softmax-scaling", "variance", d_k=self.d_k)())  # 1/√d_k
        weights = closed_form("scaled-dot-product-attention", "weights", n=n, m=n, d_k=self.d_k, d_v=self.d_v)(Q, K)
        output = closed_form("scaled-dot-product-attention", "output", n=n, m=n, d_k=self.d_k, d_v=self.d_v)(Q, K, V)

        # --- the sentence, then one row of Q, K and V per word
        self.title("attention on a four-word sentence")
        sentence = VGroup(*(caption(w, font_size=34) for w in self.words)).arrange(RIGHT, buff=0.5).shift(UP * 0.5)
        mats = VGroup(*(self.matrix(name, values) for name, values in (("Q", Q), ("K", K), ("V", V))))
        mats.arrange(RIGHT, buff=0.6, aligned_edge=UP)
        row_words = VGroup(*(caption(w, font_size=18).next_to(mats[0][0][i][0], LEFT, buff=0.15)
                             for i, w in enumerate(self.words)))
        grid = self.grid(scores, r"Q K^{\mathsf T}").next_to(mats, RIGHT, buff=1.0).align_to(mats, UP)
        VGroup(row_words, mats, grid).move_to(DOWN * 0.35)  # the whole layout centred, grid shown later
        self.say(f"each word has a query, a key and a value row (d_k = {self.d_k}, d_v = {self.d_v})")
        self.play(FadeIn(sentence), run_time=0.6)
        self.wait(0.4)
        self.play(ReplacementTransform(sentence, row_words), run_time=1.0)
        self.play(LaggedStart(*(FadeIn(m) for m in mats), lag_ratio=0.4), run_time=1.8)
        self.wait(1)

        # --- the score grid Q Kᵀ, then scaled
        _, _, scaled_step = find_step("scaled-dot-product-attention", lambda l, r: r"\sqrt{d_{k}}" in r and "s_" in l)
        self.say("every query meets every key: row i of QKᵀ holds q_i·k_j for all j")
        self.play(FadeIn(grid), run_time=1.2)
        self.wait(1)
        self.title(formula(sp.latex(scaled_step.lhs) + " = " + sp.latex(scaled_step.rhs), font_size=40))
        scaled = on_cells(self.grid(scores * scale, r"Q K^{\mathsf T} / \sqrt{d_k}"), grid)
        self.say(f"divided by √d_k = {1 / scale:.3f} so the scores keep unit variance as d_k grows")
        self.play(ReplacementTransform(grid[0], scaled[0]), *self.swap_label(grid, scaled), run_time=1.2)
        self.wait(1)

        # --- softmax row by row
        _, _, weight_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{a}_{i,j}") and "e^" in r)
        self.title(formula(sp.latex(weight_step.lhs) + " = " + sp.latex(in_scores(weight_step.rhs, scaled_step)),
                           font_size=40))
        final = on_cells(self.grid(weights, "A"), scaled)
        self.say("softmax along each row: positive weights that sum to 1")
        for r in range(n):
            self.play(ReplacementTransform(scaled[0][r], final[0][r]),
                      *(self.swap_label(scaled, final) if r == 0 else ()), run_time=0.7)
        self.wait(1)

        # --- the context vector of one word: a weighted sum of value rows
        _, _, out_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{o}_{i,c}") and "{a}_{i,j}" in r)
        self.title(formula(sp.latex(out_step.lhs) + " = " + sp.latex(out_step.rhs), font_size=40))
        row = SurroundingRectangle(final[0][self.focus], color=YELLOW_C, buff=0.03)
        context = self.matrix(f"o_{{\\text{{{self.words[self.focus]}}}}}", output[self.focus:self.focus + 1], digits=2)
        context.next_to(mats[2], DOWN, buff=0.5, aligned_edge=LEFT)
        terms = " + ".join(f"{signed(a)}·v{subscript(j + 1)}" for j, a in enumerate(weights[self.focus]))
        self.say(f"'{self.words[self.focus]}' reads the values with its weights: {terms}")
        self.play(FadeIn(row), FadeOut(mats[0], mats[1], row_words), run_time=0.8)
        self.play(FadeIn(context, shift=DOWN * 0.2), run_time=1.2)
        self.wait(2.5)

    @staticmethod
    def swap_label(old: VGroup, new: VGroup) -> list:
        """The grid's name: the old fades out, then the new fades in (the word labels stay)."""
        return [FadeOut(old[1][0], rate_func=first_share(0.45)), FadeIn(new[1][0], rate_func=last_share(0.45))]

    def matrix(self, name: str, values: np.ndarray, digits: int = 1) -> VGroup:
        """A heatmap of ``values`` with its name above."""
        cells = heatmap(values, cell=(0.55 + 0.12 * (digits - 1), 0.55), digits=digits, font_size=16)
        label = tex(name, font_size=34).next_to(cells, UP, buff=0.15)
        return VGroup(cells, label)

    def grid(self, values: np.ndarray, name: str) -> VGroup:
        """A square grid of scores or weights with its name above, rows labelled by word (queries)."""
        cells = heatmap(values, cell=0.62, digits=2, font_size=15)
        label = VGroup(tex(name, font_size=32).next_to(cells, UP, buff=0.5),
                       *(caption(w, font_size=16).next_to(cells[i][0], LEFT, buff=0.12)
                         for i, w in enumerate(self.words)),
                       *(caption(w, font_size=16).next_to(cells[0][j], UP, buff=0.08)
                         for j, w in enumerate(self.words)))
        return VGroup(cells, label)


def on_cells(grid: VGroup, old: VGroup) -> VGroup:
    """``grid`` moved so that its cells lie on the cells of ``old`` (their names differ in height)."""
    return grid.shift(old[0].get_corner(UP + LEFT) - grid[0].get_corner(UP + LEFT))


def in_scores(expr, score_step):
    """``expr`` with every scaled score of ``score_step`` (``Σ_f K_{x,f} Q_{i,f} / √d_k`` for any key
    index x) written as its symbol ``s_{ix}``: the softmax step short enough to read at 480p."""
    key = next(s for s in score_step.rhs.free_symbols if s.name == "j")
    any_key = sp.Wild("x")
    return expr.replace(score_step.rhs.xreplace({key: any_key}),
                        lambda x: sp.Symbol(f"s_{{i{sp.latex(x)}}}"))
