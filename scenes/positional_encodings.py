"""Sinusoidal positional encodings: waves per dimension pair, the PE table, the rotation view.

Every value is the ``positional-encoding`` closed form ``PE(pos, j)`` lambdified with numpy; the
formulas are the LaTeX of its steps.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from manim import (DOWN, GREY_B, LEFT, RIGHT, UP, Arc, Axes, Circle, Create, DashedLine, Dot, FadeIn, FadeOut,
                   LaggedStart, Line, SurroundingRectangle, VGroup)

from explainer.scenes.helpers import (ExplainerScene, caption, closed_form, find_step, first_share, formula, heatmap,
                            last_share, signed, subscript, tex)
from explainer.scenes.palette import COSINE as COS_COLOR
from explainer.scenes.palette import POSITION
from explainer.scenes.palette import SINE as SIN_COLOR


class PositionalEncodingWaves(ExplainerScene):
    """sin/cos of pos·ωᵢ for three pairs, the PE heatmap column by column, one pair turning on a circle."""

    d_model = 16
    pairs = (0, 1, 2)        # dimension pairs i shown as waves (dimensions 2i and 2i + 1)
    positions = 20           # positions 0 … positions − 1 on the wave plots
    table_positions = 10     # rows of the heatmap
    circle_pair = 1          # the pair shown turning on the circle
    circle_steps = 8

    def construct(self) -> None:
        self.pe = closed_form("positional-encoding", "pe", d_model=self.d_model)  # (pos, j) -> value

        # --- the waves: one row per dimension pair
        _, _, sine = find_step("positional-encoding", lambda l, r: r"\sin" in r and l.startswith(r"\operatorname{PE}"))
        _, _, cosine = find_step("positional-encoding", lambda l, r: r"\cos" in r and l.startswith(r"\operatorname{PE}"))
        _, _, omega = find_step("positional-encoding", lambda l, r: l == r"{\omega}_{i}" and "10000" in r)
        self.omega = {i: float(omega.rhs.subs({s: {"i": i, "d": self.d_model}[s.name] for s in omega.rhs.free_symbols}))
                      for i in self.pairs}  # ω_i = 10000^(−2i/d) at d = d_model
        self.title(VGroup(VGroup(formula(sp.latex(sine.lhs) + " = " + sp.latex(sine.rhs), font_size=32, color=SIN_COLOR),
                                 formula(sp.latex(cosine.lhs) + " = " + sp.latex(cosine.rhs), font_size=32,
                                         color=COS_COLOR)).arrange(RIGHT, buff=0.8),
                          formula(sp.latex(omega.lhs) + " = " + sp.latex(omega.rhs) + rf",\quad d = {self.d_model}",
                                  font_size=32)).arrange(DOWN, buff=0.12))
        waves = VGroup(*(self.wave_row(i, last=i == self.pairs[-1]) for i in self.pairs)).arrange(DOWN, buff=0.28)
        for row in waves:  # every row's pos = 0 at one x, whatever its labels
            row.shift(RIGHT * (-4.75 - row[0].c2p(0, 0)[0]))
        waves.shift(DOWN * (0.3 + waves.get_y()))
        legend = self.legend().next_to(waves, UP, buff=0.12).align_to(waves[0][0], RIGHT)
        self.say(f"each pair of dimensions i is a sine (dimension 2i) and a cosine (2i + 1) of pos·ωᵢ; "
                 f"higher pairs turn slower (d = {self.d_model})")
        self.play(FadeIn(legend), run_time=0.6)
        for row in waves:
            self.play(Create(row[0]), FadeIn(row[1]), Create(row[2]), Create(row[3]), run_time=1.4)
            self.play(LaggedStart(*(FadeIn(dot) for dot in row[4]), lag_ratio=0.05), run_time=1.0)
        self.wait(3)
        self.play(FadeOut(waves, legend), run_time=0.6)

        # --- the table: positions × dimensions, one column at a time
        table = self.table()
        self.title("the encoding table: row = position, column = dimension")
        self.say("each column is one wave read at the integer positions: column 2i the sine of pair i, "
                 "column 2i + 1 its cosine")
        self.play(FadeIn(table[1]), FadeIn(table[2]), run_time=0.6)
        columns = [VGroup(*(row[c] for row in table[0])) for c in range(self.d_model)]
        self.play(LaggedStart(*(FadeIn(col, shift=DOWN * 0.1) for col in columns), lag_ratio=0.3), run_time=5)
        self.wait(1)
        links = self.wave_links(table, columns)
        self.say(f"the three waves above are columns 0 … {2 * self.pairs[-1] + 1}: the fast pairs on the left, "
                 "the slow ones (almost constant down a column) on the right")
        self.play(LaggedStart(*(FadeIn(link) for link in links), lag_ratio=0.3), run_time=1.5)
        self.wait(3.5)
        self.play(FadeOut(table, links), run_time=0.6)

        # --- the rotation view: one pair as a point on the unit circle
        self.rotation()

    def wave_row(self, pair: int, last: bool = False) -> VGroup:
        """Axes (−1 … 1 marked; the ``last`` row also numbers the positions and names its axis ``pos``),
        the pair's name and ω, sin and cos curves of ``pair`` and a dot per integer position."""
        axes = Axes(x_range=(0, self.positions - 1, 1), y_range=(-1, 1, 1), x_length=10.5, y_length=1.2,
                    tips=False, axis_config={"stroke_opacity": 0.6, "include_ticks": False},
                    y_axis_config={"include_numbers": True, "numbers_to_include": (-1, 1), "font_size": 18},
                    x_axis_config={"include_ticks": last, "font_size": 18,
                                   "numbers_to_include": range(0, self.positions, 5) if last else ()})
        if last:
            axes.add(tex("pos", font_size=26, color=POSITION).next_to(axes.x_axis, RIGHT, buff=0.15))
        even, odd = 2 * pair, 2 * pair + 1
        label = VGroup(tex(f"i = {pair}", font_size=28),
                       tex(rf"\omega_{{{pair}}} = {self.omega[pair]:.3g}", font_size=22))
        label.arrange(DOWN, aligned_edge=LEFT, buff=0.08).next_to(axes, LEFT, buff=0.35)
        sin_curve = axes.plot(lambda x: self.pe(x, even), color=SIN_COLOR)
        cos_curve = axes.plot(lambda x: self.pe(x, odd), color=COS_COLOR)
        dots = VGroup(*(Dot(axes.c2p(p, self.pe(p, j)), radius=0.045, color=color)
                        for p in range(self.positions) for j, color in ((even, SIN_COLOR), (odd, COS_COLOR))))
        return VGroup(axes, label, sin_curve, cos_curve, dots)

    def legend(self) -> VGroup:
        """Which curve is which: the sine in dimension 2i, the cosine in 2i + 1."""
        return VGroup(*(VGroup(Line(LEFT * 0.25, RIGHT * 0.25, color=color, stroke_width=4),
                               tex(text, font_size=24, color=color)).arrange(RIGHT, buff=0.12)
                        for color, text in ((SIN_COLOR, r"\sin:\ \text{dimension } 2i"),
                                            (COS_COLOR, r"\cos:\ \text{dimension } 2i + 1"))
                        )).arrange(RIGHT, buff=0.5)

    def wave_links(self, table: VGroup, columns: list) -> VGroup:
        """A frame in the sine or cosine colour around each column of the pairs shown as waves, with the
        pair's name over each two."""
        links = VGroup()
        for i in self.pairs:
            frames = [SurroundingRectangle(VGroup(columns[c], table[2][c]), color=color, buff=0.02, stroke_width=3)
                      for c, color in ((2 * i, SIN_COLOR), (2 * i + 1, COS_COLOR))]
            links.add(VGroup(*frames, tex(f"i = {i}", font_size=22).next_to(VGroup(*frames), UP, buff=0.06)))
        return links

    def table(self) -> VGroup:
        """The heatmap of PE values with position labels (rows) and dimension labels (columns)."""
        pos, dim = np.meshgrid(np.arange(self.table_positions), np.arange(self.d_model), indexing="ij")
        values = self.pe(pos, dim) * np.ones_like(pos)  # (positions, d_model)
        grid = heatmap(values, cell=(0.7, 0.45), scale=1.0, digits=2, font_size=16, color=POSITION)
        grid.move_to(DOWN * 0.35)
        rows = VGroup(*(caption(str(p), font_size=16, color=POSITION).next_to(grid[p][0], LEFT, buff=0.15)
                        for p in range(self.table_positions)))
        cols = VGroup(*(caption(str(j), font_size=16, color=SIN_COLOR if j % 2 == 0 else COS_COLOR)
                        .next_to(grid[0][j], UP, buff=0.12) for j in range(self.d_model)))
        return VGroup(grid, rows, cols)

    def rotation(self) -> None:
        """Points (PE(pos, 2i), PE(pos, 2i + 1)) for pos = 0, 1, …: the same turn every step."""
        i = self.circle_pair
        _, _, circle_step = find_step("positional-encoding", lambda l, r: l.startswith(r"\operatorname{PE}^{2}"))
        self.title(formula(sp.latex(circle_step.lhs) + " = " + sp.latex(circle_step.rhs), font_size=36))
        center = LEFT * 2.6 + DOWN * 0.3
        radius = 2.3
        circle = Circle(radius=radius, color=GREY_B, stroke_opacity=0.6).move_to(center)
        axes = VGroup(DashedLine(center + LEFT * 2.6, center + RIGHT * 2.6, stroke_opacity=0.4),
                      DashedLine(center + DOWN * 2.6, center + UP * 2.6, stroke_opacity=0.4))
        x_label = tex(f"\\operatorname{{PE}}(pos, {2 * i})", font_size=26).next_to(axes[0], RIGHT, buff=0.1)
        y_label = tex(f"\\operatorname{{PE}}(pos, {2 * i + 1})", font_size=26).next_to(axes[1], UP, buff=0.1)
        self.say("one pair of dimensions: every step of position turns the point by the same angle")
        self.play(Create(circle), FadeIn(axes, x_label, y_label), run_time=1)
        point = lambda p: center + radius * np.array([self.pe(p, 2 * i), self.pe(p, 2 * i + 1), 0.0])  # noqa: E731
        readout = None
        for p in range(self.circle_steps):
            dot = Dot(point(p), color=POSITION, radius=0.08)
            spoke = Line(center, point(p), color=POSITION, stroke_width=2)
            text = VGroup(caption(f"pos = {p}", font_size=26),
                          caption(f"PE = ({signed(self.pe(p, 2 * i), 3, sign=True)}, "
                                  f"{signed(self.pe(p, 2 * i + 1), 3, sign=True)})", font_size=24))
            text.arrange(DOWN, aligned_edge=LEFT).move_to(RIGHT * 3.8 + UP * 0.6)
            animations = [FadeIn(dot, scale=0.5), Create(spoke)]
            if readout is None:
                animations.append(FadeIn(text))
            else:  # the old read-out out, then the new one in
                animations += [FadeOut(readout, rate_func=first_share(0.45)), FadeIn(text, rate_func=last_share(0.45))]
            if p:
                a0, a1 = _angle(point(p - 1) - center), _angle(point(p) - center)
                animations.append(Create(Arc(radius=radius * 0.35, start_angle=a0, angle=_wrap(a1 - a0),
                                             arc_center=center, color=POSITION)))
            self.play(*animations, run_time=0.7)
            readout = text
        turn = abs(_wrap(_angle(point(1) - center) - _angle(point(0) - center)))
        self.say(f"every step turns by ω{subscript(i)} = {turn:.3f} rad ({np.degrees(turn):.1f}°): "
                 f"PE(pos + k) is PE(pos) turned by k·ω{subscript(i)}, whatever pos is")
        self.wait(2.5)


def _angle(v: np.ndarray) -> float:
    """The direction of the 2-D vector ``v`` in radians."""
    return float(np.arctan2(v[1], v[0]))


def _wrap(angle: float) -> float:
    """``angle`` in (−π, π]."""
    return float((angle + np.pi) % (2 * np.pi) - np.pi)

