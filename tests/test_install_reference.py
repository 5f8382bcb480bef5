"""The shipped int8 ONNX file embeds a few fixed windows exactly as when the head was fitted.

The default model's head reads these embeddings, so an onnxruntime (or tokenizers) release that
moves them changes every answer, silently. ``tests/onnx_reference.json`` holds the word-pieces
and embeddings made with the versions in ``constraints.txt``; this fails when the installed
ones differ by more than float noise (an int8 or fusion change moves them by about 1e-2).

Needs neither torch nor pytest: ``.ci/run`` also runs it as a script in the base install,
``python tests/test_install_reference.py`` (``--write`` remakes the reference, after a
deliberate rebuild of the shipped file and a refit of the head).
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).with_name("onnx_reference.json")
# float noise across CPUs and threads is ~1e-7; int8 or graph changes are ~1e-2, and so was
# the CPU itself while the weights had 8 bits (AVX2 without VNNI saturates u8 x s8 products:
# 4e-2 from a VNNI machine's reference); with 7-bit weights every x86 CPU computes the same ints
# (this reference, made on AVX2 without VNNI, passes on AVX-512 VNNI too)
ATOL = 1e-5
TEXTS = [
    "MLOps Engineer",
    "You will own our KServe model serving platform on Kubernetes and keep p99 latency under "
    "50 ms.",
    "Nurse wanted for a night shift.",
    "We are hiring an engineer to build retrieval-augmented generation features on top of large "
    "language model APIs, evaluate prompts and agents, fine-tune embedding models, run offline "
    "evaluations, ship them behind feature flags, and monitor cost, latency and quality in "
    "production with dashboards and alerts; you will work with product managers, designers and "
    "the data platform team, write clear design documents, and mentor two junior engineers. " * 2,
]


def _embed() -> dict:
    """Word-pieces, each window alone (as ads are embedded) and the texts as one padded group."""
    from role_classifier.encoders.onnx_backend import ASSETS, OnnxEncoder
    from role_classifier.threads import thread_limits

    with thread_limits(1):
        enc = OnnxEncoder()
        assert enc.onnx_path.parent == ASSETS, f"not the shipped file: {enc.onnx_path}"
        ids = [i[: enc.window_tokens - 2] for i in enc.tokenize(TEXTS)]
        return {
            "ids": ids,
            "windows": enc.embed_ids(ids),
            "group": enc.embed_group(TEXTS),
            "onnx_file": enc.onnx_path.name,
        }


def _versions() -> dict[str, str]:
    return {n: importlib.metadata.version(n) for n in ("onnxruntime", "tokenizers", "numpy")}


def test_shipped_onnx_file_embeds_as_the_reference() -> None:
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert ref["texts"] == TEXTS, "TEXTS changed: remake the reference (--write)"
    got = _embed()
    here, then = _versions(), ref["versions"]
    where = f"installed {here}, reference made with {then}"
    assert got["onnx_file"] == ref["onnx_file"], f"another shipped file ({where})"
    assert got["ids"] == ref["ids"], f"the tokenizer splits the texts differently ({where})"
    for part in ("windows", "group"):
        want = np.asarray(ref[part], dtype=np.float32)
        diff = float(np.abs(got[part] - want).max())
        assert diff <= ATOL, (
            f"the shipped int8 ONNX file's embeddings ({part}) moved by {diff:.2e} > {ATOL:g} "
            f"({where}): the default model's head would read other inputs. Keep onnxruntime at "
            f"{then['onnxruntime']} (constraints.txt, pyproject's range), or rebuild the assets, "
            "refit the head and remake this reference (--write)."
        )


def _write() -> None:
    got = _embed()
    ref = {
        "versions": _versions(),
        "onnx_file": got["onnx_file"],
        "texts": TEXTS,
        "ids": got["ids"],
        "windows": [[float(f"{x:.8g}") for x in row] for row in got["windows"].tolist()],
        "group": [[float(f"{x:.8g}") for x in row] for row in got["group"].tolist()],
    }
    REFERENCE.write_text(json.dumps(ref) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
    else:
        test_shipped_onnx_file_embeds_as_the_reference()
        print("the shipped ONNX file embeds the reference windows as recorded", _versions())
