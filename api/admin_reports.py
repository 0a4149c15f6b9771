"""What the console reads besides documents: feedback, coverage gaps and grounding eval runs.

`GET /v1/admin/feedback` and `GET /v1/admin/gaps` serve the data of `groundedqa report feedback`
and `groundedqa report gaps` (JSON, and the feedback's CSV); `POST /v1/admin/eval` runs the
grounding eval on the live service in the background, `GET /v1/admin/eval/{run_id}` follows it.
Mounted under the admin prefix, so the AdminGuard refuses every request without an admin key.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from groundedqa.api.holder import ServiceHolder
from groundedqa.api.protection import ADMIN_PREFIX
from groundedqa.eval import grounding
from groundedqa.eval.clients import PipelineClient
from groundedqa.eval.runs import BUILTIN_SETS, EvalBusy, EvalRunner, builtin_questions, run_csv, run_json
from groundedqa.feedback_export import feedback_rows, feedback_summary, to_csv
from groundedqa.gap_report import build_report, report_json
from groundedqa.state import StateStore

Since = Query(None, ge=1, le=3650, description="Only the last this many days (default: all kept).")
Format = Query("json", description="json, or csv for a spreadsheet.")


def reports_router(state: StateStore, holder: ServiceHolder, runner: EvalRunner) -> APIRouter:
    router = APIRouter(prefix=ADMIN_PREFIX.rstrip("/"), tags=["admin"])

    def problem(status: int, code: str, message: str, request: Request) -> JSONResponse:
        return JSONResponse(request.app.state.error_body(status, code, message), status_code=status)

    @router.get("/feedback")
    def feedback(since: int | None = Since, format: Literal["json", "csv"] = Format) -> Any:  # noqa: A002
        """Patients' helpful / not helpful: the records (as `report feedback`), and by article,
        by week and with words; `format=csv` is the spreadsheet `report feedback` writes."""
        records = state.feedback.export(_since(since))
        if format == "csv":
            return _csv(to_csv(records), "feedback.csv")
        return {"since": since, "store_question_text": state.feedback.store_text,
                **feedback_summary(records, _titles(state, holder)),
                "records": feedback_rows(records)}

    @router.get("/gaps")
    def gaps(since: int | None = Since) -> dict[str, Any]:
        """The coverage-gap report (`report gaps`): topics largest first, weekly counts, examples."""
        return report_json(build_report(state.gaps.gaps(_since(since)), state.gaps.topics()))

    @router.get("/eval")
    def eval_runs() -> dict[str, Any]:
        """The built-in question sets and the kept runs, newest first (without their rows)."""
        return {"builtin": list(BUILTIN_SETS),
                "runs": [run_json(r, results=False) for r in runner.runs()]}

    @router.post("/eval", status_code=202)
    def start_eval(request: Request, questions: str | None = Form(None),
                   file: UploadFile | None = File(None)) -> Any:
        """Run the grounding eval on a built-in set (`questions`) or an uploaded JSONL (`file`)."""
        try:
            if file is not None and file.filename:
                try:
                    text = file.file.read().decode("utf-8")
                except UnicodeDecodeError:
                    raise grounding.QuestionFileError(f"{file.filename}: not UTF-8 text") from None
                asked, source = grounding.parse_questions(text, file.filename), file.filename
            elif questions:
                asked, source = builtin_questions(questions), f"built-in: {questions}"
            else:
                raise grounding.QuestionFileError(
                    "give a question file (JSONL) or the name of a built-in set "
                    f"({', '.join(BUILTIN_SETS)})")
            run = runner.start(asked, source)
        except grounding.QuestionFileError as exc:
            return problem(422, "invalid_questions", str(exc), request)
        except EvalBusy as exc:
            return problem(409, "eval_running", str(exc), request)
        return run_json(run)

    @router.get("/eval/{run_id}")
    def eval_run(run_id: str, request: Request, format: Literal["json", "csv"] = Format) -> Any:  # noqa: A002
        """A run's progress; once done its summary against the thresholds and every question."""
        run = runner.get(run_id)
        if run is None:
            return problem(404, "unknown_run", f"no evaluation run {run_id!r} (runs are kept "
                           "in memory until the server restarts)", request)
        if format == "csv":
            if run.summary is None:
                return problem(409, "eval_not_done", f"evaluation {run_id} is {run.status}",
                               request)
            return _csv(run_csv(run), f"eval-{run_id}.csv")
        return run_json(run)

    return router


def eval_runner(holder: ServiceHolder) -> EvalRunner:
    """Runs against the build serving when each run starts."""
    def connect() -> PipelineClient:
        service = holder.get()
        if service is None:
            raise RuntimeError(holder.last_error or "no index is loaded")
        return PipelineClient(service, f"live build {service.build_id}")

    return EvalRunner(connect)


def _since(days: int | None) -> datetime | None:
    return datetime.now(timezone.utc) - timedelta(days=days) if days else None


def _titles(state: StateStore, holder: ServiceHolder) -> dict[str, str]:
    """Article titles by doc id: retained versions, then the live build's (which win)."""
    titles = {v.doc_id: v.title for v in state.versions.history()}
    service = holder.get()
    if service is not None:
        store = service.index.store
        titles.update(zip(store.doc_ids, store.doc_titles))
    return titles


def _csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
