"""Splitting one pre-tokenized word with a trained vocabulary: BPE's merges by rank, WordPiece's longest match.

The lowest layer of :mod:`explainer.tokenize` beside :mod:`~explainer.tokenize.pretokenize`: it imports
nothing of the package, so the tokenizer, the trace and the trainers can all use it.
"""
from __future__ import annotations

PREFIX = "##"  # WordPiece's continuation prefix
MAX_WORD_CHARS = 100  # tokenizers' max_input_chars_per_word


def bpe_segment(word: str, ranks: dict[tuple[str, str], tuple[int, str]]) -> list[str]:
    """Split one pre-tokenized word: characters, then the earliest-learned merge present, again and again.

    ``ranks`` maps a pair to ``(rank, merged token)``; among equal ranks the leftmost pair goes first
    (``tokenizers``' ``Word::merge_all``). Characters must all be in the vocabulary (the caller checks).
    """
    pieces = list(word)
    while len(pieces) > 1:
        found = [(ranks[pair][0], i) for i, pair in enumerate(zip(pieces, pieces[1:])) if pair in ranks]
        if not found:
            break
        _, i = min(found)
        pieces[i:i + 2] = [ranks[(pieces[i], pieces[i + 1])][1]]
    return pieces


def wordpiece_segment(word: str, vocab: dict[str, int] | set[str], prefix: str = PREFIX) -> list[str] | None:
    """Greedy longest-match-first split of one word, or ``None`` when it cannot be split."""
    if len(word) > MAX_WORD_CHARS:
        return None
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                break
        else:
            return None
        pieces.append(piece)
        start = end
    return pieces
