"""Evidence: the sentences of a posting that most support its label, scored by the model's head.

:class:`Evidence` scores windows and then sentences through :meth:`.Scoring.logits`, the same
path that made the decision, so the quotes explain the head that decided.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .scoring import Encoded, Scoring

__all__ = ["Evidence"]


class Evidence(Scoring):
    """The sentences behind a decision."""

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
