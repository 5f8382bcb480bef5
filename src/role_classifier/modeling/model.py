"""``RoleClassifier``: which role of the taxonomy is a job posting hiring for?

Two ways to score, one class:

* **zero-shot** (no head): every role's titles and work phrases from the taxonomy are embedded;
  a posting's title is compared with the role titles, and each window of its description with the
  role phrases. Per window the role similarities are centred (boilerplate that resembles nothing
  in particular cancels out), the best windows per role are averaged, and the two scores are
  combined into logits.
* **trained head**: a linear softmax layer over [title embedding, mean window embedding,
  the zero-shot scores], fitted by :mod:`role_classifier.training` and temperature-calibrated.

Both are linear heads over the same feature vector (:mod:`.features` owns its
layout); zero-shot is the head with fixed weights. Logits, probabilities and evidence all go
through :meth:`RoleClassifier.logits`, so the sentences quoted as evidence are scored by the
same head that made the decision.

Either way the label is the arg-max, except that a posting whose best non-Other role falls below
``other_threshold`` is Other: Other is a real class with a threshold, not a leftover.

The class is composed of the parts its methods group into: :class:`.scoring.Scoring` (encoding,
role embeddings, score blocks, the feature vector, logits), :class:`.decisions.Decisions`
(probabilities, the label, the review band), :class:`.evidence.Evidence` (the sentences behind a
decision) and :class:`.persistence.Persistence` (save and load). This module adds the public
calls: :meth:`RoleClassifier.predict`, :meth:`~RoleClassifier.predict_proba` and
:meth:`~RoleClassifier.classify`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, overload

import numpy as np

from ..encoders import Encoder
from ..taxonomy import Taxonomy, load_taxonomy
from ..text import EmptyTextError, InvalidTextError, Posting, is_missing, text_problem
from .config import ModelConfig
from .decisions import Decisions, Prediction
from .evidence import Evidence
from .held_out import HeldOut
from .names import DEFAULT_MODEL_DIR
from .persistence import Persistence
from .scoring import Encoded
from .training_features import TrainingFeatures

__all__ = ["DEFAULT_MODEL_DIR", "Encoded", "ModelConfig", "Prediction", "RoleClassifier"]

PostingLike = str | Posting
Texts = PostingLike | Iterable[PostingLike]
"""One posting, or many: a list, tuple, numpy array, pandas Series or any iterable."""
Titles = Iterable[Any] | None
"""One title per text (strings; None or NaN for none), matched by position."""


class RoleClassifier(Evidence, Decisions, Persistence):
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
        self._sections = None
        self.held_out: HeldOut | None = None
        """out-of-fold calibrated probabilities from training (:mod:`.held_out`)."""
        self.training_features: TrainingFeatures | None = None
        """set by ``train``; written by ``save_pretrained`` for ``adapt``'s refit."""

    @property
    def is_zero_shot(self) -> bool:
        """True when no trained head is present."""
        return self.head is None

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
        out = self.predictions(encoded, proba, idx, quotes, top_k)
        return out[0] if single else out

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
