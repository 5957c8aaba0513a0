"""The online-softmax scene's numbers: after each tile the streamed (m, ℓ, o) is attention over the keys so far."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("manim")

from explainer.scenes.online_softmax import OnlineSoftmax, full_softmax, states  # noqa: E402


def test_each_state_is_softmax_attention_over_the_keys_seen():
    s, v, tile = OnlineSoftmax.scores, OnlineSoftmax.values, OnlineSoftmax.tile
    track = states(s, v, tile)
    assert len(track) == len(s) // tile
    for t, (m, ell, o) in enumerate(track, 1):
        seen = slice(0, t * tile)
        assert m == s[seen].max()
        assert ell == pytest.approx(np.exp(s[seen] - m).sum(), rel=1e-14)
        assert o == pytest.approx(full_softmax(s[seen], v[seen]), rel=1e-14)
    assert track[-1][2] == pytest.approx(float(np.exp(s) @ v / np.exp(s).sum()), rel=1e-14)


def test_the_scene_shows_the_max_rising_and_staying():
    track = states(OnlineSoftmax.scores, OnlineSoftmax.values, OnlineSoftmax.tile)
    maxima = [m for m, _, _ in track]
    assert any(b > a for a, b in zip(maxima, maxima[1:])) and any(b == a for a, b in zip(maxima, maxima[1:]))
