"""Scaled dot-product attention on a short sentence: Q, K, V, the score grid, scaling, softmax row by
row, and one context vector as the weighted sum of the value rows.

Scores come from the ``attention-scores`` closed form (Q Kᵀ), the scale from ``softmax-scaling``
(1/√Var[q·k]), weights and outputs from ``scaled-dot-product-attention``; formulas from their steps.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, LEFT, RIGHT, UP, YELLOW_C, FadeIn, FadeOut, LaggedStart, MathTex, ReplacementTransform,
                   SurroundingRectangle, VGroup)

from scenes.helpers import ExplainerScene, caption, closed_form, find_step, formula, heatmap


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

        # --- the sentence and its Q, K, V
        self.title("attention on a four-word sentence")
        sentence = VGroup(*(caption(w, font_size=30) for w in self.words)).arrange(RIGHT, buff=0.5).shift(UP * 2.05)
        mats = VGroup(*(self.matrix(name, values) for name, values in (("Q", Q), ("K", K), ("V", V))))
        mats.arrange(RIGHT, buff=0.6, aligned_edge=UP).to_edge(LEFT, buff=0.8).shift(DOWN * 0.3)
        self.say(f"each word has a query, a key and a value row (d_k = {self.d_k}, d_v = {self.d_v})")
        self.play(FadeIn(sentence), run_time=0.6)
        self.play(LaggedStart(*(FadeIn(m) for m in mats), lag_ratio=0.4), run_time=1.8)
        self.wait(1)

        # --- the score grid Q Kᵀ, then scaled
        _, _, scaled_step = find_step("scaled-dot-product-attention", lambda l, r: r"\sqrt{d_{k}}" in r and "s_" in l)
        grid = self.grid(scores, r"Q K^{\mathsf T}").next_to(mats, RIGHT, buff=0.9)
        self.say("every query meets every key: row i of QKᵀ holds q_i·k_j for all j")
        self.play(FadeIn(grid), run_time=1.2)
        self.wait(1)
        self.title(formula(sp.latex(scaled_step.lhs) + " = " + sp.latex(scaled_step.rhs), font_size=40))
        scaled = self.grid(scores * scale, r"Q K^{\mathsf T} / \sqrt{d_k}").move_to(grid, aligned_edge=UP + LEFT)
        self.say(f"divided by √d_k = {1 / scale:.3f} so the scores keep unit variance as d_k grows")
        self.play(ReplacementTransform(grid, scaled), run_time=1.2)
        self.wait(1)

        # --- softmax row by row
        _, _, weight_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{a}_{i,j}") and "e^" in r)
        self.title(formula(sp.latex(weight_step.lhs) + " = " + sp.latex(weight_step.rhs), font_size=36))
        final = self.grid(weights, "A").move_to(scaled, aligned_edge=UP + LEFT)
        self.say("softmax along each row: positive weights that sum to 1")
        self.play(ReplacementTransform(scaled[1], final[1]), run_time=0.5)
        for r in range(n):
            self.play(ReplacementTransform(scaled[0][r], final[0][r]), run_time=0.7)
        self.wait(1)

        # --- the context vector of one word: a weighted sum of value rows
        _, _, out_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{o}_{i,c}") and "{a}_{i,j}" in r)
        self.title(formula(sp.latex(out_step.lhs) + " = " + sp.latex(out_step.rhs), font_size=40))
        row = SurroundingRectangle(final[0][self.focus], color=YELLOW_C, buff=0.03)
        context = self.matrix(f"o_{{\\text{{{self.words[self.focus]}}}}}", output[self.focus:self.focus + 1])
        context.next_to(mats[2], DOWN, buff=0.5, aligned_edge=LEFT)
        terms = " + ".join(f"{a:.2f}·v_{j + 1}" for j, a in enumerate(weights[self.focus]))
        self.say(f"'{self.words[self.focus]}' reads the values with its weights: {terms}")
        self.play(FadeIn(row), FadeOut(mats[0], mats[1]), run_time=0.8)
        self.play(FadeIn(context, shift=DOWN * 0.2), run_time=1.2)
        self.wait(2.5)

    def matrix(self, name: str, values: np.ndarray) -> VGroup:
        """A heatmap of ``values`` with its name above."""
        cells = heatmap(values, cell=0.55, digits=1, font_size=16)
        label = MathTex(name, font_size=34).next_to(cells, UP, buff=0.15)
        return VGroup(cells, label)

    def grid(self, values: np.ndarray, name: str) -> VGroup:
        """A square grid of scores or weights with its name above, rows labelled by word (queries)."""
        cells = heatmap(values, cell=0.62, digits=2, font_size=15)
        label = VGroup(MathTex(name, font_size=32).next_to(cells, UP, buff=0.5),
                       *(caption(w, font_size=16).next_to(cells[i][0], LEFT, buff=0.12)
                         for i, w in enumerate(self.words)),
                       *(caption(w, font_size=16).next_to(cells[0][j], UP, buff=0.08)
                         for j, w in enumerate(self.words)))
        return VGroup(cells, label)
