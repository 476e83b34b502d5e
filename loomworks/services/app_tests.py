"""Regression tests for apps: cases of inputs with assertions on the answer, run on demand.

A case runs the app as its builder would in the debugger (chat and text apps with their saved
config, workflows with their draft or published graph). Assertions check the answer or a
workflow output: contains / not_contains / equals / regex / json_path, the cost, latency and
tokens of the run, and `llm_judge` (the app's own model answers PASS or FAIL for a criterion).
Each run is stored, and compared with the previous run to list regressions.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from loomworks.core.clock import now
from loomworks.core.errors import InvalidParamError, LoomworksError, NotFoundError
from loomworks.services import apps
from loomworks.services.caller import Caller
from loomworks.services.chat.llm import ChatRequest
from loomworks.services.chat.pipeline import ChatService, TurnRequest
from loomworks.services.workflow_runs import RunRequest, WorkflowRunService
from loomworks.store.db import Database
from loomworks.store.tables import App, AppTestCase, AppTestRun

ASSERTION_TYPES = (
    "contains",
    "not_contains",
    "equals",
    "regex",
    "json_path",
    "max_latency",
    "max_cost",
    "max_tokens",
    "llm_judge",
)
_JUDGE_PROMPT = (
    "You are grading an AI application's response.\n\nCriterion: {criteria}\n\nUser input: {query}\n\n"
    "Response:\n{answer}\n\nDoes the response meet the criterion? Reply with exactly PASS or FAIL."
)


def check_assertions(assertions: Any) -> list[dict[str, Any]]:
    if not isinstance(assertions, list) or not assertions:
        raise InvalidParamError("assertions must be a non-empty list.", params="assertions")
    for item in assertions:
        if not isinstance(item, dict) or item.get("type") not in ASSERTION_TYPES:
            raise InvalidParamError(f"assertion type must be one of {', '.join(ASSERTION_TYPES)}.", params="assertions")
        if item["type"] == "regex":
            try:
                re.compile(str(item.get("pattern", "")))
            except re.error as exc:
                raise InvalidParamError(f"invalid regex: {exc}", params="assertions") from exc
    return assertions


def create_case(
    session: Session,
    *,
    caller: Caller,
    app_id: str,
    name: str,
    query: str = "",
    inputs: dict[str, Any] | None = None,
    assertions: Any,
) -> AppTestCase:
    caller.require_editor()
    app = apps.get(session, caller=caller, app_id=app_id)
    if not name or not name.strip():
        raise InvalidParamError("name is required.", params="name")
    case = AppTestCase(
        app_id=app.id,
        name=name.strip()[:255],
        query=query or "",
        inputs=inputs or {},
        assertions=check_assertions(assertions),
        created_by=caller.account_id,
    )
    session.add(case)
    session.flush()
    return case


def list_cases(session: Session, *, caller: Caller, app_id: str) -> list[AppTestCase]:
    app = apps.get(session, caller=caller, app_id=app_id)
    return list(
        session.scalars(select(AppTestCase).where(AppTestCase.app_id == app.id).order_by(AppTestCase.created_at))
    )


def delete_case(session: Session, *, caller: Caller, app_id: str, case_id: str) -> None:
    caller.require_editor()
    app = apps.get(session, caller=caller, app_id=app_id)
    case = session.scalar(select(AppTestCase).where(AppTestCase.id == case_id, AppTestCase.app_id == app.id))
    if case is None:
        raise NotFoundError("Test case not found.")
    session.delete(case)


@dataclass(slots=True)
class Observation:
    answer: str
    outputs: dict[str, Any] | None
    latency: float
    cost: Decimal
    tokens: int
    error: str | None


def _json_path(document: Any, path: str) -> tuple[bool, Any]:
    """A small JSONPath subset: `$.a.b[0].c`."""
    current = document
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.removeprefix("$")):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(current, list) or index >= len(current):
                return False, None
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _target_text(observation: Observation, assertion: dict[str, Any]) -> str:
    target = str(assertion.get("target", "answer"))
    if target.startswith("output:") and observation.outputs is not None:
        value = observation.outputs.get(target.split(":", 1)[1])
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if observation.outputs is not None and target == "answer":
        return json.dumps(observation.outputs, ensure_ascii=False)
    return observation.answer


class AppTester:
    """Runs an app's test cases and records the outcome."""

    def __init__(self, db: Database, chat: ChatService, workflows: WorkflowRunService) -> None:
        self.db = db
        self.chat = chat
        self.workflows = workflows

    async def _observe(self, app: App, case: AppTestCase, account_id: str, target: str) -> Observation:
        started = time.perf_counter()
        try:
            if app.mode == "workflow":
                prepared = await self.workflows.prepare(
                    RunRequest(
                        app=app,
                        inputs=case.inputs,
                        account_id=account_id,
                        draft=target == "draft",
                        invoke_from="debugger",
                    )
                )
                result = (await self.workflows.blocking(prepared))["data"]
                if result.get("status") != "succeeded":
                    return Observation(
                        "",
                        result.get("outputs") or {},
                        time.perf_counter() - started,
                        Decimal(0),
                        int(result.get("total_tokens") or 0),
                        result.get("error") or "run failed",
                    )
                return Observation(
                    "",
                    result.get("outputs") or {},
                    time.perf_counter() - started,
                    Decimal(0),
                    int(result.get("total_tokens") or 0),
                    None,
                )
            turn = await self.chat.prepare(
                TurnRequest(
                    app=app,
                    query=case.query,
                    inputs=case.inputs,
                    account_id=account_id,
                    invoke_from="debugger",
                    auto_generate_name=False,
                ),
                expect_chat=app.mode != "completion",
            )
            body = await self.chat.blocking(turn)
            usage = (body.get("metadata") or {}).get("usage") or {}
            return Observation(
                body.get("answer", ""),
                None,
                time.perf_counter() - started,
                Decimal(str(usage.get("total_price", "0"))),
                int(usage.get("total_tokens", 0)),
                None,
            )
        except LoomworksError as exc:
            return Observation("", None, time.perf_counter() - started, Decimal(0), 0, f"{exc.code}: {exc.message}")

    async def _judge(self, app: App, case: AppTestCase, observation: Observation, criteria: str) -> tuple[bool, str]:
        def load() -> Any:
            with self.db.session() as session:
                config = self.chat.config_of(session, app)
                settings = config.get("model") or {}
                return self.chat.resolver.resolve(
                    session,
                    tenant_id=app.tenant_id,
                    provider=str(settings.get("provider") or ""),
                    model=str(settings.get("name") or ""),
                )

        model = await run_in_threadpool(load)
        prompt = _JUDGE_PROMPT.format(
            criteria=criteria,
            query=case.query or json.dumps(case.inputs),
            answer=observation.answer or json.dumps(observation.outputs),
        )
        parts = [
            d.text
            async for d in model.stream(
                ChatRequest(messages=[{"role": "user", "content": prompt}], parameters={"max_tokens": 5})
            )
        ]
        verdict = "".join(parts).strip().upper()
        return verdict.startswith("PASS"), f"judge said {verdict[:20] or 'nothing'}"

    async def _check(
        self, app: App, case: AppTestCase, observation: Observation, assertion: dict[str, Any]
    ) -> dict[str, Any]:
        kind = assertion["type"]
        text = _target_text(observation, assertion)
        passed, detail = False, ""
        if kind == "contains":
            passed, detail = str(assertion.get("value", "")) in text, f"looked for {assertion.get('value')!r}"
        elif kind == "not_contains":
            passed, detail = str(assertion.get("value", "")) not in text, f"must not contain {assertion.get('value')!r}"
        elif kind == "equals":
            passed, detail = text.strip() == str(assertion.get("value", "")).strip(), "exact match"
        elif kind == "regex":
            passed, detail = re.search(str(assertion.get("pattern", "")), text) is not None, "regex search"
        elif kind == "json_path":
            try:
                document = observation.outputs if observation.outputs is not None else json.loads(observation.answer)
            except json.JSONDecodeError:
                document = None
            found, value = _json_path(document, str(assertion.get("path", "$")))
            passed = found and ("equals" not in assertion or value == assertion["equals"])
            detail = f"{assertion.get('path')} = {value!r}" if found else f"{assertion.get('path')} not found"
        elif kind == "max_latency":
            passed = observation.latency <= float(assertion.get("seconds", 0))
            detail = f"{observation.latency:.3f} s"
        elif kind == "max_cost":
            passed = observation.cost <= Decimal(str(assertion.get("amount", 0)))
            detail = f"{observation.cost}"
        elif kind == "max_tokens":
            passed, detail = observation.tokens <= int(assertion.get("tokens", 0)), f"{observation.tokens} tokens"
        elif kind == "llm_judge":
            passed, detail = await self._judge(app, case, observation, str(assertion.get("criteria", "")))
        return {"type": kind, "passed": passed, "detail": detail}

    async def run(
        self, *, caller: Caller, app_id: str, target: str = "published", triggered_by: str = "console"
    ) -> AppTestRun:
        """Run every case of the app; the stored run lists each check and the regressions."""

        def load() -> tuple[App, list[AppTestCase], dict[str, bool], str]:
            with self.db.session() as session:
                app = apps.get(session, caller=caller, app_id=app_id)
                cases = list_cases(session, caller=caller, app_id=app_id)
                if not cases:
                    raise InvalidParamError("The app has no test cases.", params="app_id")
                last = session.scalar(
                    select(AppTestRun)
                    .where(AppTestRun.app_id == app.id, AppTestRun.status != "running")
                    .order_by(AppTestRun.created_at.desc())
                    .limit(1)
                )
                before = {r["case_id"]: r["passed"] for r in (last.results if last else [])}
                run = AppTestRun(
                    app_id=app.id,
                    target=target,
                    status="running",
                    triggered_by=triggered_by,
                    version=app.workflow_id if app.mode == "workflow" else app.app_model_config_id,
                    created_by=caller.account_id,
                    results=[],
                )
                session.add(run)
                session.flush()
                for case in cases:
                    session.expunge(case)
                return app, cases, before, run.id

        app, cases, before, run_id = await run_in_threadpool(load)
        results = []
        for case in cases:
            observation = await self._observe(app, case, caller.account_id, target)
            checks = (
                [] if observation.error else [await self._check(app, case, observation, a) for a in case.assertions]
            )
            passed = observation.error is None and all(c["passed"] for c in checks)
            results.append(
                {
                    "case_id": case.id,
                    "name": case.name,
                    "passed": passed,
                    "checks": checks,
                    "answer": observation.answer[:2000],
                    "outputs": observation.outputs,
                    "error": observation.error,
                    "latency": round(observation.latency, 4),
                    "cost": str(observation.cost),
                    "tokens": observation.tokens,
                    "regression": passed is False and before.get(case.id) is True,
                }
            )

        def store() -> AppTestRun:
            with self.db.session() as session:
                run = session.get(AppTestRun, run_id)
                assert run is not None
                run.results = results
                run.passed = sum(1 for r in results if r["passed"])
                run.failed = len(results) - run.passed
                run.status = "passed" if run.failed == 0 else "failed"
                run.finished_at = now()
                return run

        return await run_in_threadpool(store)


def list_runs(session: Session, *, caller: Caller, app_id: str, limit: int = 20) -> list[AppTestRun]:
    app = apps.get(session, caller=caller, app_id=app_id)
    return list(
        session.scalars(
            select(AppTestRun).where(AppTestRun.app_id == app.id).order_by(AppTestRun.created_at.desc()).limit(limit)
        )
    )
