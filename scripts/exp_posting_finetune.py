"""A posting-level fine-tune of the backbone's top layers, scored leave-one-source-out.

A budget experiment for two shared CPU cores (docs/finetune-loso.md has the results):

1. every posting (training and per-source validation) is read as the library reads it: its
   duty text (``read_duties`` with the shipped section reader), cut into the library's windows
   (``Encoder.split_many`` / ``pack_many``: 128 word-pieces, at most 32 windows), plus its title
   as one short window (as ``Encoder.embed`` cuts it);
2. the embeddings and transformer layers 0-3 of the bundled all-MiniLM-L6-v2 are frozen: they run
   once over every window and layer 3's hidden states are cached (fp16) under ``--out``;
3. a fold's model is a trainable copy of layers 4-5 + masked mean pooling (L2-normalised) per
   window + the mean over a posting's description windows (the posting vector) and the title
   window through the same layers (the title vector), and a linear layer over
   [posting, 0.5 * title] (the title zeroed for half the postings of a batch, so it also reads
   descriptions alone). Cross-entropy per *posting*: the windows are pooled inside the graph.
   Rows weigh so that every training file weighs the same (``source_weights``, balance 1).
   AdamW (2e-5 layers, 1e-3 linear), batches of 8 postings, a 10% stratified dev split of the
   fold's training rows; the epoch with the lowest dev loss is kept;
4. scoring: posting vectors with the fold's layers; a logistic regression (standardised
   features, ``--c``, the file-balancing weights) on the fold's training rows, both views (with
   title and description alone), scores the left-out source's validation rows. The frozen baseline is
   the same pipeline with the pretrained layers 4-5.

Folds (``--folds``): ``a`` no board (written samples only; scores feed, remotewlb), ``b`` no feed
(scores feed), ``c`` all four files (scores glassdoor, anthropic, openai), ``d`` no RemoteWLB
(scores remotewlb).

    python scripts/join_feed_labels.py /tmp/ft/real_feed_labelled.csv
    python scripts/join_validation.py /tmp/ft/validation.csv
    OMP_NUM_THREADS=2 nice -n 5 python scripts/exp_posting_finetune.py --out /tmp/ft --folds a,c,b,d

The defaults are the capped run reported in docs/finetune-loso.md (two shared CPU cores; it ran
``--folds a,c,b`` and, in a second process, ``--folds d``): the scoring regression on at most 400
postings of each training file (``--head-per-file``, the same rows for frozen and tuned
features), the fine-tune on at most 150 of them (``--ft-per-file``), 3 random description
windows of a posting per step (``--train-windows``); 0 lifts a cap. ``--cache-only`` runs step 2
alone; ``--table`` prints the table of a results file.

Writes ``--out``/cache_*.npy (the layer-3 cache), ``--out``/results.json (every cell) and prints
the table. No posting text is written: the cache holds hidden states and offsets only.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from role_classifier.encoders.torch_backend import TorchEncoder, mean_pool
from role_classifier.modeling.fitting import source_weights
from role_classifier.sections import SHIPPED_READER, SectionReader, read_duties
from role_classifier.taxonomy import load_taxonomy
from role_classifier.text import clean_text
from role_classifier.training import _read_training_file

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = ["data/samples/postings.csv", "data/samples/feed_like.csv"]
REAL = "../shared/data/real-postings/postings.csv"
FOLDS = {  # name: (training files, scored validation sources)
    "a": ("no board", WRITTEN, ["feed", "remotewlb"]),
    "b": ("no feed", [*WRITTEN, REAL], ["feed"]),
    "c": ("all", [*WRITTEN, REAL, "FEED"], ["glassdoor", "anthropic", "openai"]),
    "d": ("no remotewlb", [*WRITTEN, "FEED"], ["remotewlb"]),
}
TITLE_SCALE = 0.5


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- data --------------------------------------------------------------------------------------
def read_rows(path: str, taxonomy, label_columns, filters) -> list[dict]:
    rows = _read_training_file(
        path, taxonomy, "description", "title", label_columns, filters, None, None
    )
    if rows.unknown_labels or rows.errors:
        raise SystemExit(f"{path}: unusable rows {rows.unknown_labels} {rows.errors[:1]}")
    idx = {c: i for i, c in enumerate(rows.header)}
    titles = rows.titles or [None] * len(rows.labels)
    out = []
    for k, (desc, title, label) in enumerate(zip(rows.descriptions, titles, rows.labels)):
        cells = rows.cells[k]
        out.append(
            {
                "id": cells[idx["id"]],
                "title": title or "",
                "description": desc,
                "label": label,
                "file": path,
                "source": cells[idx["source"]] if "source" in idx else "",
            }
        )
    return out


def load_all(feed_path: str, validation_path: str) -> tuple[list[dict], list[dict]]:
    taxonomy = load_taxonomy()
    train = []
    for path in [*WRITTEN, REAL, feed_path]:
        full = path if Path(path).is_absolute() else str(ROOT / path)
        rows = read_rows(full, taxonomy, ("label", "title_label"), {"split": ["train"]})
        for r in rows:
            r["file"] = "FEED" if path == feed_path else path
        log(f"{path}: {len(rows)} training rows")
        train += rows
    val = read_rows(validation_path, taxonomy, ("label",), {})
    log(f"validation: {len(val)} rows {dict(Counter(r['source'] for r in val))}")
    return train, val


# -- windows and the layer-3 cache -------------------------------------------------------------
def build_windows(enc: TorchEncoder, rows: list[dict]) -> tuple[list[list[int]], list[dict]]:
    """Every posting's description windows (duty text) and title window, as token id lists
    with [CLS]/[SEP]; per posting the indices of its windows."""
    reader = SectionReader.load(SHIPPED_READER)
    bodies = [clean_text(r["description"] or "") for r in rows]
    sents, cut = enc.split_many(bodies)
    sents, _notes = read_duties(reader, sents)
    windows = enc.pack_many(sents, cut)
    titles = [clean_text(r["title"] or "").replace("\n", " ") for r in rows]
    title_ids = enc.tokenize(titles)
    cls, sep, _pad = enc.special_ids
    seqs: list[list[int]] = []
    index = []
    for w, t, tid in zip(windows, titles, title_ids):
        desc = []
        for ids in w.ids:
            desc.append(len(seqs))
            seqs.append([cls, *ids, sep])
        title = None
        if t and tid:
            title = len(seqs)
            seqs.append([cls, *tid[: enc.window_tokens - 2], sep])
        index.append({"desc": desc, "title": title})
    return seqs, index


def cache_layer3(enc: TorchEncoder, seqs: list[list[int]], out: Path, batch: int = 32) -> None:
    model = copy.deepcopy(enc.model)
    model.encoder.layer = model.encoder.layer[:4]  # embeddings + layers 0-3
    model.eval()
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    hidden = np.zeros((int(offsets[-1]), enc.dim), dtype=np.float16)
    order = np.argsort(lengths, kind="stable")
    t0 = time.time()
    pad = enc.special_ids[2]
    for b, start in enumerate(range(0, len(order), batch)):
        idx = order[start : start + batch]
        width = int(lengths[idx].max())
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for j, i in enumerate(idx):
            ids[j, : lengths[i]] = torch.tensor(seqs[i])
            mask[j, : lengths[i]] = 1
        with torch.inference_mode():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
        for j, i in enumerate(idx):
            hidden[offsets[i] : offsets[i + 1]] = h[j, : lengths[i]].numpy().astype(np.float16)
        if b % 50 == 0:
            log(f"cache: {start + len(idx)}/{len(seqs)} windows, {time.time() - t0:.0f}s")
    np.save(out / "cache_hidden.npy", hidden)
    np.save(out / "cache_offsets.npy", offsets)
    log(f"cache: {len(seqs)} windows, {int(offsets[-1])} tokens in {time.time() - t0:.0f}s")


# -- the top of the backbone -------------------------------------------------------------------
class Top(torch.nn.Module):
    """Layers 4-5 of MiniLM over cached layer-3 states, then masked mean pooling (L2)."""

    def __init__(self, enc: TorchEncoder) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(copy.deepcopy(enc.model.encoder.layer[4:6]))

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ext = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        for layer in self.layers:
            out = layer(h, attention_mask=ext)
            h = out[0] if isinstance(out, tuple) else out
        return mean_pool(h, mask)


class Cache:
    def __init__(self, out: Path) -> None:
        self.hidden = torch.from_numpy(np.load(out / "cache_hidden.npy").astype(np.float32))
        self.offsets = np.load(out / "cache_offsets.npy")

    def batch(self, windows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        lens = [int(self.offsets[w + 1] - self.offsets[w]) for w in windows]
        width = max(lens)
        h = torch.zeros((len(windows), width, self.hidden.shape[1]))
        mask = torch.zeros((len(windows), width), dtype=torch.long)
        for j, (w, n) in enumerate(zip(windows, lens)):
            h[j, :n] = self.hidden[self.offsets[w] : self.offsets[w] + n]
            mask[j, :n] = 1
        return h, mask


def embed_windows(top: Top, cache: Cache, windows: list[int], batch: int = 64) -> np.ndarray:
    """Pooled vectors of windows, length-sorted batches, no gradient."""
    out = np.zeros((len(windows), 384), dtype=np.float32)
    lens = np.array([cache.offsets[w + 1] - cache.offsets[w] for w in windows])
    order = np.argsort(lens, kind="stable")
    top.eval()
    t0 = time.time()
    with torch.inference_mode():
        for b, start in enumerate(range(0, len(order), batch)):
            idx = order[start : start + batch]
            h, m = cache.batch([windows[i] for i in idx])
            out[idx] = top(h, m).numpy()
            if b % 40 == 39:
                log(f"  features: {start + len(idx)}/{len(order)} windows {time.time() - t0:.0f}s")
    return out


def posting_features(
    top: Top, cache: Cache, index: list[dict], need: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(description vectors, title vectors) of the postings ``need``; zeros elsewhere and where
    there is none."""
    wins = sorted(
        {w for i in need for w in index[i]["desc"]}
        | {index[i]["title"] for i in need if index[i]["title"] is not None}
    )
    vecs = dict(zip(wins, embed_windows(top, cache, wins)))
    desc = np.zeros((n, 384), dtype=np.float32)
    title = np.zeros((n, 384), dtype=np.float32)
    for i in need:
        p = index[i]
        if p["desc"]:
            desc[i] = np.mean([vecs[w] for w in p["desc"]], axis=0)
        if p["title"] is not None:
            title[i] = vecs[p["title"]]
    return desc, title


# -- training ----------------------------------------------------------------------------------
def posting_batch(top, cache, index, rows, title_on, max_windows, rng):
    """Posting vectors of a batch of postings, windows pooled inside the graph."""
    wins, owner = [], []
    for k, i in enumerate(rows):
        ws = index[i]["desc"]
        if max_windows and len(ws) > max_windows:
            ws = sorted(rng.sample(ws, max_windows))
        wins += ws
        owner += [k] * len(ws)
    titles = [(k, index[i]["title"]) for k, i in enumerate(rows) if title_on[k]]
    titles = [(k, t) for k, t in titles if t is not None]
    allw = wins + [t for _, t in titles]
    h, m = cache.batch(allw)
    v = top(h, m)
    desc = torch.zeros((len(rows), v.shape[1]))
    if wins:
        own = torch.tensor(owner)
        desc = desc.index_add(0, own, v[: len(wins)])
        counts = torch.bincount(own, minlength=len(rows)).clamp(min=1).to(v.dtype)
        desc = desc / counts[:, None]
    title = torch.zeros((len(rows), v.shape[1]))
    if titles:
        title = title.index_add(0, torch.tensor([k for k, _ in titles]), v[len(wins) :])
    return torch.cat([desc, TITLE_SCALE * title], dim=1)


def stratified_dev(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dev = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        rng.shuffle(rows)
        dev += list(rows[: max(1, round(fraction * len(rows)))] if len(rows) > 1 else [])
    dev = np.array(sorted(dev))
    return np.setdiff1d(np.arange(len(y)), dev), dev


def finetune(enc, cache, index, rows, y, w, ranks, n_labels, args, say, frozen=None):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tr, dev = stratified_dev(y, 0.1, args.seed)
    if args.ft_per_file:  # the budget: at most this many postings of a file are fine-tuned on
        tr = np.array([i for i in tr if ranks[i] < args.ft_per_file])
        dev = np.array([i for i in dev if ranks[i] < args.ft_per_file])
    say(f"  fine-tuning on {len(tr)} postings, dev {len(dev)}")
    top = Top(enc)
    head = torch.nn.Linear(2 * 384, n_labels)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    if args.head_init == "probe":  # linear probe, then fine-tune: the head starts fitted
        from sklearn.linear_model import LogisticRegression

        d, t = frozen
        g = rows[tr]
        x = np.vstack([np.hstack([d[g], TITLE_SCALE * t[g]]), np.hstack([d[g], 0 * t[g]])])
        probe = LogisticRegression(C=args.probe_c, max_iter=2000)
        probe.fit(x, np.concatenate([y[tr], y[tr]]), sample_weight=np.concatenate([w[tr], w[tr]]))
        with torch.no_grad():
            head.bias.fill_(-10.0)  # a role with no fine-tuned row
            head.weight[probe.classes_] = torch.tensor(probe.coef_, dtype=torch.float32)
            head.bias[probe.classes_] = torch.tensor(probe.intercept_, dtype=torch.float32)
        say(f"  probe head: {len(probe.classes_)} roles, |w| {np.abs(probe.coef_).max():.1f}")
    opt = torch.optim.AdamW(
        [
            {"params": top.parameters(), "lr": args.lr},
            {"params": head.parameters(), "lr": args.head_lr},
        ],
        weight_decay=0.01,
    )
    yt, wt = torch.tensor(y), torch.tensor(w, dtype=torch.float32)

    def loss_of(batch_rows, title_on, train_mode):
        x = posting_batch(
            top,
            cache,
            index,
            [rows[i] for i in batch_rows],
            title_on,
            args.train_windows if train_mode else 0,
            rng,
        )
        ce = torch.nn.functional.cross_entropy(head(x), yt[batch_rows], reduction="none")
        return (ce * wt[batch_rows]).sum(), wt[batch_rows].sum()

    def dev_loss():
        top.eval()
        total, norm = 0.0, 0.0
        with torch.inference_mode():
            for start in range(0, len(dev), 16):
                b = dev[start : start + 16]
                x = posting_batch(top, cache, index, [rows[i] for i in b], [True] * len(b), 0, rng)
                x_desc = torch.cat([x[:, :384], torch.zeros_like(x[:, 384:])], dim=1)
                for view in (x, x_desc):  # both views, one pass
                    ce = torch.nn.functional.cross_entropy(head(view), yt[b], reduction="none")
                    total += float((ce * wt[b]).sum())
                    norm += float(wt[b].sum())
        return total / norm

    best = (float("inf"), None, 0)
    history = []
    if args.head_init == "probe":  # epoch 0: the probe on the pretrained layers can win
        dl = dev_loss()
        history.append({"epoch": 0, "dev_loss": dl})
        say(f"  epoch 0 (probe, pretrained layers): dev loss {dl:.4f}")
        best = (dl, copy.deepcopy(top.state_dict()), 0)
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        top.train()
        order = np.array(tr)
        np.random.default_rng(args.seed + epoch).shuffle(order)
        run = 0.0
        for step, start in enumerate(range(0, len(order), args.batch)):
            b = order[start : start + args.batch]
            title_on = [rng.random() < 0.5 for _ in b]
            s, n = loss_of(b, title_on, True)
            loss = s / n
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(top.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            run += loss.item()
            if step % 50 == 0:
                say(
                    f"  epoch {epoch} step {step}/{(len(order) + args.batch - 1) // args.batch} "
                    f"loss {run / (step + 1):.4f} {time.time() - t0:.0f}s"
                )
        dl = dev_loss()
        history.append(
            {
                "epoch": epoch,
                "train_loss": run / (step + 1),
                "dev_loss": dl,
                "seconds": round(time.time() - t0, 1),
            }
        )
        say(
            f"  epoch {epoch}: train loss {run / (step + 1):.4f}, dev loss {dl:.4f}, "
            f"{time.time() - t0:.0f}s"
        )
        if dl < best[0]:
            best = (dl, copy.deepcopy(top.state_dict()), epoch)
    top.load_state_dict(best[1])
    return top, {"history": history, "best_epoch": best[2], "n_train": len(tr), "n_dev": len(dev)}


# -- scoring -----------------------------------------------------------------------------------
def score(desc, title, train_rows, y_train, w_train, val_rows, y_val, c, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    def view(rows, with_title):
        return np.hstack([desc[rows], TITLE_SCALE * title[rows] * (1.0 if with_title else 0.0)])

    x = np.vstack([view(train_rows, True), view(train_rows, False)])
    yy = np.concatenate([y_train, y_train])
    ww = np.concatenate([w_train, w_train])
    scaler = StandardScaler().fit(x)
    lr = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    lr.fit(scaler.transform(x), yy, sample_weight=ww)
    out = {}
    for name, with_title in (("titles", True), ("description", False)):
        p = lr.predict(scaler.transform(view(val_rows, with_title)))
        out[name] = {
            "accuracy": float(accuracy_score(y_val, p)),
            "macro_f1": float(f1_score(y_val, p, average="macro", zero_division=0)),
            "correct": int((p == y_val).sum()),
        }
    return out


def table(results: dict) -> str:
    """The markdown table of every scored cell (accuracy / macro-F1), with mean and worst."""
    lines = [
        "| fold | source | n | frozen titles | tuned titles | frozen description | tuned description |",
        "|---|---|---:|---|---|---|---|",
    ]
    acc = {"frozen": [], "tuned": []}
    for fold, f in results["folds"].items():
        for src, c in f["cells"].items():

            def cell(v, view, c=c):
                return f"{c[v][view]['accuracy']:.3f} / {c[v][view]['macro_f1']:.3f}"

            lines.append(
                f"| {fold} ({f['name']}) | {src} | {c['n']} | {cell('frozen', 'titles')} | "
                f"{cell('tuned', 'titles')} | {cell('frozen', 'description')} | "
                f"{cell('tuned', 'description')} |"
            )
            for v in acc:
                acc[v] += [c[v]["titles"]["accuracy"], c[v]["description"]["accuracy"]]
    if acc["frozen"]:
        lines.append(
            f"| | mean / worst accuracy over {len(acc['frozen'])} cells | | frozen "
            f"{np.mean(acc['frozen']):.3f} / {min(acc['frozen']):.3f} | tuned "
            f"{np.mean(acc['tuned']):.3f} / {min(acc['tuned']):.3f} | | |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/ft")
    ap.add_argument(
        "--feed", default=None, help="read feed labels (default OUT/real_feed_labelled.csv)"
    )
    ap.add_argument("--validation", default=None, help="default OUT/validation.csv")
    ap.add_argument("--folds", default="a,c,b,d")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument(
        "--ft-per-file",
        type=int,
        default=150,
        help="postings of each training file fine-tuned on at most (0: all)",
    )
    ap.add_argument(
        "--head-per-file",
        type=int,
        default=400,
        help="postings of each training file the scoring regression is fitted on "
        "at most (0: all), the same rows for the frozen and the tuned features",
    )
    ap.add_argument(
        "--train-windows",
        type=int,
        default=3,
        help="description windows per posting in a training step (0: all)",
    )
    ap.add_argument("--c", type=float, default=0.1)
    ap.add_argument(
        "--head-init",
        choices=["probe", "zero"],
        default="probe",
        help="the fine-tune's linear layer starts as a logistic regression on the "
        "frozen features of its rows (probe) or at zero",
    )
    ap.add_argument("--probe-c", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-only", action="store_true")
    ap.add_argument("--table", action="store_true", help="print the table of OUT/results.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(json.loads((out / "results.json").read_text())))
        return
    feed = args.feed or str(out / "real_feed_labelled.csv")
    validation = args.validation or str(out / "validation.csv")

    train, val = load_all(feed, validation)
    val_ids = {r["id"] for r in val}
    val_text = {r["description"].strip() for r in val}
    overlap = [r for r in train if r["id"] in val_ids or r["description"].strip() in val_text]
    log(f"training rows also in validation (by id or text): {len(overlap)}; dropped")
    train = [r for r in train if not (r["id"] in val_ids or r["description"].strip() in val_text)]
    rows = train + val
    labels = load_taxonomy().labels
    y_all = np.array([labels.index(r["label"]) for r in rows])
    n_train = len(train)

    enc = TorchEncoder()
    t0 = time.time()
    seqs, index = build_windows(enc, rows)
    n_desc = sum(len(p["desc"]) for p in index)
    log(
        f"windows: {n_desc} description windows ({n_desc / len(rows):.2f}/posting), "
        f"{sum(p['title'] is not None for p in index)} titles, {time.time() - t0:.0f}s"
    )
    results = {
        "n_train_rows": n_train,
        "n_validation": len(val),
        "dropped_overlap": len(overlap),
        "windows": n_desc,
        "settings": vars(args),
        "folds": {},
    }
    res_path = out / "results.json"
    if res_path.exists():
        old = json.loads(res_path.read_text())
        results["folds"] = old.get("folds", {})
        results["cache_seconds"] = old.get("cache_seconds")
    if not (out / "cache_hidden.npy").exists():
        t0 = time.time()
        cache_layer3(enc, seqs, out)
        results["cache_seconds"] = round(time.time() - t0, 1)
    res_path.write_text(json.dumps(results, indent=1))
    if args.cache_only:
        return
    cache = Cache(out)
    if int(cache.offsets[-1]) != sum(len(s) for s in seqs):
        raise SystemExit("the cache does not match these windows; remove it and rerun")

    # the cached path equals the full model (padding, masks, layers 4-5)
    probe = list(range(0, len(seqs), max(1, len(seqs) // 24)))[:24]
    full = enc.embed_ids([s[1:-1] for s in [seqs[i] for i in probe]])
    mine = embed_windows(Top(enc), cache, probe, batch=8)
    cos = (full * mine).sum(axis=1)
    log(f"check: cached path vs full model, cosine min {cos.min():.5f}")
    results["check_cosine_min"] = float(cos.min())

    t0 = time.time()
    folds = args.folds.split(",")
    # a seeded order of each training file's rows: the head's rows (--head-per-file) and the
    # fine-tuned rows (--ft-per-file) are its first so many, the second a part of the first
    perm = np.random.default_rng(args.seed).permutation(n_train)
    rank = np.zeros(len(rows), dtype=np.int64)
    seen: Counter = Counter()
    for i in perm:
        rank[i] = seen[rows[i]["file"]]
        seen[rows[i]["file"]] += 1
    need_all = set()
    for fold in folds:
        _n, files, scored = FOLDS[fold]
        need_all |= {
            i
            for i in range(n_train)
            if rows[i]["file"] in files and (not args.head_per_file or rank[i] < args.head_per_file)
        }
        need_all |= {i for i in range(n_train, len(rows)) if rows[i]["source"] in scored}
    frozen_desc, frozen_title = posting_features(
        Top(enc), cache, index, np.array(sorted(need_all)), len(rows)
    )
    results["frozen_features_seconds"] = round(time.time() - t0, 1)
    log(f"frozen features: {time.time() - t0:.0f}s")

    for fold in folds:
        name, files, scored = FOLDS[fold]
        tr_rows = np.array(
            [
                i
                for i in range(n_train)
                if rows[i]["file"] in files
                and (not args.head_per_file or rank[i] < args.head_per_file)
            ]
        )
        y_tr = y_all[tr_rows]
        w_tr = source_weights([rows[i]["file"] for i in tr_rows], 1.0)
        log(
            f"fold {fold} ({name}): {len(tr_rows)} training rows "
            f"{dict(Counter(rows[i]['file'] for i in tr_rows))}"
        )
        t0 = time.time()
        top, info = finetune(
            enc,
            cache,
            index,
            tr_rows,
            y_tr,
            w_tr,
            rank[tr_rows],
            len(labels),
            args,
            log,
            (frozen_desc, frozen_title),
        )
        info["train_seconds"] = round(time.time() - t0, 1)
        t1 = time.time()
        v_all = np.array([i for i in range(n_train, len(rows)) if rows[i]["source"] in scored])
        tuned_desc, tuned_title = posting_features(
            top, cache, index, np.concatenate([tr_rows, v_all]), len(rows)
        )
        info["features_seconds"] = round(time.time() - t1, 1)
        cells = {}
        for src in scored:
            v_rows = np.array([i for i in range(n_train, len(rows)) if rows[i]["source"] == src])
            cell = {"n": len(v_rows)}
            for variant, (d, t) in (
                ("frozen", (frozen_desc, frozen_title)),
                ("tuned", (tuned_desc, tuned_title)),
            ):
                cell[variant] = score(
                    d, t, tr_rows, y_tr, w_tr, v_rows, y_all[v_rows], args.c, args.seed
                )
            cells[src] = cell
            f, t = cell["frozen"], cell["tuned"]
            log(
                f"fold {fold} {src} n={len(v_rows)}: frozen "
                f"{f['titles']['accuracy']:.3f}/{f['titles']['macro_f1']:.3f} | "
                f"{f['description']['accuracy']:.3f}/{f['description']['macro_f1']:.3f}  tuned "
                f"{t['titles']['accuracy']:.3f}/{t['titles']['macro_f1']:.3f} | "
                f"{t['description']['accuracy']:.3f}/{t['description']['macro_f1']:.3f}"
            )
        results["folds"][fold] = {
            "name": name,
            "files": files,
            "n_train": len(tr_rows),
            "info": info,
            "cells": cells,
        }
        res_path.write_text(json.dumps(results, indent=1))
    log("done")
    print(table(results))


if __name__ == "__main__":
    main()
