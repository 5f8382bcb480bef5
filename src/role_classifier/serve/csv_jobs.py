"""CSV labelling jobs: ``POST /v1/label-csv`` (upload), ``GET .../{id}`` (progress) and
``GET .../{id}/download`` (the labelled file; the job is deleted once it is sent).

The jobs themselves (temp files, threads, limits) are :class:`~.jobs.CsvJobs`; these routes only
start, look up and hand out. A file that cannot be labelled as asked is a user error (422,
through the app's handler).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ..labelling import LabelOptions
from .jobs import CsvJob, TooManyJobsError
from .schemas import ERRORS, CsvJobBody, ErrorBody
from .state import ServeState, StateDep, require_model

__all__ = ["router"]

NO_SUCH_JOB = "no such job (finished jobs are deleted after download)"

router = APIRouter(prefix="/v1/label-csv")


@router.post(
    "",
    status_code=202,
    response_model=CsvJobBody,
    responses={**ERRORS, 429: {"model": ErrorBody, "description": "Too many CSV jobs."}},
)
async def label_csv_upload(
    state: StateDep,
    file: Annotated[UploadFile, File(description="A CSV with a header row.")],
    text_column: Annotated[str, Form(description="The column holding the ad.")] = "description",
    title_column: Annotated[str | None, Form(description="The column holding its title.")] = None,
    top_k: Annotated[int, Form(ge=0, le=20, description="Runner-ups per row.")] = 1,
    all_scores: Annotated[
        bool,
        Form(description="Add a score_<role> column per role, and estimate the role shares."),
    ] = False,
    delimiter: Annotated[
        str | None,
        Form(description="The CSV's delimiter: ',', ';', '|' or 'tab' (empty: sniffed)."),
    ] = None,
) -> dict[str, Any]:
    """Start labelling a CSV like ``label-csv`` (same columns out); poll the job, then download."""
    require_model(state)  # after the form is validated: a bad form is a 422 even while loading
    options = LabelOptions(
        text_column,
        title_column or None,
        top_k=top_k,
        all_scores=all_scores,
        delimiter=(delimiter or "").strip() or None,
    )
    try:
        job = await run_in_threadpool(state.jobs.start, file.file, file.filename or "", options)
    except TooManyJobsError as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "30"}) from exc
    return job.to_dict()


@router.get("/{job_id}", response_model=CsvJobBody, responses={404: {"model": ErrorBody}})
async def label_csv_status(state: StateDep, job_id: str) -> dict[str, Any]:
    """Progress of a CSV job (``rows_done`` of ``rows_total``), and its link once done."""
    return _find_job(state, job_id).to_dict()


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def label_csv_download(state: StateDep, job_id: str) -> FileResponse:
    """The labelled CSV; the job and its files are deleted once it is sent."""
    job = _find_job(state, job_id)
    if job.state != "done":
        raise HTTPException(
            409, f"the job is {job.state}" + (f": {job.error}" if job.error else "")
        )
    return FileResponse(
        job.output,
        media_type="text/csv; charset=utf-8",
        filename=job.download_name,
        background=BackgroundTask(state.jobs.remove, job_id),
    )


@router.get(
    "/{job_id}/shares.png",
    response_class=FileResponse,
    responses={404: {"model": ErrorBody}},
)
async def label_csv_shares_plot(state: StateDep, job_id: str) -> FileResponse:
    """The picture of a finished job's role shares."""
    job = _find_job(state, job_id)
    if job.state != "done" or not job.shares_plot.is_file():
        raise HTTPException(404, "no role-shares picture for this job (yet)")
    return FileResponse(job.shares_plot, media_type="image/png")


def _find_job(state: ServeState, job_id: str) -> CsvJob:
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, NO_SUCH_JOB)
    return job
