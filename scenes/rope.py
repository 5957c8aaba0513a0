"""RoPE as rotation: a query and a key pair turning with their positions, the score staying put when both
move by the same offset.

The rotated pairs come from the ``rotary-positional-encoding`` closed form (interleaved layout, d = 2,
base 10000, so the pair turns by one radian per position); the title is the LaTeX of its result.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, LEFT, RIGHT, Arc, Arrow, Create, FadeIn, FadeOut, NumberPlane, ValueTracker, VGroup,
                   always_redraw, linear)

from explainer.scenes.helpers import (ExplainerScene, closed_form, derivation, fit, formula, readout_column,
                                     tex)
from explainer.scenes.palette import KEY, POSITION, QUERY, SCORE

NAME = "rotary-positional-encoding"


class RopeRotation(ExplainerScene):
    """q turns by m·θ, k by n·θ; the score q·k follows n − m only: moving both by t changes nothing."""

    query = np.array([1.6, 0.4])    # one pair (x_0, x_1) of a query, before rotation
    key = np.array([1.1, 1.0])      # and of a key
    start = (0.0, 2.0)              # positions (m, n) at the start
    shift = 3.0                     # both positions move by this much at the end

    def construct(self) -> None:
        rotate = closed_form(NAME, "interleaved", d=2, base=10000)   # (x (1×2), pos) -> x turned by pos·θ₀
        self.turned = lambda v, pos: rotate(v[None, :], pos)[0]
        m, n = ValueTracker(self.start[0]), ValueTracker(self.start[1])
        q_at = lambda: self.turned(self.query, m.get_value())  # noqa: E731
        k_at = lambda: self.turned(self.key, n.get_value())  # noqa: E731
        score = lambda: float(q_at() @ k_at())  # noqa: E731

        result = derivation(NAME).result
        self.title(formula(sp.latex(result.lhs) + " = " + sp.latex(result.rhs), font_size=40))
        plane = NumberPlane(x_range=(-2.2, 2.2), y_range=(-2.2, 2.2), x_length=5.6, y_length=5.6,
                            background_line_style={"stroke_opacity": 0.3}).shift(LEFT * 3.4 + DOWN * 0.3)
        origin = plane.c2p(0, 0)
        q_arrow = always_redraw(lambda: Arrow(origin, plane.c2p(*q_at()), buff=0, color=QUERY))
        k_arrow = always_redraw(lambda: Arrow(origin, plane.c2p(*k_at()), buff=0, color=KEY))
        gap = always_redraw(lambda: self.angle_arc(plane, q_at(), k_at()))
        q_name = tex(r"\mathbf{q}", font_size=34, color=QUERY)
        k_name = tex(r"\mathbf{k}", font_size=34, color=KEY)
        q_name.add_updater(lambda mob: mob.move_to(plane.c2p(*(q_at() * 1.22))))
        k_name.add_updater(lambda mob: mob.move_to(plane.c2p(*(k_at() * 1.22))))
        readouts = self.readouts(m, n, score)

        # --- the query turns with its position
        self.play(Create(plane), run_time=0.8)
        self.add(q_arrow, q_name)
        self.play(FadeIn(readouts[0]), run_time=0.6)
        self.say("one pair of a query's coordinates, at position m: RoPE turns it by the angle m·θ")
        self.play(m.animate.set_value(self.start[0] + 1.5), run_time=3, rate_func=linear)
        self.wait(1)

        # --- the key turns with its own position; the score depends on the angle between them
        self.add(k_arrow, k_name, gap)
        self.play(FadeIn(readouts[1:]), run_time=0.6)
        self.say("the key at position n turns by n·θ; their score is the dot product of the turned pairs")
        self.play(n.animate.set_value(self.start[1] + 2.0), run_time=3, rate_func=linear)
        self.wait(1.5)

        # --- both move by the same offset: the angle between them, and the score, stay put
        self.say(f"move both tokens {self.shift:g} places on: both turn by the same angle, the gap between "
                 "them stays, and so does the score")
        self.play(m.animate.increment_value(self.shift), n.animate.increment_value(self.shift), run_time=4,
                  rate_func=linear)
        self.wait(2.5)
        self.say("only the offset n − m decides the score (proved for any base and width)")
        self.play(FadeOut(gap), run_time=0.4)
        self.remove(gap)
        self.wait(3.5)

    @staticmethod
    def angle_arc(plane, a: np.ndarray, b: np.ndarray) -> Arc:
        """The arc from direction ``a`` to direction ``b`` (the angle (n − m)·θ between the pairs)."""
        start = float(np.arctan2(a[1], a[0]))
        sweep = float((np.arctan2(b[1], b[0]) - start + np.pi) % (2 * np.pi) - np.pi)
        radius = 0.35 * plane.x_length / 4.4 * 2
        return Arc(radius=radius, start_angle=start, angle=sweep, arc_center=plane.c2p(0, 0), color=SCORE)

    def readouts(self, m: ValueTracker, n: ValueTracker, score) -> VGroup:
        """Live m, n, n − m and the score q·k, stacked on the right."""
        shown = ((r"m", m.get_value, POSITION), (r"n", n.get_value, POSITION),
                 (r"n - m", lambda: n.get_value() - m.get_value(), POSITION),
                 (r"\mathbf{q}\cdot\mathbf{k}", score, SCORE))
        rows = readout_column([(tex(text + " =", font_size=40, color=color), value, True, None)
                               for text, value, color in shown], buff=0.45)
        rows.move_to(RIGHT * 3.4 + DOWN * 0.2)
        return fit(rows, 5.0)
