"""Fixtures of the scene tests: where Manim keeps compiled formulas and rendered text between runs."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def glyph_dirs(request, tmp_path_factory) -> dict[str, str]:
    """Manim's ``tex_dir`` and ``text_dir`` in pytest's cache folder (``.pytest_cache``), so LaTeX and
    dvisvgm compile a formula once, not once per test run (about a quarter of the scene tests' time).

    Manim names each file by a hash of its whole source (formula with the TeX template, or text with
    its font and size), so a changed formula never meets a stale file; what a test renders and checks
    is the same. With the cache plugin off (``-p no:cacheprovider``) the folder lasts one session.
    """
    cache = getattr(request.config, "cache", None)
    root = cache.mkdir("manim-glyphs") if cache is not None else tmp_path_factory.mktemp("manim-glyphs")
    return {"tex_dir": str(root / "Tex"), "text_dir": str(root / "texts")}
