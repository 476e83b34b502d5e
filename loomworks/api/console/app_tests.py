"""Regression tests of an app in the console: cases, runs, results (ours; Dify has none)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from loomworks.api.deps import CurrentCaller, State
from loomworks.core.clock import to_timestamp
from loomworks.services import app_tests
from loomworks.store.tables import AppTestCase, AppTestRun

router = APIRouter(prefix="/apps/{app_id}/tests", tags=["console: app tests"])


class CaseBody(BaseModel):
    name: str
    query: str = ""
    inputs: dict[str, Any] = {}
    assertions: list[dict[str, Any]]


class RunBody(BaseModel):
    target: str = "published"


def case_public(case: AppTestCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "name": case.name,
        "query": case.query,
        "inputs": case.inputs,
        "assertions": case.assertions,
        "created_at": to_timestamp(case.created_at),
    }


def run_public(run: AppTestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "target": run.target,
        "version": run.version,
        "status": run.status,
        "passed": run.passed,
        "failed": run.failed,
        "results": run.results,
        "triggered_by": run.triggered_by,
        "regressions": [r["name"] for r in run.results if r.get("regression")],
        "created_at": to_timestamp(run.created_at),
        "finished_at": to_timestamp(run.finished_at),
    }


@router.get("/cases")
def list_cases(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": [case_public(c) for c in app_tests.list_cases(session, caller=caller, app_id=app_id)]}


@router.post("/cases", status_code=201)
def create_case(app_id: str, body: CaseBody, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return case_public(app_tests.create_case(session, caller=caller, app_id=app_id, **body.model_dump()))


@router.delete("/cases/{case_id}", status_code=204)
def delete_case(app_id: str, case_id: str, caller: CurrentCaller, state: State) -> Response:
    with state.db.session() as session:
        app_tests.delete_case(session, caller=caller, app_id=app_id, case_id=case_id)
    return Response(status_code=204)


@router.post("/runs")
async def run(app_id: str, caller: CurrentCaller, state: State, body: RunBody | None = None) -> dict[str, Any]:
    tester: app_tests.AppTester = state.extras["app_tests"]
    result = await tester.run(caller=caller, app_id=app_id, target=(body or RunBody()).target)
    return run_public(result)


@router.get("/runs")
def list_runs(app_id: str, caller: CurrentCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        return {"data": [run_public(r) for r in app_tests.list_runs(session, caller=caller, app_id=app_id)]}
