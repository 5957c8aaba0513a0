"""Cross-entropy: the −log p curve, the loss at the true token, and the gradient bars p − y.

Loss and gradient are the ``cross-entropy`` closed forms; the curve is the same loss for two logits
(log p, log(1 − p)), whose softmax is (p, 1 − p); probabilities come from the ``softmax`` closed form.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, LEFT, RIGHT, UP, Axes, Create, DashedLine, Dot, FadeIn, FadeOut, Rectangle, Transform,
                   VGroup)

from explainer.scenes.helpers import (ExplainerScene, bars, caption, closed_form, find_step, first_share, formula,
                                      last_share)
from explainer.scenes.palette import NEGATIVE, POSITIVE, TARGET, WEIGHT

LOSS_COLOR = "#e07a5f"


class CrossEntropy(ExplainerScene):
    """The loss curve, a five-word prediction with its loss, gradient bars, and a few descent steps."""

    vocabulary = ("cat", "dog", "sat", "mat", "the")
    logits = (1.0, 2.0, 0.5, -0.5, 0.0)
    target = 0            # the true next token: "cat"
    learning_rate = 1.0
    descent_steps = 3

    def construct(self) -> None:
        V = len(self.vocabulary)
        loss = closed_form("cross-entropy", "loss", V=V)      # (z (1×V), y (1×V)) -> scalar
        grad = closed_form("cross-entropy", "grad", V=V)      # (z, y) -> (1×V) = softmax(z) − y
        softmax = closed_form("softmax", "softmax", n=V)
        pair_loss = closed_form("cross-entropy", "loss", V=2)
        curve_loss = lambda p: float(pair_loss(np.log([[p, 1 - p]]), np.array([[1.0, 0.0]])))  # noqa: E731 −log p
        y = np.eye(V)[None, self.target]                       # (1, V) one-hot
        z = np.array([self.logits])                            # (1, V)

        # --- the curve −log p
        _, _, definition = find_step("cross-entropy", lambda l, r: l == r"\mathrm{CE}" and r.startswith(r"- \log"))
        self.title(formula(sp.latex(definition.lhs) + " = " + sp.latex(definition.rhs), font_size=40))
        axes = Axes(x_range=(0, 1, 0.25), y_range=(0, 4, 1), x_length=5, y_length=4, tips=False,
                    axis_config={"include_numbers": True, "font_size": 20}).to_edge(LEFT, buff=0.9).shift(DOWN * 0.3)
        x_label = VGroup(caption("p of the true token", font_size=18).next_to(axes, DOWN, buff=0.15),
                         caption("loss", font_size=18).next_to(axes.y_axis, UP, buff=0.1))
        curve = axes.plot(curve_loss, x_range=(np.exp(-4), 1 - 1e-9), color=LOSS_COLOR)
        self.say("loss = −log p(true token): 0 when sure and right, huge when sure and wrong")
        self.play(Create(axes), FadeIn(x_label), run_time=1)
        self.play(Create(curve), run_time=1.5)

        # --- one prediction: probabilities, the true token, its loss on the curve
        p = softmax(z)[0]
        chart = self.chart(p, "probabilities softmax(z)")
        marker = self.marker(axes, p[self.target], float(loss(z, y)))
        self.say(f"the true next token is '{self.vocabulary[self.target]}': p = {p[self.target]:.3f}, "
                 f"loss = {float(loss(z, y)):.3f}")
        self.play(FadeIn(chart), FadeIn(marker), run_time=1.2)
        self.wait(1.5)

        # --- the gradient p − y
        g = grad(z, y)[0]
        grad_bars = self.gradient_bars(g, chart)
        self.say("gradient of the loss in the logits: p − y, negative for the true token, positive for the others")
        self.play(FadeIn(grad_bars), run_time=1.2)
        self.wait(2.4)
        self.say("descent goes against it: z ← z − η(p − y) raises the true token, lowers the others")
        self.wait(3)

        # --- a few steps of gradient descent on the logits
        for step in range(1, self.descent_steps + 1):
            z = z - self.learning_rate * grad(z, y)
            p, g = softmax(z)[0], grad(z, y)[0]
            value = float(loss(z, y))
            self.say(f"step {step}: z ← z − {self.learning_rate:g}·(p − y); p = {p[self.target]:.3f}, loss = {value:.3f}")
            new_grad, new_marker = self.gradient_bars(g, chart), self.marker(axes, p[self.target], value)
            self.play(Transform(chart, self.chart(p, "probabilities softmax(z)")),
                      Transform(marker[0], new_marker[0]),  # the dot slides; its number is swapped, not morphed
                      FadeOut(marker[1], rate_func=first_share(0.45)), FadeIn(new_marker[1], rate_func=last_share(0.45)),
                      Transform(grad_bars, new_grad), run_time=1.2)
            marker = VGroup(marker[0], new_marker[1])
            self.wait(2.4)
        self.wait(1.5)

    def chart(self, p: np.ndarray, title: str) -> VGroup:
        """Probability bars with the vocabulary under them, the true token highlighted."""
        columns = bars(p, width=5.0, height=1.9, top=1.0)
        for k, bar in enumerate(columns):
            bar.set_fill(TARGET if k == self.target else WEIGHT)
        words = VGroup(*(caption(w, font_size=18).next_to(bar, DOWN, buff=0.1) for w, bar in zip(self.vocabulary, columns)))
        words.align_to(columns, DOWN).shift(DOWN * 0.3)
        head = caption(title, font_size=20).move_to(columns.get_corner(DOWN + LEFT) + UP * 2.0, aligned_edge=LEFT)
        group = VGroup(columns, words, head)
        return group.shift(RIGHT * 1.2 + DOWN * 0.1 - columns.get_corner(DOWN + LEFT))  # bars' baseline fixed

    def gradient_bars(self, g: np.ndarray, chart: VGroup, zero_y: float = -1.75) -> VGroup:
        """``VGroup(bars, zero line, label)``: signed bars of p − y around a zero line at ``zero_y``
        (up for positive, down for negative), each under its word's probability bar in ``chart``,
        the label above the zero line on the left."""
        step, unit = 1.0, 1.0  # bar spacing (as in bars(width=5.0) for five words); height per unit
        group = VGroup()
        for k, v in enumerate(g):
            bar = Rectangle(width=0.7 * step, height=max(abs(v) * unit, 1e-3), stroke_width=0, fill_opacity=0.9,
                            fill_color=POSITIVE if v > 0 else NEGATIVE)
            bar.move_to(RIGHT * k * step, aligned_edge=DOWN if v > 0 else UP)
            group.add(bar)
        zero = DashedLine(LEFT * 0.5 * step, RIGHT * (len(g) - 0.5) * step, stroke_opacity=0.6)  # y = 0
        label = caption("gradient p − y", font_size=20).move_to(zero.get_left() + UP * 0.75 * unit, aligned_edge=LEFT)
        first = chart[0][0].get_center()  # the first probability bar
        return VGroup(group, zero, label).shift(RIGHT * (first[0] - 0.5 * step - zero.get_left()[0])
                                                + UP * (zero_y - zero.get_left()[1]))

    @staticmethod
    def marker(axes: Axes, p: float, value: float) -> VGroup:
        dot = Dot(axes.c2p(p, value), color=TARGET)
        text = caption(f"{value:.3f}", font_size=20, color=TARGET).next_to(dot, UP + RIGHT, buff=0.1)
        return VGroup(dot, text)
