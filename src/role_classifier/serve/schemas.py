"""The request and response bodies of the JSON API, as pydantic models (so /docs documents them).

Class names are the schema names in ``/openapi.json``; renaming one renames it there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ERRORS",
    "BatchPosting",
    "BatchRequest",
    "ClassifyRequest",
    "ClassifyResponse",
    "CsvJobBody",
    "ErrorBody",
    "Health",
    "PostingError",
    "RunnerUp",
]


class ClassifyRequest(BaseModel):
    """One ad to classify."""

    text: str = Field(description="The ad as pasted: plain text or HTML (tags are stripped).")
    title: str | None = Field(
        None,
        description="The ad's title. When null, a short first line of the text that does not "
        "end like a sentence is read as the title.",
    )
    top_k: int = Field(3, ge=0, le=20, description="Runner-up roles to list.")
    evidence: int = Field(3, ge=0, le=10, description="Sentences quoted as evidence.")


class RunnerUp(BaseModel):
    """A role that came after the label."""

    label: str
    score: float


class ClassifyResponse(BaseModel):
    """The answer for one ad: exactly what ``role-classifier classify --json`` prints."""

    label: str = Field(description="The role.")
    confidence: float = Field(description="Its calibrated probability.")
    runner_ups: list[RunnerUp] = Field(description="The next roles, most probable first.")
    scores: dict[str, float] = Field(description="Probability of every role (sums to 1).")
    evidence: list[str] = Field(description="The sentences that most support the label.")
    truncated: bool = Field(description="True when a very long ad was read in sampled parts.")
    review: str = Field(
        description="'auto' (the answer can be trusted at the model's stated precision) or "
        "'review' (a person should check it)."
    )
    warning: str | None = Field(
        description="Something about the input worth a look (e.g. no duty text found), or null."
    )
    title: str | None = Field(description="The title read (given or guessed), or null.")
    model: str = Field(description="The model that answered.")


class BatchPosting(BaseModel):
    """One posting of a batch."""

    text: str | None = Field(None, description="The ad; a missing or empty text is an error.")
    title: str | None = Field(None, description="As in /v1/classify.")


class BatchRequest(BaseModel):
    """Up to 256 postings, answered in order."""

    postings: list[BatchPosting]
    top_k: int = Field(3, ge=0, le=20, description="Runner-up roles to list.")
    evidence: int = Field(3, ge=0, le=10, description="Sentences quoted as evidence.")


class PostingError(BaseModel):
    """A posting of a batch that could not be classified (the others still are)."""

    error: str


class Health(BaseModel):
    """The server is up and its model loaded."""

    status: str
    model: str
    backend: str
    labels: list[str]
    batching: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error answer."""

    detail: str


class CsvJobBody(BaseModel):
    """A CSV labelling job."""

    id: str
    state: str = Field(description="running, done or failed.")
    rows_done: int
    rows_total: int | None
    error: str | None
    warnings: list[str] = Field(description="e.g. that the file was not valid UTF-8.")
    summary: dict[str, Any] | None = Field(description="Rows, errors, label counts (when done).")
    shares: dict[str, Any] | None = Field(
        default=None,
        description="Each role's share of the file with 90% intervals (when done), as "
        "`role-classifier shares --json` prints it.",
    )
    shares_plot_url: str | None = Field(default=None, description="A PNG of the shares.")
    status_url: str
    download_url: str | None = Field(description="Where the labelled CSV is, once done.")


ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Body too large."},
    422: {"model": ErrorBody, "description": "Invalid JSON, a missing field, or an empty ad."},
    503: {"model": ErrorBody, "description": "The model is still loading, or the queue is full."},
}
"""The error answers every POST route documents."""
