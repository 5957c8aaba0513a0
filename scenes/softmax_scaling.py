"""Why attention divides by √d_k: the spread of q·k grows with the width, and softmax of large scores
turns one-hot with vanishing gradients.

Scores are the ``dot-product`` closed form on random standard-normal q, k (fixed seed); the variance
and the softmax Jacobian come from ``softmax-scaling``, the weights from ``softmax``.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import DOWN, GREY_B, LEFT, RIGHT, UP, Dot, FadeIn, FadeOut, LaggedStart, Line, NumberLine, VGroup

from explainer.scenes.helpers import (ExplainerScene, bars, caption, closed_form, find_step, first_share, formula,
                                      last_share, number, signed, subscript, tex)
from explainer.scenes.palette import KEY, SCORE, WEIGHT


class SoftmaxScaling(ExplainerScene):
    """Strips of sampled q·k for growing d_k, unscaled then scaled; unscaled softmax goes one-hot."""

    widths = (4, 16, 64, 256)
    samples = 40
    n_keys = 4
    seed = 3
    zoom = 10                 # the scaled scores are shown on an axis this many times finer

    def construct(self) -> None:
        rng = np.random.default_rng(self.seed)
        variance = {d: float(closed_form("softmax-scaling", "variance", d_k=d)()) for d in self.widths}
        scores = {d: self.sample_scores(rng, d, self.samples) for d in self.widths}

        # --- the spread of q·k grows with d_k
        _, _, var_step = find_step("softmax-scaling", lambda l, r: l.startswith(r"\operatorname{Var}") and r == "d_{k}")
        self.title(formula(sp.latex(var_step.lhs) + " = " + sp.latex(var_step.rhs), font_size=44))
        limit = 3 * np.sqrt(max(self.widths))
        lines = VGroup(*(NumberLine(x_range=(-limit, limit, 10), length=10, include_ticks=False,
                                    stroke_opacity=0.5) for _ in self.widths)).arrange(DOWN, buff=0.95).shift(DOWN * 0.1)
        labels = VGroup(*(tex(f"d_k = {d}", font_size=28).next_to(line, LEFT, buff=0.3)
                          for d, line in zip(self.widths, lines)))
        ticks = self.ticks(lines[-1], limit)
        dots = VGroup(*(VGroup(*(Dot(line.n2p(s), radius=0.05, color=SCORE, fill_opacity=0.8) for s in scores[d]))
                        for d, line in zip(self.widths, lines)))
        spreads = VGroup(*(self.spread(line, np.sqrt(variance[d])) for d, line in zip(self.widths, lines)))
        self.say(f"q·k for {self.samples} random pairs of standard-normal vectors: the spread grows like √d_k")
        self.play(FadeIn(lines), FadeIn(labels), FadeIn(ticks), run_time=0.8)
        self.play(LaggedStart(*(FadeIn(group, lag_ratio=0.02) for group in dots), lag_ratio=0.5), run_time=3)
        self.play(FadeIn(spreads), run_time=0.8)
        self.wait(1.5)

        # --- divided by √d_k, every width has the same spread
        _, _, scaled_step = find_step("softmax-scaling", lambda l, r: r"\sqrt{d_{k}}" in l and r == "1")
        self.title(formula(sp.latex(scaled_step.lhs) + " = " + sp.latex(scaled_step.rhs), font_size=44))
        self.say("divided by √d_k, on the same axis: every row shrinks to the same spread, variance 1")
        divided = [dot.animate.move_to(line.n2p(s / np.sqrt(variance[d])))
                   for d, line in zip(self.widths, lines) for dot, s in zip(dots[self.widths.index(d)], scores[d])]
        unit_spreads = VGroup(*(self.spread(line, 1.0) for line in lines))
        self.play(*divided, FadeOut(spreads), FadeIn(unit_spreads), run_time=2)
        self.wait(2.5)

        # --- the same scores, the axis zoomed in (nothing is divided here)
        self.say(f"zoomed in {self.zoom}× (the scores do not change, only the axis): the four rows now look alike")
        fine = [NumberLine(x_range=(-limit / self.zoom, limit / self.zoom, 1), length=line.get_length(),
                           include_ticks=False).move_to(line) for line in lines]  # positions only, not shown
        zoomed = [dot.animate.move_to(line.n2p(s / np.sqrt(variance[d])))
                  for d, line in zip(self.widths, fine) for dot, s in zip(dots[self.widths.index(d)], scores[d])]
        new_spreads = VGroup(*(self.spread(line, 1.0) for line in fine))
        new_ticks = self.ticks(fine[-1], limit / self.zoom)
        self.play(*zoomed, FadeOut(unit_spreads), FadeIn(new_spreads), FadeOut(ticks, rate_func=first_share(0.4)),
                  FadeIn(new_ticks, rate_func=last_share(0.4)), run_time=2)
        self.wait(2.5)
        self.play(FadeOut(lines, labels, dots, new_spreads, new_ticks), run_time=0.6)

        # --- softmax of unscaled scores is one-hot, and its gradient vanishes
        self.one_hot(rng)

    def sample_scores(self, rng, d: int, count: int) -> np.ndarray:
        """``count`` values of q·k with q, k ~ N(0, I_d) (the dot-product closed form)."""
        dot = closed_form("dot-product", "dot", d=d)
        return np.array([dot(rng.normal(size=(1, d)), rng.normal(size=(1, d))) for _ in range(count)])

    @staticmethod
    def ticks(line: NumberLine, limit: float) -> VGroup:
        """Five numbers under ``line`` (which runs from −limit to limit): −⅚·limit … ⅚·limit, rounded."""
        step = float(f"{limit / 2.4:.1g}")  # 48 -> 20, 4.8 -> 2
        return VGroup(*(number(v, 0, font_size=18, color=GREY_B).next_to(line.n2p(v), DOWN, buff=0.3)
                        for v in np.arange(-2, 3) * step))

    @staticmethod
    def spread(line: NumberLine, sd: float) -> VGroup:
        """Ticks at ± one standard deviation on ``line``."""
        return VGroup(*(Line(line.n2p(s) + DOWN * 0.25, line.n2p(s) + UP * 0.25, color=GREY_B, stroke_width=3)
                        for s in (-sd, sd)))

    def one_hot(self, rng) -> None:
        d = max(self.widths)
        row = self.sample_scores(rng, d, self.n_keys)[None, :]  # (1, n_keys)
        scale = 1 / np.sqrt(float(closed_form("softmax-scaling", "variance", d_k=d)()))
        softmax = closed_form("softmax", "softmax", n=self.n_keys)
        jacobian = closed_form("softmax-scaling", "jacobian", d_k=d, n=self.n_keys)
        _, _, limit_step = find_step("softmax-scaling", lambda l, r: l.startswith(r"\lim") and r == "1")
        self.title(VGroup(formula(sp.latex(limit_step.lhs) + " = " + sp.latex(limit_step.rhs), font_size=40),
                          caption("two scores (tδ, 0), t multiplying both: p₀ is the weight of the larger one, tδ",
                                  font_size=20))
                   .arrange(DOWN, buff=0.12))
        winner = int(np.argmax(row[0]))
        panels = VGroup()
        for name, x in (("unscaled", row), ("scaled by 1/√d_k", row * scale)):
            weights, grad = softmax(x)[0], np.abs(jacobian(x)).max()
            chart = bars(weights, width=3.6, height=2.6, top=1.0, color=WEIGHT)
            chart[winner].set_stroke(KEY, width=3)
            chart.add(*(tex(f"k_{{{j}}}", font_size=24, color=KEY).next_to(bar, DOWN, buff=0.08)
                        for j, bar in enumerate(chart)))
            text = VGroup(caption(name, font_size=26),
                          caption("scores " + ", ".join(signed(v, 1) for v in x[0]), font_size=20, color=SCORE),
                          caption("weights " + ", ".join(signed(v) for v in weights), font_size=20),
                          caption(f"largest |∂p/∂x| = {grad:.2g}", font_size=20))
            text.arrange(DOWN, aligned_edge=LEFT, buff=0.15)
            panels.add(VGroup(chart, text.next_to(chart, DOWN, buff=0.3, aligned_edge=LEFT)))
        panels.arrange(RIGHT, buff=1.6, aligned_edge=DOWN).shift(DOWN * 0.4)
        panels[1].shift(UP * (panels[0][0].get_bottom()[1] - panels[1][0].get_bottom()[1]))  # one baseline
        weights = softmax(row)[0]
        self.say(f"d_k = {d}, unscaled (t = √d_k = {np.sqrt(d):g}): k{subscript(winner)} has the largest score and "
                 f"takes {weights[winner]:.2f} of the weight, almost one-hot: the gradient vanishes")
        self.play(FadeIn(panels[0]), run_time=1.2)
        self.wait(4)
        self.say("divided by √d_k (t = 1) the weights stay spread and the gradient stays alive")
        self.play(FadeIn(panels[1]), run_time=1.2)
        self.wait(3.5)

