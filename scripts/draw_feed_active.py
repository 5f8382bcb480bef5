"""How the postings of ``data/labels/real_feed_active.csv`` were drawn (for the record).

From ``../shared/data/real-feed`` it keeps the postings not yet labelled whose description holds
at least two of the AI/ML terms below, or whose title holds an AI word (``TITLE``): 874 in this
round. The v5 default labelled them (``label-csv --title-column title --all-scores``, into
``POOL_LABELLED``); 440 were read first, in this order of priority (random within each, seed 6):
those it read as an AI role, those in its ``review`` band, those with three or more terms or an AI
title, then the rest; the other 434 were read next. Each went to two readers in packets of about
55 (``docs/labelling-guide.md``).

    python scripts/draw_feed_active.py pool.csv                    # the 874, with n_terms
    role-classifier label-csv pool.csv pool_labelled.csv --text-column description \\
        --title-column title --all-scores -m <the v5 default>
    python scripts/draw_feed_active.py pool.csv --order pool_labelled.csv   # ids, in order
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT.parent / "shared" / "data" / "real-feed" / "postings.csv"
LABELLED = ["real_feed_sample.csv", "real_feed_train.csv"]
TERMS = (
    "machine learning, deep learning, neural, llm, large language model, generative ai, genai, "
    "nlp, natural language, computer vision, pytorch, tensorflow, model training, inference, "
    "mlops, rag, retrieval-augmented, retrieval augmented, embedding, vector database, "
    "transformer, fine-tun, prompt, agentic, ai agent, reinforcement learning, recommendation, "
    "recommender, data science, ai/ml, artificial intelligence, gpu, cuda, langchain, openai, "
    "hugging face, huggingface, scikit, xgboost, feature store, model serving, kubeflow, mlflow, "
    "sagemaker, vertex ai, ml model, ml engineer, ml platform, ml infrastructure, "
    "research scientist"
).split(", ")
TITLE = re.compile(
    r"machine learning|\bml\b|mlops|\bai engineer|\bllm|research scientist|researcher|"
    r"prompt engineer|\bai agent|aiops|applied scientist|deep learning|computer vision|\bnlp\b|"
    r"genai|generative ai|\bai\b|artificial intelligence|data scien",
    re.I,
)


def pool(out: Path) -> None:
    """Write the unlabelled postings with two or more terms or an AI title, with n_terms."""
    csv.field_size_limit(1 << 30)
    patterns = [re.compile(r"(?<![a-z])" + re.escape(t), re.I) for t in TERMS]
    done = set()
    for name in LABELLED:
        with open(ROOT / "data" / "labels" / name, encoding="utf-8") as f:
            done |= {r["id"] for r in csv.DictReader(f)}
    with open(FEED, encoding="utf-8", newline="") as f, open(out, "w", newline="") as g:
        writer = None
        for r in csv.DictReader(f):
            n = sum(1 for p in patterns if p.search(r["description"]))
            ai_title = bool(TITLE.search(r["title"]))
            if r["id"] in done or (n < 2 and not ai_title):
                continue
            r.update(n_terms=n, title_ai=ai_title)
            if writer is None:
                writer = csv.DictWriter(g, fieldnames=list(r))
                writer.writeheader()
            writer.writerow(r)


def order(labelled: Path) -> list[str]:
    """The pool's ids in reading order: AI role, review band, 3+ terms or AI title, the rest."""
    csv.field_size_limit(1 << 30)
    with open(labelled, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    def priority(r: dict[str, str]) -> int:
        if r["predicted_role"] != "Other":
            return 0
        if r["review"] == "review":
            return 1
        return 2 if int(r["n_terms"]) >= 3 or r["title_ai"] == "True" else 3

    random.Random(6).shuffle(rows)
    return [r["id"] for r in sorted(rows, key=priority)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pool", type=Path)
    parser.add_argument("--order", type=Path, help="the pool labelled by label-csv")
    args = parser.parse_args()
    if args.order:
        print("\n".join(order(args.order)))
    else:
        pool(args.pool)
