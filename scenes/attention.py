"""Scaled dot-product attention on a short sentence: Q, K, V, the score grid, scaling, softmax row by
row, and one context vector as the weighted sum of the value rows.

Scores come from the ``attention-scores`` closed form (Q Kᵀ), the scale from ``softmax-scaling``
(1/√Var[q·k]), weights and outputs from ``scaled-dot-product-attention``; formulas from their steps.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, LEFT, RIGHT, UP, FadeIn, FadeTransform, FadeOut, LaggedStart, Line, ReplacementTransform,
                   SurroundingRectangle, VGroup)

from explainer.scenes.helpers import (ExplainerScene, caption, closed_form, find_step, first_share, formula, heatmap,
                                      last_share, signed, subscript, tex)
from explainer.scenes.palette import KEY, OUTPUT, QUERY, SCORE, VALUE, WEIGHT


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
        mats = VGroup(*(self.matrix(name, values, color) for name, values, color in
                        (("Q", Q, QUERY), ("K", K, KEY), ("V", V, VALUE))))
        mats.arrange(RIGHT, buff=0.45, aligned_edge=UP)
        row_words = VGroup(*(caption(w, font_size=18).next_to(mats[0][2][i], LEFT, buff=0.15)
                             for i, w in enumerate(self.words)))
        grid = self.grid(scores, r"Q K^{\mathsf T}", SCORE).next_to(mats, RIGHT, buff=0.9).align_to(mats, UP)
        VGroup(row_words, mats, grid).move_to(DOWN * 0.35)  # the whole layout centred, grid shown later
        self.say(f"each word has a query, a key and a value row (d_k = {self.d_k}, d_v = {self.d_v})")
        self.play(FadeIn(sentence), run_time=0.6)
        self.wait(0.4)
        self.play(ReplacementTransform(sentence, row_words), run_time=1.0)
        self.play(LaggedStart(*(FadeIn(m) for m in mats), lag_ratio=0.4), run_time=1.8)
        self.wait(1)

        # --- the score grid Q Kᵀ, then scaled
        _, _, scaled_step = find_step("scaled-dot-product-attention", is_score_step)
        self.say("every query meets every key: row i of QKᵀ holds q_i·k_j for all j")
        self.play(FadeIn(grid), run_time=1.2)
        self.wait(1)
        self.title(formula(sp.latex(scaled_step.lhs) + " = " + sp.latex(scaled_step.rhs), font_size=40))
        scaled = on_cells(self.grid(scores * scale, r"Q K^{\mathsf T} / \sqrt{d_k}", SCORE), grid)
        self.say(f"divided by √d_k = {1 / scale:.3f} so the scores keep unit variance as d_k grows")
        self.play(ReplacementTransform(grid[0], scaled[0]), *self.swap_label(grid, scaled), run_time=1.2)
        self.wait(1)

        # --- softmax row by row
        _, _, weight_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{a}_{i,j}") and "e^" in r)
        self.title(formula(sp.latex(weight_step.lhs) + " = " + sp.latex(in_scores(weight_step.rhs, scaled_step)),
                           font_size=40))
        final = on_cells(self.grid(weights, "A", WEIGHT), scaled)
        self.say("softmax along each row: positive weights that sum to 1")
        for r in range(n):
            self.play(ReplacementTransform(scaled[0][r], final[0][r]),
                      *(self.swap_label(scaled, final) if r == 0 else ()), run_time=0.7)
        self.wait(1)

        # --- the context vector of one word: a weighted sum of value rows
        _, _, out_step = find_step("scaled-dot-product-attention", lambda l, r: l.startswith("{o}_{i,c}") and "{a}_{i,j}" in r)
        self.title(formula(sp.latex(out_step.lhs) + " = " + sp.latex(out_step.rhs), font_size=40))
        f, value = self.focus, mats[2]
        row = SurroundingRectangle(final[0][f], color=QUERY, buff=0.03)
        self.say(f"row '{self.words[f]}' of A holds its weights a{subscript(f)}ⱼ over the keys")
        self.play(FadeOut(mats[0], mats[1], row_words), value.animate.to_edge(LEFT, buff=0.6), FadeIn(row),
                  run_time=1.2)
        terms, target = self.weighted_sum(weights[f], V, output[f], value)
        sum_text = " + ".join(f"{signed(a)}·v{subscript(j)}" for j, a in enumerate(weights[f]))
        self.say(f"'{self.words[f]}' takes each value row v{subscript(0)} … v{subscript(n - 1)} scaled by its "
                 f"weight: {sum_text}")
        self.play(LaggedStart(*(anim for j, term in enumerate(terms) for anim in (
            FadeTransform(final[0][f][j][1].copy(), term[0]), FadeIn(term[1:3]),
            FadeTransform(value[0][j].copy(), term[3]))), lag_ratio=0.12), run_time=3.5)
        self.wait(1.5)
        self.say(f"added up, row by row: the new vector o{subscript(f)} of '{self.words[f]}' (rows of V, "
                 f"weights from row {f} of A)")
        self.play(FadeIn(target[1:3]), FadeTransform(VGroup(*(term[3] for term in terms)).copy(), target[0]),
                  run_time=1.5)
        self.wait(3)

    def weighted_sum(self, weights: np.ndarray, V: np.ndarray, out: np.ndarray, value: VGroup):
        """Rows ``a_j · v_j`` (the weight, "·", the value row's name, its cells scaled) stacked between V
        and the grid, then a rule and the output row ``o`` with its name: ``(terms, VGroup(o, rule, name))``."""
        scale = float(np.max(np.abs(V)))
        terms = VGroup()
        for j, a in enumerate(weights):
            cells = heatmap(a * V[j:j + 1], cell=(0.7, 0.5), scale=scale, digits=2, font_size=16, color=VALUE)
            terms.add(VGroup(tex(signed(a), font_size=30, color=WEIGHT), tex(r"\cdot", font_size=30),
                             tex(f"v_{{{j}}}", font_size=30, color=VALUE), cells).arrange(RIGHT, buff=0.15))
        terms.arrange(DOWN, buff=0.18, aligned_edge=RIGHT)
        o = heatmap(out[None, :], cell=(0.7, 0.5), scale=scale, digits=2, font_size=16, color=OUTPUT)
        o.next_to(terms, DOWN, buff=0.35).align_to(terms, RIGHT)
        rule = Line(o.get_corner(UP + LEFT), o.get_corner(UP + RIGHT)).shift(UP * 0.17)
        name = tex(f"o_{{{self.focus}}} =", font_size=30, color=OUTPUT).next_to(o, LEFT, buff=0.15)
        block = VGroup(terms, o, rule, name)
        block.move_to(value.get_right() + RIGHT * (0.9 + block.width / 2)).set_y(value.get_y() - 0.3)
        return terms, VGroup(o, rule, name)

    @staticmethod
    def swap_label(old: VGroup, new: VGroup) -> list:
        """The grid's name: the old fades out, then the new fades in (the word labels stay)."""
        return [FadeOut(old[1][0], rate_func=first_share(0.45)), FadeIn(new[1][0], rate_func=last_share(0.45))]

    def matrix(self, name: str, values: np.ndarray, color) -> VGroup:
        """``VGroup(cells, name, row names)``: a heatmap of ``values`` in the quantity's ``color``, its name
        above, each row named ``q_0``, ``k_0``, ``v_0``… on its left (rows count from 0)."""
        cells = heatmap(values, cell=0.55, digits=1, font_size=16, color=color)
        label = tex(name, font_size=34, color=color).next_to(cells, UP, buff=0.15)
        rows = VGroup(*(tex(f"{name.lower()}_{{{i}}}", font_size=24, color=color).next_to(cells[i][0], LEFT, buff=0.1)
                        for i in range(len(values))))
        return VGroup(cells, label, rows)

    def grid(self, values: np.ndarray, name: str, color) -> VGroup:
        """A square grid of scores or weights in ``color`` with its name above, rows labelled by word
        (queries, in the query colour), columns by word (keys, in the key colour)."""
        cells = heatmap(values, cell=0.62, digits=2, font_size=15, color=color)
        label = VGroup(tex(name, font_size=32, color=color).next_to(cells, UP, buff=0.5),
                       *(caption(w, font_size=16, color=QUERY).next_to(cells[i][0], LEFT, buff=0.12)
                         for i, w in enumerate(self.words)),
                       *(caption(w, font_size=16, color=KEY).next_to(cells[0][j], UP, buff=0.08)
                         for j, w in enumerate(self.words)))
        return VGroup(cells, label)


def on_cells(grid: VGroup, old: VGroup) -> VGroup:
    """``grid`` moved so that its cells lie on the cells of ``old`` (their names differ in height)."""
    return grid.shift(old[0].get_corner(UP + LEFT) - grid[0].get_corner(UP + LEFT))


def is_score_step(lhs: str, rhs: str) -> bool:
    """The step that defines the scaled score ``s_ij = q_i·k_j / √d_k`` (``s_{ij}`` or ``{s}_{i,j}``)."""
    return r"\sqrt{d_{k}}" in rhs and lhs.replace("{", "").replace("}", "").startswith("s_")


def in_scores(expr, score_step):
    """``expr`` with every scaled score of ``score_step`` (``Σ_f K_{x,f} Q_{i,f} / √d_k`` for any key
    index x) written as its symbol ``s_{ix}``: the softmax step short enough to read at 480p."""
    key = next(s for s in score_step.rhs.free_symbols if s.name == "j")
    any_key = sp.Wild("x")
    return expr.replace(score_step.rhs.xreplace({key: any_key}),
                        lambda x: sp.Symbol(f"s_{{i{sp.latex(x)}}}"))
