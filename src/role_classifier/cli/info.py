"""``role-classifier info``: versions, the default model, the cache folder, the extras."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .app import app


@app.command("info")
def info_cli(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show the versions, default model, cache folder and extras: paste it into a bug report.

    Reads package metadata and files only (torch is never imported), so it answers at once.

    Examples:

        role-classifier info

        role-classifier info --json
    """
    from ..info import info

    about = info()
    if as_json:
        typer.echo(json.dumps(about, indent=2, ensure_ascii=False))
        return
    typer.echo(_render(about))


def _render(about: dict[str, Any]) -> str:
    """The plain form: one ``name  value`` line each, in sections, for pasting as text."""
    py, model, cache = about["python"], about["default_model"], about["cache"]
    lines = [f"role-classifier {about['role_classifier']}", ""]
    rows: list[tuple[str, str]] = [
        ("Python", f"{py['version']} ({py['implementation']}, {py['executable']})"),
        ("Platform", f"{about['platform']} ({about['cpus']} CPUs)"),
        ("Default model", model["path"]),
    ]
    if "error" in model:
        rows.append(("  error", model["error"]))
    else:
        held = model["held_out_metrics"] or {}
        shown = [
            f"{view.replace('_', ' ')}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}"
            for view, m in held.items()
            if isinstance(m, dict) and {"accuracy", "macro_f1"} <= m.keys()
        ]
        rows += [
            ("  labels", ", ".join(model["labels"])),
            ("  backend", f"{model['backend']} (trained with {model['trained_with_backend']})"),
            ("  trained", f"{model['trained_at']} on {model['training_rows']} postings"),
            (
                "  held-out data",
                "yes" if model["held_out_data"] else "no (shares --method acc, pacc, em need it)",
            ),
        ]
        if shown:
            rows.append((f"  held-out ({held.get('kind', '?')})", "; ".join(shown)))
    rows.append(("Packages", ""))
    rows += [
        (f"  {name}", version or "not installed") for name, version in about["packages"].items()
    ]
    size = (
        f"{_size(cache['size_bytes'])} in {cache['files']} files, "
        f"{cache['onnx_models']} ONNX model(s) built"
        if cache["exists"]
        else "not created yet"
    )
    env = "ROLE_CLASSIFIER_CACHE"
    by = f"${env}" if cache["configured_by"] == env else f"the user cache folder (${env} moves it)"
    rows += [("Cache", cache["path"]), ("  set by", by), ("  size", size)]
    rows.append(("Extras", ""))
    for name, extra in about["extras"].items():
        if extra["installed"]:
            state = "installed"
        else:
            state = f"missing {', '.join(extra['missing'])}: {extra['install']}"
        rows.append((f"  {name}", state))
    width = max(len(name) for name, _ in rows) + 2
    lines += [f"{name:<{width}}{value}".rstrip() for name, value in rows]
    return "\n".join(lines)


def _size(n: float) -> str:
    units = ("B", "KiB", "MiB", "GiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n, i = n / 1024, i + 1
    return f"{n:.0f} B" if i == 0 else f"{n:.1f} {units[i]}"
