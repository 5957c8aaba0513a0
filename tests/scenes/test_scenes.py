"""Every scene renders at a tiny size (160×90 at 5 fps, set through Manim's config, not by cutting
content) into a temporary folder; the video is opened with PyAV and checked frame by frame.
Compiled formulas are kept between runs (see ``glyph_dirs`` in conftest.py)."""
from __future__ import annotations

from datetime import timedelta

import av
import numpy as np
import pytest

from explainer import scenes
from explainer import registry
from explainer.render import render

pytest.importorskip("manim")

WIDTH, HEIGHT, FPS = 160, 90, 5
TINY = {"pixel_width": WIDTH, "pixel_height": HEIGHT, "frame_rate": FPS}
NAMED = [n for n in scenes.available() if not n.startswith(scenes.DERIVATION_PREFIX)]
DEFAULT_DERIVATIONS = ["softmax", "permutation-equivariance"]  # all of them under -m slow


@pytest.fixture(scope="session")
def manim_cache(tmp_path_factory):
    """One Manim media folder for the session (partial movies; formulas live in ``glyph_dirs``)."""
    return tmp_path_factory.mktemp("manim-cache")


@pytest.fixture(scope="session")
def tiny(glyph_dirs) -> dict:
    """Manim config for the tiny renders, with the shared formula and text caches."""
    return {**TINY, **glyph_dirs}


def frames_of(path) -> tuple[list[np.ndarray], float, tuple[int, int]]:
    """Every frame as an RGB array, the stream's duration in seconds and its (width, height)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return frames, float(stream.duration * stream.time_base), (stream.width, stream.height)


def check_video(path, longest: float | None = 60) -> None:
    frames, duration, size = frames_of(path)
    assert size == (WIDTH, HEIGHT)
    assert 10 <= duration <= (longest or duration), f"{path.name}: {duration:.1f} s of video"
    assert abs(len(frames) - duration * FPS) <= 2
    last = frames[-1].astype(float)
    assert last.std() > 8, "the last frame is blank"
    assert not np.array_equal(frames[0], frames[len(frames) // 2]), "nothing moves"


@pytest.mark.parametrize("name", NAMED)
def test_scene_renders(name, tmp_path, manim_cache, tiny):
    path = render(name, output=tmp_path, cache_dir=manim_cache, caching=False, overrides=tiny)
    assert path == tmp_path / f"{name}.mp4"
    check_video(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, f"{name}.srt"]  # no partial or probe files
    check_reading_time(path)


def check_reading_time(path) -> None:
    """Beside the video, its captions as subtitles, each on screen at least its reading time: max(2 s,
    0.3 s a word), written out here from the rule (to the frame: 1/FPS)."""
    import srt

    cues = list(srt.parse(path.with_suffix(".srt").read_text(encoding="utf-8")))
    assert cues, "no subtitles"
    for cue in cues:
        needed = max(2.0, 0.3 * len(cue.content.split()))
        shown = (cue.end - cue.start).total_seconds()
        assert shown >= needed - 1 / FPS, f"{path.name}: {cue.content!r} on screen {shown:.2f} s, needs {needed:.1f} s"


def check_derivation_video(name: str, path) -> None:
    """The video lasts at least the reading time of all its captions; beside it, subtitles with one cue
    per step (and the summary), in order, each with its caption, and a chapter per cue."""
    import srt

    steps = registry.build(name).all_steps()
    check_video(path, longest=None)
    check_reading_time(path)
    subtitles = list(srt.parse(path.with_suffix(".srt").read_text(encoding="utf-8")))
    assert [s.content for s in subtitles[1:]] == [step.why for _, _, step in steps]
    assert all(a.end <= b.start + timedelta(milliseconds=1) for a, b in zip(subtitles, subtitles[1:]))
    _, duration, _ = frames_of(path)
    reading = sum(max(2.0, 0.3 * len(s.content.split())) for s in subtitles)
    assert duration >= reading
    chapters = path.with_suffix(".chapters.vtt").read_text(encoding="utf-8")
    assert chapters.startswith("WEBVTT") and chapters.count(" --> ") == len(subtitles)


@pytest.mark.parametrize("name", DEFAULT_DERIVATIONS)
def test_derivation_scene_renders(name, tmp_path, manim_cache, tiny):
    check_derivation_video(name, render(f"derivation:{name}", output=tmp_path, cache_dir=manim_cache,
                                        caching=False, overrides=tiny))


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in registry.entries()])
def test_every_derivation_scene_renders(name, tmp_path, manim_cache, tiny):
    check_derivation_video(name, render(f"derivation:{name}", output=tmp_path, cache_dir=manim_cache,
                                        caching=False, overrides=tiny))
