"""Which sentences of an ad describe the job: a light sentence-section reader.

A job ad mixes three kinds of text: the job's duties and requirements (``D``), the company, its
product and mission (``C``), and benefits, pay, legal and how-to-apply text (``B``). The role is in
the first; the other two are often longer and look alike across roles (an AI company's blurb on
every one of its ads). :class:`SectionReader` tags each sentence with one of the three, from the
sentence's words, the nearest heading above it, its neighbours and its place in the ad, with a
hashed-feature logistic regression (no embedding, no torch: about 1 ms an ad) smoothed along the ad
(sections are runs of sentences). It was fitted on sentences tagged by readers
(``data/labels/section_tags.csv``, ``scripts/train_section_reader.py``).

Example:
    >>> reader = SectionReader.load(SHIPPED_READER)  # doctest: +SKIP
    >>> reader.tag(["About Acme", "We make ovens.", "You will:", "train ranking models",
    ...             "We offer 401k and dental."])  # doctest: +SKIP
    ['C', 'C', 'D', 'D', 'B']
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .modeling.names import DEFAULT_MODEL_DIR
from .text import is_section_heading

__all__ = [
    "MIN_SENTENCES",
    "NO_DUTY_TEXT",
    "SECTIONS",
    "SHIPPED_READER",
    "UNSURE",
    "SectionReader",
    "read_duties",
    "sentence_features",
]

SECTIONS = ("D", "C", "B")  # duties and requirements; company; benefits, legal, how to apply
SHIPPED_READER = DEFAULT_MODEL_DIR / "sections"
_WORD = re.compile(r"[a-z0-9][a-z0-9+#.'-]*")
_POSITION_BINS = 10
UNSURE = 0.6
"""Below this mean confidence over an ad's sentences, the reader cannot tell its sections apart."""
NO_DUTY_TEXT = "no duty text found; read the whole text"
MIN_SENTENCES = 3
"""An ad of fewer sentences is read whole: too short to have sections."""


def _words(text: str, prefix: str = "") -> list[str]:
    return [prefix + w.strip(".'-") for w in _WORD.findall(text.lower())]


def sentence_features(sentences: Sequence[str]) -> list[str]:
    """One bag of tokens per sentence: its words and word pairs, the words of the nearest heading
    above it (``h_``; a heading is a section name, a line ending in ':' or a line of at most four
    words without a full stop), of the sentences before and after it (``p_``, ``n_``), and its
    position in the ad in tenths (``pos_k``).

    Example:
        >>> sentence_features(["Benefits:", "We cover dental care."])[1].split()[-5:]
        ['cover__dental', 'dental__care', 'h_benefits', 'p_benefits', 'pos_5']
    """
    out = []
    heading: list[str] = []
    n = len(sentences)
    for i, s in enumerate(sentences):
        words = _words(s)
        toks = words + [f"{a}__{b}" for a, b in zip(words, words[1:])]
        if is_section_heading(s) or (len(words) <= 4 and not s.rstrip().endswith(".")):
            heading = _words(s, "h_")
            toks.append("is_heading")
        toks += heading
        if i > 0:
            toks += _words(sentences[i - 1], "p_")
        if i + 1 < n:
            toks += _words(sentences[i + 1], "n_")
        toks.append(f"pos_{min(int(_POSITION_BINS * i / max(n, 1)), _POSITION_BINS - 1)}")
        out.append(" ".join(toks))
    return out


class SectionReader:
    """Tags sentences as duties (``D``), company (``C``) or benefits/legal (``B``).

    Args:
        coef: (3, n_features) weights over hashed token counts (L2-normalised per sentence).
        intercept: (3,) biases.
        n_features: the hashing space.
        stay: the smoothing's probability that a sentence has the section of the one before.
    """

    def __init__(
        self, coef: np.ndarray, intercept: np.ndarray, n_features: int, stay: float = 0.85
    ) -> None:
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.n_features = n_features
        self.stay = stay

    def proba(self, sentences: Sequence[str]) -> np.ndarray:
        """Per sentence, the probability of each section before smoothing: (n, 3)."""
        if not sentences:
            return np.zeros((0, len(SECTIONS)))
        z = np.empty((len(sentences), len(SECTIONS)))
        for row, feats in enumerate(sentence_features(sentences)):
            idx, counts = np.unique(
                [_bucket(t, self.n_features) for t in feats.split()], return_counts=True
            )
            norm = max(float(np.sqrt((counts.astype(float) ** 2).sum())), 1e-12)
            z[row] = self.coef[:, idx] @ counts / norm
        z += self.intercept
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def tag(self, sentences: Sequence[str], proba: np.ndarray | None = None) -> list[str]:
        """The most likely run of sections over the ad (Viterbi over :meth:`proba`)."""
        p = self.proba(sentences) if proba is None else proba
        if not len(p):
            return []
        k = len(SECTIONS)
        trans = np.log(
            np.full((k, k), (1 - self.stay) / (k - 1))
            + np.eye(k) * (self.stay - (1 - self.stay) / (k - 1))
        )
        emit = np.log(np.maximum(p, 1e-9))
        score = emit[0].copy()
        back = np.zeros((len(p), k), dtype=np.int64)
        for i in range(1, len(p)):
            cand = score[:, None] + trans
            back[i] = cand.argmax(axis=0)
            score = cand.max(axis=0) + emit[i]
        path = [int(score.argmax())]
        for i in range(len(p) - 1, 0, -1):
            path.append(int(back[i, path[-1]]))
        return [SECTIONS[j] for j in reversed(path)]

    def save(self, folder: str | Path) -> None:
        """Write ``sections.json`` and ``sections.safetensors`` into ``folder``."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "coef": np.ascontiguousarray(self.coef, dtype=np.float16),
                "intercept": np.ascontiguousarray(self.intercept),
            },
            str(folder / "sections.safetensors"),
        )
        meta = {"sections": list(SECTIONS), "n_features": self.n_features, "stay": self.stay}
        (folder / "sections.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> SectionReader:
        """Read a reader saved by :meth:`save`."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        meta = json.loads((folder / "sections.json").read_text())
        arrays = load_file(str(folder / "sections.safetensors"))
        return cls(arrays["coef"], arrays["intercept"], meta["n_features"], meta["stay"])

    @classmethod
    def fit(
        cls,
        docs: Sequence[Sequence[str]],
        tags: Sequence[Sequence[str]],
        n_features: int = 2**16,
        c: float = 4.0,
        stay: float = 0.85,
    ) -> SectionReader:
        """Fit on tagged ads: ``docs[i]`` its sentences, ``tags[i]`` one of SECTIONS each."""
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.linear_model import LogisticRegression

        vectorizer = HashingVectorizer(  # the hashing :func:`_bucket` and :meth:`proba` repeat
            n_features=n_features,
            token_pattern=r"\S+",
            lowercase=False,
            alternate_sign=False,
            norm="l2",
        )
        texts = [f for d in docs for f in sentence_features(d)]
        y = np.array([SECTIONS.index(t) for ts in tags for t in ts])
        lr = LogisticRegression(C=c, max_iter=2000).fit(vectorizer.transform(texts), y)
        return cls(lr.coef_, lr.intercept_, n_features, stay)


def read_duties(
    reader: SectionReader, sents_per_text: Sequence[list[str]]
) -> tuple[list[list[str]], list[str | None]]:
    """The sentences of each ad that the role is read from, and a note where there were none.

    An ad's duty and requirement sentences (``D``), in order. An ad with none (only a company
    blurb, a list of benefits) is read whole, with the note :data:`NO_DUTY_TEXT`; an ad whose
    sections the reader cannot tell apart (mean confidence below :data:`UNSURE`), or of fewer
    than :data:`MIN_SENTENCES` sentences, is read whole, without a note.

    Example:
        >>> blurb = ["About Acme", "We bake bread.", "Our ovens are the best in town."]
        >>> kept, notes = read_duties(reader, [blurb])  # doctest: +SKIP
        >>> notes  # doctest: +SKIP
        ['no duty text found; read the whole text']
    """
    kept: list[list[str]] = []
    notes: list[str | None] = []
    for sents in sents_per_text:
        if len(sents) < MIN_SENTENCES:
            kept.append(list(sents))
            notes.append(None)
            continue
        p = reader.proba(sents)
        tags = reader.tag(sents, p)
        duties = [s for s, t in zip(sents, tags) if t == "D"]
        if float(p.max(axis=1).mean()) < UNSURE:
            kept.append(list(sents))
            notes.append(None)
        elif not duties:
            kept.append(list(sents))
            notes.append(NO_DUTY_TEXT)
        else:
            kept.append(duties)
            notes.append(None)
    return kept, notes


@functools.lru_cache(maxsize=1 << 18)
def _bucket(token: str, n_features: int) -> int:
    """The hashing bucket of a token, as scikit-learn's ``HashingVectorizer`` computes it
    (signed 32-bit MurmurHash3 of its UTF-8 bytes, seed 0), without importing scikit-learn
    (about a second of a cold ``classify``).

    Example:
        >>> _bucket("benefits", 2**16) == _bucket("benefits", 2**16)
        True
    """
    h = _murmurhash3_32(token.encode("utf-8"))
    if h == -(2**31):  # abs() would overflow int32: scikit-learn's special case
        return (2**31 - 1 - (n_features - 1)) % n_features
    return abs(h) % n_features


def _murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 (x86, 32-bit), as a signed int: the hash scikit-learn's hashing uses."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h, n = seed, len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail, k = data[n - n % 4 :], 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h
