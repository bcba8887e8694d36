"""Which tokens to add: the tokenizer's own segmentation continued on the new languages' text.

Each word of the text (as the tokenizer's normalizer and pre-tokenizer split it) starts as the old tokenizer
cuts it; the most frequent pair of adjacent tokens becomes one new token, again and again (Sennrich et al.'s
BPE, resumed from the old vocabulary: each merge saves as many tokens as the pair occurs). The same learner
serves both tokenizer kinds `extend` writes to: byte-level BPE (the pairs become merges) and Unigram /
SentencePiece (the joined pairs become pieces).

Protection of the pivot languages' words: for BPE no merge of two tokens adjacent in a pivot word (so a seen
pivot word cannot change); for Unigram no piece that occurs inside a pivot word (so Viterbi over a seen pivot
word has no new candidate).
"""

from __future__ import annotations

import heapq
import re
from collections import Counter

BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")  # a byte-fallback piece: never joined


def pre_tokenized(tokenizer, texts: list[str]) -> Counter:
    """How often each word occurs, as the tokenizer's normalizer and pre-tokenizer split the text."""
    backend = tokenizer.backend_tokenizer
    words: Counter = Counter()
    for text in texts:
        text = backend.normalizer.normalize_str(text) if backend.normalizer else text
        pieces = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer else [(text, None)]
        words.update(word for word, _ in pieces)
    return words


def words_as_tokens(tokenizer, texts: list[str]) -> Counter:
    """The words' counts keyed by the old tokens the tokenizer's model cuts each into."""
    model = tokenizer.backend_tokenizer.model
    cut: Counter = Counter()
    for word, count in pre_tokenized(tokenizer, texts).items():
        cut[tuple(t.value for t in model.tokenize(word))] += count
    return cut


class Protection:
    """Whether a pair may be joined without re-cutting a word of the pivots' text (see the module's doc)."""

    def __init__(self, kind: str, tokenizer, pivot_text: list[str]):
        self.kind = kind
        if kind == "bpe":
            self.pairs = {
                p for tokens in words_as_tokens(tokenizer, pivot_text) for p in zip(tokens, tokens[1:])
            }
        else:
            self.words = "\0".join(pre_tokenized(tokenizer, pivot_text))  # one string: `in` searches them all

    def allows(self, a: str, b: str) -> bool:
        if self.kind == "bpe":
            return (a, b) not in self.pairs
        return a + b not in self.words


def merged(tokens: tuple[str, ...], a: str, b: str) -> tuple[str, ...]:
    """`tokens` with every non-overlapping (a, b), left to right, made one token (as BPE applies a merge)."""
    out, i = [], 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i] == a and tokens[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return tuple(out)


def learn_pairs(
    tokenizer, known: set[str], texts: list[str], n: int, protection: Protection | None = None
) -> list[tuple[str, str]]:
    """Up to `n` pairs, in the order learned: the most frequent adjacent pair whose joined token is not in
    `known` (ties: the first pair in sorting order), not a byte-fallback piece, allowed by `protection`."""
    known = set(known)
    words = [list(w) for w in words_as_tokens(tokenizer, texts).items()]  # [tokens, count]
    counts: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for k, (tokens, count) in enumerate(words):
        for pair in zip(tokens, tokens[1:]):
            counts[pair] += count
            where.setdefault(pair, set()).add(k)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)
    added: list[tuple[str, str]] = []
    while heap and len(added) < n:
        c, pair = heapq.heappop(heap)
        if -c != counts.get(pair, 0):
            continue  # a stale entry: the pair's count changed since it was pushed
        a, b = pair
        if a + b in known or a not in known or b not in known or BYTE_PIECE.match(a) or BYTE_PIECE.match(b):
            continue  # already a token, a part the vocabulary lacks (an unknown character), or a byte piece
        if protection and not protection.allows(a, b):
            continue
        added.append(pair)
        known.add(a + b)
        for p in join_everywhere(words, where, counts, pair):
            heapq.heappush(heap, (-counts[p], p))
    return added


def join_everywhere(words: list, where: dict, counts: Counter, pair: tuple[str, str]) -> set:
    """Join `pair` in every word that holds it, keeping the pair counts and index current; the pairs whose
    count changed (to be pushed again)."""
    a, b = pair
    changed: set[tuple[str, str]] = set()
    for k in where.pop(pair, ()):
        tokens, count = words[k]
        for old in zip(tokens, tokens[1:]):
            counts[old] -= count
            changed.add(old)
        tokens = words[k][0] = merged(tokens, a, b)
        for new in zip(tokens, tokens[1:]):
            counts[new] += count
            where.setdefault(new, set()).add(k)
            changed.add(new)
    counts.pop(pair, None)
    return {p for p in changed - {pair} if counts[p] > 0}
