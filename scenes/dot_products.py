"""Dot products as alignment: one key turning around a query, then several keys competing for weight.

Read-outs come from the ``dot-product`` closed form (q·k, and ‖q‖ = √(q·q)), the weights from the
``softmax`` and ``scaled-dot-product-attention`` closed forms; the formulas are their steps' LaTeX.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DEGREES, DOWN, LEFT, RIGHT, TAU, UP, Arrow, Create, FadeIn, FadeOut, GrowArrow, NumberPlane,
                   ValueTracker, VGroup, always_redraw, linear)

from explainer.scenes.helpers import (ExplainerScene, bars, closed_form, find_step, fit, formula, readout_column,
                                      signed_color, tex)
from explainer.scenes.palette import KEY, QUERY, WEIGHT


def rotate(v: np.ndarray, angle: float) -> np.ndarray:
    """``v`` turned by ``angle`` radians counter-clockwise (2-D)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


class DotProductAlignment(ExplainerScene):
    """A fixed query q, a key k turning around the origin, live θ, cos θ and q·k; then softmax over keys."""

    query = np.array([2.0, 1.0])        # (d,) the query, d = 2
    key_length = 1.5                   # ‖k‖ of the turning key
    key_angles = (0.0, 100.0, 190.0, 280.0)  # degrees: four keys around q's direction

    def construct(self) -> None:
        dot = closed_form("dot-product", "dot", d=2)  # (q (1×2), k (1×2)) -> q·k
        self.score = lambda a, b: float(dot(a[None, :], b[None, :]))
        self.norm = lambda a: float(np.sqrt(self.score(a, a)))

        # --- one key turning: the geometric form of the score
        _, _, geometric = find_step("dot-product", lambda l, r: l == r"\mathbf{q}\cdot\mathbf{k}" and r"\cos" in r)
        self.title(formula(sp.latex(geometric.lhs) + " = " + sp.latex(geometric.rhs), font_size=44))
        plane = NumberPlane(x_range=(-3, 3), y_range=(-3, 3), x_length=5.4, y_length=5.4,
                            background_line_style={"stroke_opacity": 0.35}).shift(LEFT * 3.6 + DOWN * 0.3)
        q_arrow = Arrow(plane.c2p(0, 0), plane.c2p(*self.query), buff=0, color=QUERY)
        q_label = tex(r"\mathbf{q}", font_size=36, color=QUERY).move_to(plane.c2p(*(self.query * 1.2)))
        turn = ValueTracker(0.0)
        key = lambda: rotate(np.array([self.key_length, 0.0]), turn.get_value())  # noqa: E731
        k_arrow = always_redraw(lambda: Arrow(plane.c2p(0, 0), plane.c2p(*key()), buff=0, color=KEY))
        k_label = tex(r"\mathbf{k}", font_size=36, color=KEY)
        k_label.add_updater(lambda m: m.move_to(plane.c2p(*(key() * 1.25))))
        readouts = self.readouts(geometric, key)
        self.play(Create(plane), GrowArrow(q_arrow), FadeIn(q_label), run_time=1.2)
        self.add(k_arrow, k_label)
        self.play(FadeIn(readouts), run_time=0.6)
        self.say("the score is largest when k points along q, zero at 90°, negative when they point apart")
        self.play(turn.animate.set_value(TAU), run_time=7, rate_func=linear)
        self.play(FadeOut(k_arrow, k_label, readouts), run_time=0.5)
        self.remove(k_arrow, k_label)

        # --- several keys: the query turns, softmax turns scores into weights
        keys = np.array([rotate(np.array([self.key_length, 0.0]), a * DEGREES) for a in self.key_angles])  # (4, 2)
        softmax = closed_form("softmax", "softmax", n=len(keys))  # (x (1×4),) -> (1×4)
        q_turn = ValueTracker(0.0)
        query = lambda: rotate(self.query, q_turn.get_value())  # noqa: E731
        scores = lambda: np.array([self.score(query(), k) for k in keys])  # noqa: E731
        key_arrows = VGroup(*(Arrow(plane.c2p(0, 0), plane.c2p(*k), buff=0, color=KEY, stroke_width=5)
                              for k in keys))
        key_names = VGroup(*(tex(f"k_{{{j}}}", font_size=30, color=KEY).move_to(plane.c2p(*(k * 1.3)))
                             for j, k in enumerate(keys)))
        q_live = always_redraw(lambda: Arrow(plane.c2p(0, 0), plane.c2p(*query()), buff=0, color=QUERY))
        self.remove(q_arrow)
        self.add(q_live)  # the live arrow takes the fixed one's place at once: q never leaves the screen
        q_label.add_updater(lambda m: m.move_to(plane.c2p(*(query() * 1.2))))
        chart_origin = RIGHT * 1.6 + DOWN * 1.9
        weight_bars = always_redraw(lambda: self.colored(bars(softmax(scores()[None, :])[0], 4.4, 3.4, top=1.0))
                                    .move_to(chart_origin, aligned_edge=DOWN + LEFT))
        names = VGroup(*(tex(f"k_{{{j}}}", font_size=30, color=KEY) for j in range(len(keys))))
        for i, name in enumerate(names):
            name.move_to(chart_origin + RIGHT * (1.1 * i + 0.4) + DOWN * 0.3)
        _, _, definition = find_step("softmax", lambda l, r: l == "{p}_{i}" and r"\sum" in r)
        self.title(formula(sp.latex(definition.lhs) + " = " + sp.latex(definition.rhs), font_size=44))
        self.play(*(GrowArrow(a) for a in key_arrows), FadeIn(key_names), FadeIn(names), FadeIn(weight_bars),
                  run_time=1.2)
        self.say("softmax of the scores x_j = q·k_j: the key best aligned with q gets the most weight")
        self.play(q_turn.animate.set_value(TAU), run_time=7, rate_func=linear)

        # --- the scaled score q·k/√d_k: softer weights
        _, _, scaled = find_step("scaled-dot-product-attention", lambda l, r: r"\sqrt{d_{k}}" in l + r)
        weights = closed_form("scaled-dot-product-attention", "weights", n=1, m=len(keys), d_k=2, d_v=2)  # (1×4)
        frozen = weight_bars.copy().clear_updaters()
        self.remove(weight_bars)
        self.add(frozen)
        scaled_bars = self.colored(bars(weights(query()[None, :], keys)[0], 4.4, 3.4, top=1.0))
        scaled_bars.move_to(chart_origin, aligned_edge=DOWN + LEFT)
        self.title(formula(sp.latex(scaled.lhs) + " = " + sp.latex(scaled.rhs), font_size=40))
        self.say(f"attention divides the scores by √d_k (here d_k = {keys.shape[1]}): the weights soften")
        self.play(frozen.animate.set_opacity(0.25), FadeIn(scaled_bars, shift=UP * 0.2), run_time=1.5)
        self.wait(2)

    def cosine(self, k: np.ndarray) -> float:
        """cos θ = q·k / (‖q‖ ‖k‖)."""
        return self.score(self.query, k) / (self.norm(self.query) * self.norm(k))

    def readouts(self, geometric, key) -> VGroup:
        """Live θ (degrees), cos θ and q·k for the turning key, stacked on the right."""
        theta = next(iter(geometric.rhs.atoms(sp.cos))).args[0]
        reach = self.norm(self.query) * self.key_length  # |q·k| at most
        rows = readout_column([
            (tex(sp.latex(theta) + r"\ (^\circ) =", font_size=40),
             lambda: np.degrees(np.arccos(self.cosine(key()))), False, None),
            (tex(sp.latex(sp.cos(theta)) + " =", font_size=40), lambda: self.cosine(key()), True,
             lambda v: signed_color(v, 1.0)),
            (tex(sp.latex(geometric.lhs) + " =", font_size=40), lambda: self.score(self.query, key()), True,
             lambda v: signed_color(v, reach))], buff=0.5)
        rows.move_to(RIGHT * 3.6 + UP * 0.2)
        return fit(rows, 6.0)

    @staticmethod
    def colored(group: VGroup) -> VGroup:
        """Weight bars in the weight colour."""
        return group.set_fill(WEIGHT)
