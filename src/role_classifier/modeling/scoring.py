"""Features and scoring: how a posting becomes the head's input and the head's raw scores.

:class:`Scoring` is the part of :class:`~role_classifier.modeling.model.RoleClassifier` that
encodes postings (title embedding, description windows, the roles' own words), embeds the roles
(:mod:`.prototypes`), computes the six zero-shot score blocks, lays them out as one feature vector
(:mod:`.features`) and scores it with the active head. :meth:`Scoring.logits` is the one scoring
path: prediction (:mod:`.decisions`) and evidence (:mod:`.evidence`) both go through it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encoders import Encoder, Windows, make_encoder
from ..progress import progress_bar
from ..sections import SHIPPED_READER, SectionReader, read_duties
from ..taxonomy import Taxonomy
from ..text import EmptyTextError, Posting, clean_text
from .config import ModelConfig
from .features import ZERO_SHOT_WEIGHTS, FeatureLayout
from .prototypes import prototype_files, read_prototypes, write_prototypes

__all__ = ["SECTIONS_DIR", "Encoded", "Scoring"]

SECTIONS_DIR = "sections"
"""the section reader's folder inside a saved model (``read: duties``)"""

_NON_WORD = re.compile(r"[^a-z0-9+#]+")


@dataclass
class Encoded:
    """A posting as the model sees it: title embedding and description windows."""

    title: np.ndarray | None
    windows: np.ndarray
    window_sentences: list[list[str]]
    lexical: dict[str, np.ndarray]
    truncated: bool = False
    note: str | None = None
    """what the model noticed about the input (:data:`.sections.NO_DUTY_TEXT`), or None."""


class Scoring:
    """Encoding, role embeddings, score blocks, the feature vector and the head's raw scores.

    A part of :class:`~role_classifier.modeling.model.RoleClassifier`, which sets these
    attributes in its ``__init__``.
    """

    taxonomy: Taxonomy
    config: ModelConfig
    head: dict[str, np.ndarray] | None
    backend: str
    source: Path | None
    _encoder: Encoder | None
    _prototypes: tuple[list[np.ndarray], list[np.ndarray]] | None
    _patterns: dict[str, list[set[str]]] | None
    _sections: SectionReader | None

    @property
    def labels(self) -> list[str]:
        """Label names; the columns of ``predict_proba`` follow this order."""
        return self.taxonomy.labels

    @property
    def layout(self) -> FeatureLayout:
        """Where each part of :meth:`features` sits (see :mod:`.features`)."""
        return FeatureLayout(self.encoder.dim, len(self.labels))

    @property
    def n_features(self) -> int:
        """Length of :meth:`features` (the head's input)."""
        return self.layout.n_features

    @property
    def encoder(self) -> Encoder:
        """The backbone, loaded on first use."""
        if self._encoder is None:
            c = self.config
            path = None if c.backbone == "bundled" else c.backbone
            self._encoder = make_encoder(
                self.backend,
                path,
                c.window_tokens,
                c.max_windows,
                c.max_chars,
                c.batch_size,
                c.adapter or None,
            )
        return self._encoder

    def encoding_key(self) -> tuple[object, ...]:
        """Models with equal keys encode a posting identically (same backbone, windows, roles),
        so one :meth:`encode` serves them all (``evaluate`` uses this to encode once)."""
        c = self.config
        tax = json.dumps(self.taxonomy.to_dict(), sort_keys=True)
        return (
            self.backend,
            c.backbone,
            c.adapter,
            c.window_tokens,
            c.max_windows,
            c.max_chars,
            tax,
        )

    def share_encoder(self, other: Scoring) -> None:
        """Use ``other``'s loaded backbone (same backbone and adapter) instead of loading it again."""
        if (other.backend, other.config.backbone, other.config.adapter) != (
            self.backend,
            self.config.backbone,
            self.config.adapter,
        ):
            raise ValueError("can only share an encoder between models with the same backbone")
        self._encoder = other.encoder

    # -- encoding ---------------------------------------------------------------------------
    def encode(
        self,
        postings: Sequence[Posting],
        show_progress: bool = False,
        chunk: int = 64,
        *,
        transient: bool = True,
    ) -> list[Encoded]:
        """Embed titles and description windows of many postings in few batched passes.

        Args:
            show_progress: a progress bar with ETA on standard error, ``chunk`` postings a step
                (:func:`role_classifier.progress.progress_bar`).
            transient: remove the bar when done (False: it stays, as in a notebook).

        Raises:
            EmptyTextError: a posting with neither title nor description text.
        """
        if not show_progress:
            return self._encode(postings)
        out: list[Encoded] = []
        with progress_bar(True, "encoding", transient=transient) as update:
            assert update is not None
            update(0, len(postings))
            for start in range(0, len(postings), chunk):
                out.extend(self._encode(postings[start : start + chunk]))
                update(len(out), len(postings))
        return out

    def _encode(self, postings: Sequence[Posting]) -> list[Encoded]:
        titles = [clean_text(p.title or "").replace("\n", " ") for p in postings]
        bodies = [clean_text(p.description or "") for p in postings]
        for i, (t, b) in enumerate(zip(titles, bodies)):
            if not t and not b:
                raise EmptyTextError(f"posting {i} is empty after removing HTML and whitespace")
        with_title = [i for i, t in enumerate(titles) if t]
        title_emb = self.encoder.embed([titles[i] for i in with_title])
        sents, cut = self.encoder.split_many(bodies)
        notes: list[str | None] = [None] * len(bodies)
        if self.config.read == "duties":
            sents, notes = read_duties(self.section_reader, sents)
            bodies = ["\n".join(s) for s in sents]  # the role's words are counted in what is read
        windows: list[Windows] = self.encoder.pack_many(sents, cut)
        win_emb = self.encoder.embed_windows(windows)
        out = [
            Encoded(None, e, w.sentences, self.lexical(t, b), w.truncated, note)
            for e, w, t, b, note in zip(win_emb, windows, titles, bodies, notes)
        ]
        for row, i in enumerate(with_title):
            out[i].title = title_emb[row]
        return out

    @property
    def section_reader(self) -> SectionReader:
        """The sentence-section reader (``read: duties``): the model folder's own, else the
        shipped one; loaded on first use."""
        if self._sections is None:
            own = self.source / SECTIONS_DIR if self.source is not None else None
            self._sections = SectionReader.load(
                own if own is not None and own.is_dir() else SHIPPED_READER
            )
        return self._sections

    def lexical(self, title: str, body: str) -> dict[str, np.ndarray]:
        """Counts of the roles' own words, each log(1 + n) per role, case-folded, whole words.

        * ``mentions``: the description names one of the role's titles;
        * ``keywords``: the description uses one of the role's keywords;
        * ``title_keywords``: the title contains one of the role's titles or keywords.

        Example:
            >>> clf.lexical("", "As an MLOps Engineer you own serving.")["mentions"]  # doctest: +SKIP
            array([0., 0., 0.693, 0., 0., 0., 0., 0.])
        """
        if self._patterns is None:
            roles = self.taxonomy.roles
            titles = [{f" {_words(t)} " for t in (r.titles or (r.name,))} for r in roles]
            keywords = [{f" {_words(k)} " for k in r.keywords} for r in roles]
            self._patterns = {"titles": titles, "keywords": keywords}
        pats = self._patterns
        body_words = f" {_words(body[: self.config.max_chars])} "
        title_words = f" {_words(title)} "

        def hits(text: str, groups: list[set[str]]) -> np.ndarray:
            return np.log1p(np.array([sum(text.count(p) for p in g) for g in groups], float))

        both = [t | k for t, k in zip(pats["titles"], pats["keywords"])]
        return {
            "mentions": hits(body_words, pats["titles"]),
            "keywords": hits(body_words, pats["keywords"]),
            "title_keywords": hits(title_words, both),
        }

    def reset_prototypes(self) -> None:
        """Forget cached role embeddings (after the backbone changed)."""
        self._prototypes = None

    def _role_prototypes(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Embeddings of each role's titles and work phrases: computed once, and on the ONNX
        backend saved with the model and cached by content hash, never recomputed per call."""
        if self._prototypes is None:
            key = self.prototype_key()
            saved, cached = prototype_files(self.source, key)
            for file in (saved, cached):
                if file is not None and self._prototypes is None:
                    self._prototypes = read_prototypes(file, key)
            if self._prototypes is None:
                titles, phrases = [], []
                for role in self.taxonomy.roles:
                    titles.append(self.encoder.embed(list(role.titles) or [role.name]))
                    phrases.append(self.encoder.embed(role.phrases()))
                self._prototypes = (titles, phrases)
                if cached is not None:  # never into the model's own folder
                    write_prototypes(cached, key, self._prototypes)
        return self._prototypes

    def prototype_key(self) -> str | None:
        """What the role embeddings depend on (encoder file and rule, window size, taxonomy), hashed;
        None on the torch backend, where they are recomputed (it trains and fine-tunes)."""
        onnx_path = getattr(self.encoder, "onnx_path", None)
        if onnx_path is None:
            return None
        import hashlib

        tax = json.dumps(self.taxonomy.to_dict(), sort_keys=True)
        version = getattr(self.encoder, "embedding_version", 0)
        text = f"{Path(onnx_path).stem}|v{version}|{self.config.window_tokens}|{tax}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    # -- scoring ----------------------------------------------------------------------------
    def score_components(self, enc: Encoded) -> dict[str, np.ndarray]:
        """Per-role zero-shot evidence, each an array over :attr:`labels`.

        * ``title``: best cosine between the title and the role's example titles (zeros when
          the posting has no title);
        * ``desc_phrases``: per window, best cosine to the role's work phrases;
        * ``desc_titles``: per window, best cosine to the role's titles ("as an MLOps
          engineer you will...");
        * ``mentions``, ``keywords``, ``title_keywords``: counts of the role's own words in the
          description and title (see :meth:`lexical`).

        Similarities are centred over roles (boilerplate that resembles nothing in particular
        cancels out); window scores are averaged over the ``top_k_windows`` best windows.
        """
        titles, phrases = self._role_prototypes()
        n = len(self.labels)
        out = {"title": np.zeros(n), "desc_phrases": np.zeros(n), "desc_titles": np.zeros(n)}
        if enc.title is not None:
            t = np.array([float((p @ enc.title).max()) for p in titles])
            out["title"] = t - t.mean()
        if len(enc.windows):
            k = min(self.config.top_k_windows, len(enc.windows))
            for key, protos in (("desc_phrases", phrases), ("desc_titles", titles)):
                w = np.stack([(enc.windows @ p.T).max(axis=1) for p in protos], axis=1)
                w = w - w.mean(axis=1, keepdims=True)
                out[key] = -np.sort(-w, axis=0)[:k].mean(axis=0)
        out.update(enc.lexical)
        if enc.title is None:  # a dropped title takes its words along
            out["title_keywords"] = np.zeros(n)
        return out

    def features(self, enc: Encoded) -> np.ndarray:
        """The head's input for one posting, laid out by :class:`FeatureLayout`.

        [title embedding, has_title, mean window embedding, then the six
        :meth:`score_components`]: ``2 * dim + 1 + 6 * len(labels)`` numbers.
        """
        if len(enc.windows):
            mean = enc.windows.mean(axis=0)
            mean = mean / max(float(np.linalg.norm(mean)), 1e-9)
        else:
            mean = np.zeros(self.encoder.dim, dtype=np.float32)
        return self.layout.assemble(enc.title, mean, self.score_components(enc))

    def feature_matrix(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """:meth:`features` of many postings, one row each (float32, (n, n_features))."""
        if not encoded:
            return np.zeros((0, self.n_features), dtype=np.float32)
        return np.stack([self.features(e) for e in encoded])

    def zero_shot_head(self) -> dict[str, np.ndarray]:
        """The zero-shot scorer as a head over :meth:`features` (fixed weights, see
        :meth:`FeatureLayout.zero_shot_head`); training starts from it and stays close to it."""
        c = self.config
        weights = {block: getattr(c, field) for block, field in ZERO_SHOT_WEIGHTS.items()}
        return self.layout.zero_shot_head(weights, c.zero_shot_temperature)

    def active_head(self) -> dict[str, np.ndarray]:
        """The head that decides: the trained one, or the zero-shot one."""
        return self.head if self.head is not None else self.zero_shot_head()

    def logits_from_features(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (n, L) of feature rows under :meth:`active_head` (before calibration)."""
        head = self.active_head()
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.n_features)
        return x @ head["weight"].T.astype(np.float64) + head["bias"].astype(np.float64)

    def logits(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Raw scores (n, L) of encoded postings: the one scoring path (prediction, evidence)."""
        return self.logits_from_features(self.feature_matrix(encoded))


def _words(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())
