"""Offline narration: a caption turned into words a speech engine reads well, spoken by espeak-ng.

espeak-ng (Debian package ``espeak-ng``) writes a WAV file; Manim's ``add_sound`` mixes it into the
video. Math in captions is written with Unicode symbols (``xⱼ − m ≤ 0``) which espeak-ng reads as
character names or skips, so :func:`speakable` spells them out first.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import wave
from pathlib import Path

WORDS_PER_MINUTE = 165
SPOKEN = {"−": " minus ", "+": " plus ", "=": " equals ", "≈": " is about ", "≤": " is at most ",
          "≥": " is at least ", "<": " is less than ", ">": " is greater than ", "≠": " is not ", "·": " times ",
          "×": " by ", "√": " square root of ", "Σ": " sum of ", "∑": " sum of ", "→": " to ", "∞": " infinity ",
          "ᵀ": " transpose ", "²": " squared ", "∂": " partial ", "‖": " norm ", "/": " over ", "∈": " in ",
          "θ": " theta ", "ω": " omega ", "δ": " delta ", "ε": " epsilon ", "σ": " sigma ", "π": " pi ",
          "μ": " mu ", "α": " alpha ", "β": " beta ", "γ": " gamma ", "λ": " lambda ", "…": ", ",
          "ⱼ": " j ", "ᵢ": " i ", "ₖ": " k ", "ₗ": " l ", "ₙ": " n ", "ₘ": " m ", "ₜ": " t ", "_": " "}
SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def speakable(text: str) -> str:
    """``text`` with its math symbols spelt out (``xⱼ − m ≤ 0`` → ``x j minus m is at most 0``)."""
    text = text.translate(SUBSCRIPT_DIGITS)
    for symbol, words in SPOKEN.items():
        text = text.replace(symbol, words)
    return re.sub(r"\s+", " ", text).strip()


def speak(text: str, folder: Path) -> tuple[Path, float]:
    """``(WAV file, seconds)`` of ``text`` spoken by espeak-ng, made once per text in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    words = speakable(text)
    path = folder / (hashlib.sha256(f"{WORDS_PER_MINUTE}\0{words}".encode()).hexdigest()[:20] + ".wav")
    if not path.is_file():
        partial = path.with_suffix(".partial.wav")
        subprocess.run([shutil.which("espeak-ng") or "espeak-ng", "-s", str(WORDS_PER_MINUTE), "-w", str(partial),
                        words], check=True, capture_output=True)
        partial.replace(path)
    with wave.open(str(path)) as audio:
        return path, audio.getnframes() / audio.getframerate()
