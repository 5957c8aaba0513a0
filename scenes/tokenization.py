"""Byte-pair encoding: a word split into characters, merged pair by pair as the vocabulary grows.

Every merge, count and vocabulary size is what :func:`explainer.tokenize.bpe.train` learned on the
built-in corpus; nothing is typed in.
"""
from __future__ import annotations

from manim import (DOWN, GREY_B, RIGHT, UP, FadeIn, FadeOut, ReplacementTransform, RoundedRectangle,
                   SurroundingRectangle, Text, VGroup)

from explainer.tokenize import bpe, corpus
from explainer.scenes.helpers import FONT, ExplainerScene, caption, first_share, last_share, lighten
from explainer.scenes.palette import HIGHLIGHT, TOKEN, ramp

PIECE_COLORS = (TOKEN, ramp(TOKEN, 0.25))  # neighbours alternate two shades of the token colour


class BpeMerges(ExplainerScene):
    """The word ``word`` from characters to tokens, one learned merge at a time."""

    word = "tokens"
    vocab_size = 160

    def construct(self) -> None:
        trace = bpe.train(corpus.builtin_lines(), vocab_size=self.vocab_size)
        steps = trace.word_steps(self.word)

        # --- the starting split: characters, and the starting vocabulary
        self.title("byte-pair encoding: merge the most frequent pair, again and again")
        pieces = self.pieces(steps[0][1]).move_to(UP * 0.6)
        vocab = self.vocab_label(trace.initial_size, "starting vocabulary: every character of the corpus")
        self.say(f"'{self.word}' starts as {len(steps[0][1])} characters (▁ marks the start of a word)")
        self.play(FadeIn(pieces, lag_ratio=0.15), FadeIn(vocab), run_time=1.5)
        self.wait(1)

        # --- each merge that touches the word
        for merge, after in steps[1:]:
            left = _pair_index(self.current(pieces), merge.left, merge.right)
            pair = VGroup(pieces[left], pieces[left + 1])
            box = SurroundingRectangle(pair, color=HIGHLIGHT, buff=0.08)
            self.say(f"merge #{trace.merges.index(merge) + 1}: '{merge.left}' + '{merge.right}' → '{merge.token}', "
                     f"side by side {merge.count} times in the corpus")
            self.play(FadeIn(box), run_time=0.6)
            new_pieces = self.pieces(after).move_to(UP * 0.6)
            new_vocab = self.vocab_label(merge.vocab_size, _merges(trace.merges.index(merge) + 1))
            self.play(ReplacementTransform(pieces, new_pieces), FadeOut(box), *_swap(vocab, new_vocab), run_time=1.2)
            pieces, vocab = new_pieces, new_vocab
            self.wait(0.8)

        # --- the result: the later merges leave the word as it is
        final = steps[-1][1]
        new_vocab = self.vocab_label(len(trace.vocab), f"vocabulary after all {len(trace.merges)} merges")
        self.say(f"the other merges do not touch '{self.word}': it ends as {len(final)} "
                 f"token{'s' if len(final) != 1 else ''}: {' | '.join(final)}")
        self.play(*_swap(vocab, new_vocab), run_time=1.0)
        self.wait(2.5)

    @staticmethod
    def pieces(tokens: tuple[str, ...]) -> VGroup:
        """One rounded box per token with its text, side by side, every letter on one baseline.

        The tokens are set as one line (Manim's Text keeps a glyph per non-space character) and cut
        into tokens, so a "k" sits as high as an "o" whatever box it is in.
        """
        assert not any(c.isspace() for token in tokens for c in token), tokens
        line = lighten(Text(" ".join(tokens), font=FONT, font_size=40))
        boxes, start = VGroup(), 0
        for k, token in enumerate(tokens):
            glyphs = VGroup(*line.submobjects[start:start + len(token)])
            start += len(token)
            frame = RoundedRectangle(corner_radius=0.12, width=max(glyphs.width + 0.4, 0.8), height=1.0,
                                     stroke_color=GREY_B, fill_color=PIECE_COLORS[k % len(PIECE_COLORS)],
                                     fill_opacity=0.35)
            frame.move_to([glyphs.get_x(), line.get_y(), 0])
            boxes.add(VGroup(frame, glyphs))
            boxes[-1].token = token
        return boxes.arrange(RIGHT, buff=0.15)

    @staticmethod
    def current(pieces: VGroup) -> list[str]:
        return [p.token for p in pieces]

    @staticmethod
    def vocab_label(size: int, why: str) -> VGroup:
        return VGroup(caption(f"vocabulary size {size}", font_size=30), caption(why, font_size=22, color=GREY_B)) \
            .arrange(DOWN, buff=0.15).move_to(DOWN * 1.6)


def _pair_index(tokens: list[str], left: str, right: str) -> int:
    """Where ``left, right`` first stand side by side in ``tokens``."""
    return next(k for k in range(len(tokens) - 1) if tokens[k] == left and tokens[k + 1] == right)


def _swap(old, new) -> list:
    """Fade ``old`` out, then ``new`` in."""
    return [FadeOut(old, rate_func=first_share(0.45)), FadeIn(new, rate_func=last_share(0.45))]


def _merges(count: int) -> str:
    return f"vocabulary after {count} merge{'s' if count != 1 else ''}"
