"""The review queue (order, export, already-answered rows) and the page's API, without a browser."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from role_classifier.cli import app
from role_classifier.corrections import corrections_path, read_corrections
from role_classifier.review import build_queue, queue_order

runner = CliRunner()
LABELS = ["ML Engineer", "AI Engineer", "Other"]


def _labelled(path: Path, n: int = 12, errors: int = 1) -> Path:
    """A label-csv --all-scores output: margins grow with the row number; the first rows are
    one company's, and every third row is auto."""
    fields = [
        "id",
        "title",
        "description",
        "company",
        "month",
        "predicted_role",
        "confidence",
        *[f"score_{lab}" for lab in LABELS],
        "review",
        "error",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i in range(n):
            top = 0.5 + 0.03 * i
            second = 0.45 - 0.03 * i  # margin 0.05 + 0.06 i
            role = LABELS[i % 2]
            scores = {role: top, LABELS[1 - i % 2]: second, "Other": 0.05}
            w.writerow(
                {
                    "id": f"p{i}",
                    "title": f"Engineer {i}",
                    "description": f"Train machine learning models in pytorch. Posting {i}.",
                    "company": "Acme" if i < 6 else f"Co{i}",
                    "month": f"2024-0{1 + i % 3}",
                    "predicted_role": role,
                    "confidence": top,
                    **{f"score_{k}": v for k, v in scores.items()},
                    "review": "auto" if i % 3 == 2 else "review",
                    "error": "",
                }
            )
        for j in range(errors):
            w.writerow({"id": f"bad{j}", "description": "", "error": "empty text"})
    return path


def test_queue_order_puts_the_review_band_first_least_sure_first() -> None:
    order = queue_order([0.5, 0.1, 0.3, 0.05], [True, True, True, False], ["A", "B", "C", "D"])
    assert order == [1, 2, 0, 3]


def test_queue_order_spreads_over_roles_and_companies() -> None:
    margins = [0.01, 0.02, 0.03, 0.12]
    same = queue_order(margins, [True] * 4, ["A", "A", "A", "B"])
    assert same == [0, 3, 1, 2]  # B's 0.12 beats A's second (0.02 + 0.1) and third
    plain = queue_order(margins, [True] * 4, ["A", "B", "C", "D"], ["x", "x", "x", "y"])
    assert plain == [0, 1, 3, 2]  # the third of company x: 0.03 + 2 * 0.05 > 0.12


def test_build_queue_and_export(tmp_path: Path) -> None:
    labelled = _labelled(tmp_path / "labelled.csv")
    queue = build_queue(labelled)
    assert queue.skipped_errors == 1 and len(queue.rows) == 12
    bands = [r["review"] for r in queue.rows]
    assert bands == sorted(bands, key=lambda b: b == "auto")  # review band first
    assert queue.rows[0]["id"] == "p0" and queue.rows[0]["margin"] == pytest.approx(0.05)
    out = tmp_path / "queue.csv"
    result = runner.invoke(app, ["review", str(labelled), "--export", str(out), "-q"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 8 and all(r["correct_role"] == "" for r in rows)  # the review band
    assert {"id", "title", "description", "margin", "company", "month"} <= set(rows[0])
    for r in rows[:3]:
        r["correct_role"] = "AI Engineer"
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    found = read_corrections(out)  # the filled queue is a corrections file
    assert found.labels == ["AI Engineer"] * 3 and found.unanswered == 5


def test_answered_rows_leave_the_queue_and_unknown_ids_are_reported(tmp_path: Path) -> None:
    labelled = _labelled(tmp_path / "labelled.csv")
    answers = corrections_path(labelled)
    answers.write_text("id,description,correct_role\np0,x,Other\nghost,y,Other\n")
    queue = build_queue(labelled)
    assert "p0" not in {r["id"] for r in queue.rows} and queue.unknown_ids == ["ghost"]
    result = runner.invoke(app, ["review", str(labelled), "--export", str(tmp_path / "q.csv")])
    assert result.exit_code == 0, result.output
    assert "1 correction(s)" in result.stderr and "ghost" in result.stderr


def test_a_file_without_scores_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("id,description\n1,Train models.\n")
    result = runner.invoke(app, ["review", str(path), "--export", str(tmp_path / "q.csv")])
    assert result.exit_code == 2 and "--all-scores" in result.stderr


def test_page_api_answers_skips_undoes_and_saves_each_answer(tmp_path: Path, tiny_trained) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from role_classifier.serve.review import create_review_app

    labelled = _labelled(tmp_path / "labelled.csv")
    answers = corrections_path(labelled)
    client = TestClient(create_review_app(build_queue(labelled), tiny_trained, answers))
    page = client.get("/")
    assert page.status_code == 200 and "review.js" in page.text
    now = client.get("/api/review/current").json()
    assert now["id"] == "p0" and now["labels"] == LABELS and not now["done"]
    assert "".join(s["text"] for s in now["segments"]).startswith("Train machine learning")
    nxt = client.post("/api/review/answer", json={"id": "p0", "role": "AI Engineer"}).json()
    assert read_corrections(answers).labels == ["AI Engineer"]  # saved at once
    stale = client.post("/api/review/answer", json={"id": "p0", "role": "Other"})
    assert stale.status_code == 409
    after_skip = client.post("/api/review/skip", json={"id": nxt["id"]}).json()
    assert client.post("/api/review/undo").json()["id"] == nxt["id"]  # the skip undone
    assert client.post("/api/review/undo").json()["id"] == "p0"  # the answer withdrawn
    with pytest.raises(Exception, match="no corrections"):
        read_corrections(answers)
    assert client.post("/api/review/answer", json={"id": "p0", "role": "Nope"}).status_code == 422
    assert after_skip["position"] == 2
