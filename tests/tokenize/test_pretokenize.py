"""Pre-tokenizers against tokenizers' own, on Unicode text and on a sweep of code points."""
from __future__ import annotations

import random
import unicodedata

import pytest

from explainer.errors import UsageError
from explainer.tokenize.pretokenize import PRE_TOKENIZERS, count_words, splitter
from tests.tokenize.hf import PRE_TOKENIZERS as HF, UNICODE_LINES

TEXTS = UNICODE_LINES + ["", " ", "  a", "a  b", "a ", "▁x y", "a\nb c", "Hello, world!! (x+y)=2", "\x1c\x1dx\x1ey",
                         "x²+y½ Ⅻ ǅ ゝ ـ", "  leading and trailing  "]


@pytest.mark.parametrize("name", PRE_TOKENIZERS)
def test_same_words_as_tokenizers(name):
    ours, theirs = splitter(name), HF[name]()
    for text in TEXTS:
        assert ours(text) == [w for w, _ in theirs.pre_tokenize_str(text)], text


def test_word_character_classes_match_rust_regex_on_a_sweep_of_code_points():
    rng = random.Random(0)
    points = list(range(0x20, 0x3400)) + rng.sample(range(0x3400, 0x30000), 6000)
    chars = [chr(p) for p in points if unicodedata.category(chr(p)) not in ("Cn", "Cs", "Co")]
    text = " ".join("a" + c for c in chars)  # "a" + c is one word exactly when c is a word character
    assert splitter("whitespace")(text) == [w for w, _ in HF["whitespace"]().pre_tokenize_str(text)]


def test_count_words_keeps_first_appearance_order():
    assert count_words(["b a b", "c a"], "whitespace") == {"b": 2, "a": 2, "c": 1}
    assert list(count_words(["the cat"], "metaspace")) == ["▁the", "▁cat"]


def test_unknown_pre_tokenizer():
    with pytest.raises(UsageError, match="unknown pre-tokenizer 'bytes'"):
        splitter("bytes")
