"""Helpers for the tokenize tests: the same settings in Hugging Face ``tokenizers`` (the oracle), and corpora."""
from __future__ import annotations

import json
import random

import pytest

tokenizers = pytest.importorskip("tokenizers", reason="the oracle is Hugging Face tokenizers ([dev] extra)")
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

PRE_TOKENIZERS = {
    "metaspace": lambda: pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
    "whitespace": pre_tokenizers.Whitespace,
    "whitespace-split": pre_tokenizers.WhitespaceSplit,
}


def hf_train(algorithm: str, lines, vocab_size: int, pre_tokenizer: str, special_tokens=()) -> Tokenizer:
    """``tokenizers`` trained on ``lines`` with its BpeTrainer or WordPieceTrainer."""
    if algorithm == "bpe":
        tok = Tokenizer(models.BPE(unk_token="[UNK]" if "[UNK]" in special_tokens else None))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=list(special_tokens))
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, show_progress=False,
                                            special_tokens=list(special_tokens))
    tok.pre_tokenizer = PRE_TOKENIZERS[pre_tokenizer]()
    if pre_tokenizer == "metaspace":
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(lines, trainer)
    return tok


def hf_merges(tok: Tokenizer) -> list[tuple[str, str]]:
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


def continuation_order(tok: Tokenizer, prefix: str = "##") -> list[str]:
    """The characters of the single-character ``##`` forms in the id order this run gave them."""
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    return [t[len(prefix):] for t, _ in vocab if t.startswith(prefix) and len(t) == len(prefix) + 1]


UNICODE_LINES = [
    "Ελληνικά γράμματα και λέξεις, ελληνικά ξανά.",
    "Русский текст: слова, слова и ещё раз слова.",
    "東京タワーと東京駅、東京の夜。",
    "naïve café — résumé, déjà vu; Zürich & São Paulo.",
    "e\u0301te\u0301 (combining accents) and ﬁne ligatures",
    "emoji: 😀😀 🚀🚀🚀 👩\u200d💻 and ①②③ ²½ Ⓐⓑ",
    "עברית וערבית: مرحبا بالعالم مرحبا",
    "tabs\tand\u00a0no-break\u2003spaces, under_scores and ‿ties",
]


def unicode_corpus(seed: int = 0, lines: int = 60) -> list[str]:
    """Lines made of shuffled words from :data:`UNICODE_LINES` (many scripts, marks, emoji)."""
    rng = random.Random(seed)
    words = " ".join(UNICODE_LINES).split(" ")
    return [" ".join(rng.choices(words, k=rng.randint(3, 12))) for _ in range(lines)]


def small_alphabet_corpus(seed: int, lines: int = 40) -> list[str]:
    """Random words over ``a b c``: many equal counts (ties), overlapping pairs like ``aaa``, and the
    same token reachable by two merges (``a + bc`` and ``ab + c``)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices("abc", k=rng.randint(1, 7))) for _ in range(25)]
    return [" ".join(rng.choices(vocab, k=rng.randint(1, 9))) for _ in range(lines)]
