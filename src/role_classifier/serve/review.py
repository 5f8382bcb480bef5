"""The review page: one posting at a time from the review queue, one key per role.

``role-classifier review LABELLED`` serves it. The page (``static/review.html``) asks
``GET /api/review/current`` for the posting at the head of the queue (its title, its text cut into
segments with the sentences behind the model's answer marked, the model's top roles) and answers
with ``POST /api/review/answer`` (a role), ``/skip`` or ``/undo``. Each answer is appended to the
corrections file at once (:func:`role_classifier.corrections.append_correction`), and an undo
appends a row that withdraws it, so closing the page loses nothing and the file is always a valid
corrections file for ``role-classifier adapt``.

Example:
    >>> app = create_review_app(build_queue("labelled.csv"), clf, "labelled.csv.corrections.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ..corrections import append_correction
from ..modeling.model import RoleClassifier
from ..review import Queue
from ..text import Posting, clean_text
from .pages import SECURITY_HEADERS

__all__ = ["ReviewState", "create_review_app", "router"]

STATIC = Path(__file__).parent / "static"


class ReviewState:
    """The queue, where the person is in it, what they did (for undo) and the model (evidence).

    One lock guards every change: the page sends one request at a time, but a second tab must not
    interleave two appends.
    """

    def __init__(self, queue: Queue, model: RoleClassifier | None, corrections: str | Path):
        self.queue = queue
        self.model = model
        self.corrections = Path(corrections)
        self.position = 0
        self.history: list[tuple[str, int]] = []  # ("answer" | "skip", queue position)
        self.answered = 0
        self.lock = threading.Lock()
        self._evidence: dict[str, list[str]] = {}

    def current(self) -> dict[str, Any]:
        """The posting at the head of the queue (``done`` when none is left)."""
        total = len(self.queue.rows)
        base = {
            "labels": self.queue.labels,
            "total": total,
            "position": self.position,
            "answered": self.answered,
            "corrections_file": str(self.corrections),
            "can_undo": bool(self.history),
        }
        if self.position >= total:
            return {**base, "done": True}
        row = self.queue.rows[self.position]
        top = sorted(row["scores"].items(), key=lambda kv: -kv[1])[:3]
        return {
            **base,
            "done": False,
            "id": row["id"],
            "title": row["title"],
            "segments": _segments(row["description"], self.evidence(row)),
            "predicted_role": row["predicted_role"],
            "review": row["review"],
            "top": [{"label": k, "score": round(v, 4)} for k, v in top],
        }

    def evidence(self, row: dict[str, Any]) -> list[str]:
        """The sentences that most support the model's answer (computed once per posting)."""
        if self.model is None or not row["description"].strip():
            return []
        if row["id"] not in self._evidence:
            posting = Posting(row["description"], row["title"] or None)
            self._evidence[row["id"]] = self.model.classify(posting, evidence=3).evidence
        return self._evidence[row["id"]]

    def answer(self, posting_id: str, role: str) -> None:
        """Save ``role`` for the posting at the head of the queue and move on."""
        row = self._head(posting_id)
        if role not in self.queue.labels:
            raise HTTPException(422, f"unknown role {role!r}; the roles: {self.queue.labels}")
        append_correction(
            self.corrections, {**row, "correct_role": role, "model_role": row["predicted_role"]}
        )
        self.history.append(("answer", self.position))
        self.answered += 1
        self.position += 1

    def skip(self, posting_id: str) -> None:
        """Move on without an answer."""
        self._head(posting_id)
        self.history.append(("skip", self.position))
        self.position += 1

    def undo(self) -> None:
        """Go back one step; an answer is withdrawn in the file (a row with an empty role)."""
        if not self.history:
            raise HTTPException(409, "nothing to undo")
        action, position = self.history.pop()
        if action == "answer":
            row = self.queue.rows[position]
            append_correction(
                self.corrections, {**row, "correct_role": "", "model_role": row["predicted_role"]}
            )
            self.answered -= 1
        self.position = position

    def _head(self, posting_id: str) -> dict[str, Any]:
        if self.position >= len(self.queue.rows):
            raise HTTPException(409, "the queue is done")
        row = self.queue.rows[self.position]
        if row["id"] != posting_id:  # a stale page (another tab moved on): never answer blind
            raise HTTPException(409, f"posting {posting_id!r} is not the current one; reload")
        return row


def _segments(text: str, evidence: list[str]) -> list[dict[str, Any]]:
    """The cleaned text as ``{"text", "mark"}`` pieces, evidence sentences marked (matched with
    any whitespace between their words); the page renders them as text nodes, never as HTML."""
    text = clean_text(text)
    spans = []
    for sentence in evidence:
        words = sentence.split()
        if not words:
            continue
        m = re.search(r"\s+".join(map(re.escape, words)), text)
        if m:
            spans.append(m.span())
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        if start > pos:
            out.append({"text": text[pos:start], "mark": False})
        out.append({"text": text[start:end], "mark": True})
        pos = end
    if pos < len(text):
        out.append({"text": text[pos:], "mark": False})
    return out


def _state(request: Request) -> ReviewState:
    return request.app.state.review


State = Annotated[ReviewState, Depends(_state)]
router = APIRouter(prefix="/api/review")


class Answer(BaseModel):
    """One answer from the page."""

    id: str = Field(description="the posting's id, as the page got it")
    role: str = Field("", description="the right role (empty for a skip)")


@router.get("/current")
def current(state: State) -> dict[str, Any]:
    """The posting to review now."""
    with state.lock:
        return state.current()


@router.post("/answer")
def answer(body: Answer, state: State) -> dict[str, Any]:
    """Save an answer (appended to the corrections file at once); returns the next posting."""
    with state.lock:
        state.answer(body.id, body.role)
        return state.current()


@router.post("/skip")
def skip(body: Answer, state: State) -> dict[str, Any]:
    """Skip the current posting; returns the next."""
    with state.lock:
        state.skip(body.id)
        return state.current()


@router.post("/undo")
def undo(state: State) -> dict[str, Any]:
    """Undo the last answer or skip; returns that posting again."""
    with state.lock:
        state.undo()
        return state.current()


def create_review_app(
    queue: Queue, model: RoleClassifier | None, corrections: str | Path
) -> FastAPI:
    """The review page and its API for ``queue``; answers go to ``corrections``."""
    app = FastAPI(title="role-classifier review", docs_url=None, redoc_url=None)
    app.state.review = ReviewState(queue, model, corrections)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "review.html", headers=SECURITY_HEADERS)

    return app


def run_review(
    queue: Queue,
    model: RoleClassifier | None,
    corrections: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
) -> None:
    """Serve the review page until Ctrl-C or SIGTERM."""
    import uvicorn

    uvicorn.run(
        create_review_app(queue, model, corrections), host=host, port=port, log_level="info"
    )
