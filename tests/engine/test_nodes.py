"""Each node type: Dify's `data` fields in, Dify's outputs out (scenario tables per node)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from loomworks.engine import Ports
from loomworks.engine.nodes.assigner import apply
from tests.engine._fakes import (
    FakeAgents,
    FakeCode,
    FakeFiles,
    FakeHttp,
    FakeMemory,
    FakeModel,
    FakeRetrieval,
    FakeTools,
    all_ports,
)
from tests.engine._graphs import chain, collect, edge, end, finished, graph, node, node_data, ran, start, template

MODEL = {"provider": "fake", "name": "m", "mode": "chat", "completion_params": {"temperature": 0.2, "stop": ["END"]}}
FILE = {
    "dify_model_identity": "__dify__file__",
    "type": "image",
    "transfer_method": "remote_url",
    "url": "https://example.invalid/cat.png",
    "filename": "cat.png",
    "extension": ".png",
}


def one(node_raw: dict[str, Any], *, out: list[str] | None = None, extra: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """start -> node -> end(out=node.<out>)."""
    nid = node_raw["id"]
    return graph([start("x"), node_raw, *extra, end(out=out or [nid, "output"])], chain("start", nid, "end"))


async def test_template_transform_jinja_sandboxed() -> None:
    raw = one(template("t", "{% for i in items %}{{ i|upper }}{% endfor %}", items=["start", "x"]))
    assert finished(await collect(raw, {"x": ["a", "b"]}))["outputs"] == {"out": "AB"}
    unsafe = one(template("t", "{{ x.__class__.__mro__ }}", x=["start", "x"]))
    data = finished(await collect(unsafe, {"x": "s"}))
    assert data["status"] == "failed"
    assert "template rendering failed" in data["error"]


async def test_env_conversation_and_nested_selectors() -> None:
    raw = graph(
        [start("x"), node("a", "answer", answer="{{#env.KEY#}}/{{#conversation.topic#}}/{{#start.x.inner#}}")],
        chain("start", "a"),
    )
    events = await collect(
        raw,
        {"x": {"inner": "deep"}},
        mode="advanced-chat",
        environment=[{"name": "KEY", "value": "k1", "value_type": "string"}],
        conversation=[{"name": "topic", "value": "", "value_type": "string"}],
        conversation_values={"topic": "cats"},
    )
    assert finished(events)["outputs"]["answer"] == "k1/cats/deep"


async def test_start_defaults_and_sys() -> None:
    raw = graph(
        [
            node("start", "start", variables=[{"variable": "n", "type": "number", "default": 5}]),
            end(n=["start", "n"], user=["sys", "user_id"]),
        ],
        chain("start", "end"),
    )
    events = await collect(raw, {}, system={"user_id": "u-9"})
    assert finished(events)["outputs"] == {"n": 5, "user": "u-9"}


async def test_variable_aggregator_and_groups() -> None:
    raw = graph(
        [
            start("x"),
            template("t", "T"),
            node("agg", "variable-assigner", variables=[["missing", "output"], ["t", "output"]]),
            node(
                "grp",
                "variable-aggregator",
                advanced_settings={
                    "group_enabled": True,
                    "groups": [
                        {"group_name": "g1", "variables": [["t", "output"]], "output_type": "string", "groupId": "1"}
                    ],
                },
            ),
            end(a=["agg", "output"], g=["grp", "g1", "output"]),
        ],
        chain("start", "t", "agg", "grp", "end"),
    )
    assert finished(await collect(raw, {}))["outputs"] == {"a": "T", "g": "T"}


@pytest.mark.parametrize(
    ("operation", "current", "value", "expected"),
    [
        ("over-write", "a", "b", "b"),
        ("set", 1, 2, 2),
        ("clear", "abc", None, ""),
        ("clear", [1], None, []),
        ("clear", {"a": 1}, None, {}),
        ("clear", 4, None, 0),
        ("append", [1], 2, [1, 2]),
        ("extend", [1], [2, 3], [1, 2, 3]),
        ("remove-first", [1, 2, 3], None, [2, 3]),
        ("remove-last", [1, 2, 3], None, [1, 2]),
        ("remove-last", [], None, []),
        ("+=", 2, 3, 5),
        ("-=", 2, 3, -1),
        ("*=", 2, 3, 6),
        ("/=", 6, 3, 2),
    ],
)
def test_assigner_operations(operation: str, current: Any, value: Any, expected: Any) -> None:
    assert apply(operation, current, value) == expected


async def test_assigner_v1_and_v2_write_conversation_variables() -> None:
    raw = graph(
        [
            start("x"),
            node(
                "v1",
                "assigner",
                version="1",
                assigned_variable_selector=["conversation", "log"],
                write_mode="append",
                input_variable_selector=["start", "x"],
            ),
            node(
                "v2",
                "assigner",
                version="2",
                items=[
                    {
                        "variable_selector": ["conversation", "count"],
                        "input_type": "constant",
                        "operation": "+=",
                        "value": 2,
                    },
                    {
                        "variable_selector": ["conversation", "name"],
                        "input_type": "variable",
                        "operation": "over-write",
                        "value": ["start", "x"],
                    },
                ],
            ),
            node("a", "answer", answer="{{#conversation.log#}} {{#conversation.count#}} {{#conversation.name#}}"),
        ],
        chain("start", "v1", "v2", "a"),
    )
    conversation = [
        {"name": "log", "value_type": "array[string]", "value": ["a"]},
        {"name": "count", "value_type": "number", "value": "1"},
        {"name": "name", "value_type": "string", "value": ""},
    ]
    events = await collect(raw, {"x": "b"}, mode="advanced-chat", conversation=conversation)
    assert finished(events)["outputs"]["answer"] == '["a", "b"] 3 b'
    updated = node_data(events, "v2")["process_data"]["updated_variables"]
    assert updated[0] == {
        "name": "count",
        "selector": ["conversation", "count"],
        "value_type": "number",
        "new_value": 3,
    }


async def test_assigner_type_error_fails() -> None:
    raw = graph(
        [
            start("x"),
            node(
                "v",
                "assigner",
                version="2",
                items=[
                    {
                        "variable_selector": ["conversation", "s"],
                        "input_type": "constant",
                        "operation": "+=",
                        "value": 1,
                    }
                ],
            ),
        ],
        chain("start", "v"),
    )
    events = await collect(
        raw, {}, mode="advanced-chat", conversation=[{"name": "s", "value_type": "string", "value": "a"}]
    )
    assert "needs a number variable" in finished(events)["error"]


async def test_list_operator_filter_order_limit_extract() -> None:
    raw = one(
        node(
            "lo",
            "list-operator",
            variable=["start", "x"],
            filter_by={"enabled": True, "conditions": [{"key": "", "comparison_operator": ">", "value": "1"}]},
            order_by={"enabled": True, "key": "", "value": "desc"},
            limit={"enabled": True, "size": 2},
        ),
        out=["lo", "result"],
    )
    assert finished(await collect(raw, {"x": [1, 5, 3, 2, 4]}))["outputs"] == {"out": [5, 4]}
    files = [{**FILE, "filename": "b.pdf", "extension": ".pdf", "type": "document"}, FILE]
    raw = graph(
        [
            start("x"),
            node(
                "lo",
                "list-operator",
                variable=["start", "x"],
                filter_by={
                    "enabled": True,
                    "conditions": [{"key": "type", "comparison_operator": "in", "value": ["image"]}],
                },
                extract_by={"enabled": True, "serial": "1"},
            ),
            end(first=["lo", "first_record"], n=["lo", "result"]),
        ],
        chain("start", "lo", "end"),
    )
    out = finished(await collect(raw, {"x": files}))["outputs"]
    assert out["first"]["filename"] == "cat.png"
    assert len(out["n"]) == 1


def _iteration(kind: str = "string", **data: Any) -> dict[str, Any]:
    return graph(
        [
            start("x"),
            node(
                "it",
                "iteration",
                iterator_selector=["start", "x"],
                output_selector=["code", "v"],
                start_node_id="itstart",
                **data,
            ),
            node("itstart", "iteration-start", parent="it"),
            {
                **node(
                    "code",
                    "code",
                    parent="it",
                    code="c",
                    outputs={"v": {"type": kind}},
                    variables=[{"variable": "item", "value_selector": ["it", "item"]}],
                )
            },
            end(out=["it", "output"]),
        ],
        [*chain("start", "it", "end"), edge("itstart", "code")],
    )


class EchoCode:
    """Echoes `item`; fails for the item "bad"; sleeps `delay`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def execute(self, *, language: str, code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        import asyncio

        if self.delay:
            await asyncio.sleep(self.delay)
        if inputs.get("item") == "bad":
            raise ValueError("bad item")
        item = inputs.get("item")
        return {"v": item if not isinstance(item, list) else item}


@pytest.mark.parametrize("parallel", [False, True])
async def test_iteration_outputs_and_events(parallel: bool) -> None:
    events = await collect(
        _iteration(is_parallel=parallel, parallel_nums=4), {"x": ["a", "b", "c"]}, ports=Ports(code=EchoCode())
    )
    assert finished(events)["outputs"] == {"out": ["a", "b", "c"]}
    kinds = [e["event"] for e in events]
    assert kinds.count("iteration_started") == 1
    assert kinds.count("iteration_next") == 3
    assert kinds.count("iteration_completed") == 1
    inner = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "code"]
    assert sorted(d["execution_metadata"]["iteration_index"] for d in inner) == [0, 1, 2]
    assert all(d["iteration_id"] == "it" for d in inner)
    assert kinds.index("iteration_completed") < kinds.index("workflow_finished")


async def test_parallel_iteration_is_concurrent() -> None:
    began = time.perf_counter()
    events = await collect(
        _iteration(is_parallel=True, parallel_nums=10), {"x": list("abcdefghij")}, ports=Ports(code=EchoCode(delay=0.1))
    )
    assert time.perf_counter() - began < 0.35
    assert finished(events)["outputs"]["out"] == list("abcdefghij")


@pytest.mark.parametrize(
    ("mode", "status", "output"),
    [
        ("terminated", "failed", None),
        ("continue-on-error", "succeeded", ["a", None, "c"]),
        ("remove-abnormal-output", "succeeded", ["a", "c"]),
    ],
)
async def test_iteration_error_modes(mode: str, status: str, output: Any) -> None:
    events = await collect(_iteration(error_handle_mode=mode), {"x": ["a", "bad", "c"]}, ports=Ports(code=EchoCode()))
    assert finished(events)["status"] == status
    if output is not None:
        assert finished(events)["outputs"] == {"out": output}
    else:
        assert "bad item" in finished(events)["error"]


async def test_iteration_flattens_list_outputs() -> None:
    events = await collect(_iteration("array[string]"), {"x": [["a"], ["b", "c"]]}, ports=Ports(code=EchoCode()))
    assert finished(events)["outputs"] == {"out": ["a", "b", "c"]}
    events = await collect(
        _iteration("array[string]", flatten_output=False), {"x": [["a"], ["b"]]}, ports=Ports(code=EchoCode())
    )
    assert finished(events)["outputs"] == {"out": [["a"], ["b"]]}


def _loop(**data: Any) -> dict[str, Any]:
    inner_assign = node(
        "inc",
        "assigner",
        version="2",
        items=[{"variable_selector": ["lp", "n"], "input_type": "constant", "operation": "+=", "value": 1}],
    )
    inner_assign["parentId"] = "lp"
    ls = node("ls", "loop-start")
    ls["parentId"] = "lp"
    return graph(
        [
            start("x"),
            node(
                "lp",
                "loop",
                start_node_id="ls",
                loop_variables=[{"label": "n", "var_type": "number", "value_type": "constant", "value": "0"}],
                **data,
            ),
            ls,
            inner_assign,
            end(out=["lp", "n"], rounds=["lp", "loop_round"]),
        ],
        [*chain("start", "lp", "end"), edge("ls", "inc")],
    )


async def test_loop_count_and_break_conditions() -> None:
    events = await collect(_loop(loop_count=4), {})
    assert finished(events)["outputs"] == {"out": 4, "rounds": 4}
    kinds = [e["event"] for e in events]
    assert kinds.count("loop_next") == 4
    assert kinds.count("loop_started") == 1
    assert kinds.count("loop_completed") == 1
    cond = {"variable_selector": ["lp", "n"], "comparison_operator": "≥", "value": "2"}
    events = await collect(_loop(loop_count=10, break_conditions=[cond], logical_operator="and"), {})
    assert finished(events)["outputs"] == {"out": 2, "rounds": 2}


async def test_loop_end_node_breaks() -> None:
    raw = _loop(loop_count=10)
    le = node("le", "loop-end")
    le["parentId"] = "lp"
    raw["nodes"].append(le)
    raw["edges"].append(edge("inc", "le"))
    assert finished(await collect(raw, {}))["outputs"] == {"out": 1, "rounds": 1}


async def test_code_node_checks_declared_outputs() -> None:
    code = node(
        "code",
        "code",
        code="def main(): ...",
        code_language="python3",
        outputs={"v": {"type": "number"}},
        variables=[{"variable": "a", "value_selector": ["start", "x"]}],
    )
    port = FakeCode(results={"v": 3})
    events = await collect(one(code, out=["code", "v"]), {"x": "in"}, ports=Ports(code=port))
    assert finished(events)["outputs"] == {"out": 3}
    assert port.calls == [{"language": "python3", "code": "def main(): ...", "inputs": {"a": "in"}}]
    bad = await collect(one(code, out=["code", "v"]), {"x": "in"}, ports=Ports(code=FakeCode(results={"v": "3"})))
    assert "must be a number" in finished(bad)["error"]
    missing = await collect(one(code, out=["code", "v"]), {"x": "in"}, ports=Ports(code=FakeCode(results={})))
    assert finished(missing)["error"] == "Output v is missing."


async def test_http_request_builds_dify_request() -> None:
    http = FakeHttp(body=b'{"a": 1}')
    req = node(
        "h",
        "http-request",
        method="post",
        url="https://api.example.invalid/{{#start.x#}}",
        headers="X-One:1\n\nX-Two: {{#start.x#}}",
        params="q:{{#start.x#}}",
        authorization={"type": "api-key", "config": {"type": "basic", "api_key": "u:p"}},
        body={"type": "json", "data": [{"type": "text", "value": '{"v": "{{#start.x#}}"}'}]},
        timeout={"connect": 3, "read": 4, "write": 5},
    )
    events = await collect(one(req, out=["h", "body"]), {"x": "abc"}, ports=Ports(http=http))
    assert finished(events)["outputs"] == {"out": '{"a": 1}'}
    sent = http.requests[0]
    assert sent.method == "POST"
    assert sent.url == "https://api.example.invalid/abc"
    assert ("X-Two", "abc") in sent.headers
    assert ("Authorization", "Basic dTpw") in sent.headers
    assert ("Content-Type", "application/json") in sent.headers
    assert sent.params == [("q", "abc")]
    assert sent.content == b'{"v": "abc"}'
    assert (sent.connect_timeout, sent.read_timeout, sent.write_timeout) == (3, 4, 5)
    out = node_data(events, "h")["outputs"]
    assert out["status_code"] == 200
    assert out["headers"] == {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "check"),
    [
        (
            {"type": "x-www-form-urlencoded", "data": [{"key": "a", "type": "text", "value": "{{#start.x#}}"}]},
            lambda r: r.form == [("a", "abc")],
        ),
        (
            {
                "type": "form-data",
                "data": [
                    {"key": "f", "type": "file", "file": ["start", "f"]},
                    {"key": "t", "type": "text", "value": "v"},
                ],
            },
            lambda r: r.multipart == [("f", ("cat.png", b"bytes of cat.png", "application/octet-stream")), ("t", "v")],
        ),
        ({"type": "raw-text", "data": "plain {{#start.x#}}"}, lambda r: r.content == b"plain abc"),
        (
            {"type": "binary", "data": [{"type": "file", "file": ["start", "f"]}]},
            lambda r: r.content == b"bytes of cat.png",
        ),
        ({"type": "none", "data": []}, lambda r: r.content is None and r.form is None),
    ],
)
async def test_http_request_bodies(body: dict[str, Any], check: Any) -> None:
    http = FakeHttp()
    req = node(
        "h",
        "http-request",
        method="POST",
        url="http://h.invalid/",
        body=body,
        authorization={"type": "api-key", "config": {"type": "bearer", "api_key": "k"}},
    )
    events = await collect(
        one(req, out=["h", "status_code"]), {"x": "abc", "f": FILE}, ports=Ports(http=http, files=FakeFiles())
    )
    assert finished(events)["status"] == "succeeded", finished(events)["error"]
    assert check(http.requests[0])
    assert ("Authorization", "Bearer k") in http.requests[0].headers


async def test_http_binary_response_becomes_a_file() -> None:
    files = FakeFiles()
    req = node("h", "http-request", method="get", url="http://h.invalid/img")
    events = await collect(
        one(req, out=["h", "files"]),
        {},
        ports=Ports(http=FakeHttp(body=b"\x89PNG", content_type="image/png"), files=files),
    )
    assert finished(events)["outputs"]["out"][0]["mime_type"] == "image/png"
    assert files.saved == [b"\x89PNG"]


async def test_llm_prompt_memory_context_vision() -> None:
    model = FakeModel(reply="hi")
    memory = FakeMemory(turns=[{"role": "user", "content": "old q"}, {"role": "assistant", "content": "old a"}])
    llm = node(
        "llm",
        "llm",
        model=MODEL,
        prompt_template=[
            {"role": "system", "text": "Context: {{#context#}}"},
            {"role": "user", "text": "about {{#start.x#}}"},
        ],
        context={"enabled": True, "variable_selector": ["kr", "result"]},
        memory={"window": {"enabled": True, "size": 5}, "query_prompt_template": "{{#sys.query#}}"},
        vision={"enabled": True, "configs": {"variable_selector": ["sys", "files"], "detail": "low"}},
    )
    kr = node(
        "kr",
        "knowledge-retrieval",
        query_variable_selector=["sys", "query"],
        dataset_ids=["d1"],
        retrieval_mode="multiple",
        multiple_retrieval_config={"top_k": 2},
    )
    raw = graph([start("x"), kr, llm, node("a", "answer", answer="{{#llm.text#}}")], chain("start", "kr", "llm", "a"))
    events = await collect(
        raw,
        {"x": "cats"},
        mode="advanced-chat",
        ports=Ports(model=model, memory=memory, retrieval=FakeRetrieval()),
        system={"query": "Q?", "conversation_id": "c1", "files": [FILE]},
    )
    assert finished(events)["outputs"]["answer"] == "hi"
    request = model.requests[0]
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user", "user"]
    assert request.messages[0]["content"] == "Context: chunk about Q?"
    assert request.messages[3]["content"] == "about cats"
    last = request.messages[-1]["content"]
    assert last[0] == {"type": "text", "text": "Q?"}
    assert last[1] == {"type": "image_url", "image_url": {"url": FILE["url"], "detail": "low"}}
    assert request.parameters == {"temperature": 0.2}
    assert request.stop == ["END"]
    kr_out = node_data(events, "kr")["outputs"]["result"][0]
    assert kr_out["content"] == "chunk about Q?"
    assert kr_out["metadata"]["dataset_id"] == "d1"
    assert kr_out["metadata"]["position"] == 1


async def test_llm_completion_mode_jinja_and_structured_output() -> None:
    model = FakeModel()
    llm = node(
        "llm",
        "llm",
        model={**MODEL, "mode": "completion"},
        prompt_template={"edition_type": "jinja2", "jinja2_text": "Say {{ word }}", "text": ""},
        prompt_config={"jinja2_variables": [{"variable": "word", "value_selector": ["start", "x"]}]},
        structured_output_enabled=True,
        structured_output={"schema": {"type": "object", "properties": {"n": {"type": "number"}}}},
    )
    events = await collect(one(llm, out=["llm", "structured_output"]), {"x": "yes"}, ports=Ports(model=model))
    assert finished(events)["outputs"] == {"out": {"n": 1}}
    assert model.requests[0].mode == "completion"
    assert model.requests[0].messages == [{"role": "user", "content": "Say yes"}]


async def test_question_classifier_routes_by_class_id() -> None:
    qc = node(
        "qc",
        "question-classifier",
        model=MODEL,
        query_variable_selector=["start", "x"],
        classes=[{"id": "c1", "name": "Billing"}, {"id": "c2", "name": "Other"}],
    )
    raw = graph(
        [
            start("x"),
            qc,
            template("billing", "B"),
            template("other", "O"),
            node("agg", "variable-aggregator", variables=[["billing", "output"], ["other", "output"]]),
            end(out=["agg", "output"], cls=["qc", "class_name"]),
        ],
        [
            edge("start", "qc"),
            edge("qc", "billing", "c1"),
            edge("qc", "other", "c2"),
            edge("billing", "agg"),
            edge("other", "agg"),
            edge("agg", "end"),
        ],
    )
    events = await collect(raw, {"x": "my bill"}, ports=Ports(model=FakeModel()))
    assert finished(events)["outputs"] == {"out": "B", "cls": "Billing"}
    assert "other" not in ran(events)


@pytest.mark.parametrize("mode", ["function_call", "prompt"])
async def test_parameter_extractor(mode: str) -> None:
    pe = node(
        "pe",
        "parameter-extractor",
        model=MODEL,
        query=["start", "x"],
        reasoning_mode=mode,
        parameters=[
            {"name": "city", "type": "string", "required": True, "description": "d"},
            {"name": "n", "type": "number", "required": False, "description": "d"},
            {"name": "kind", "type": "select", "options": ["a", "b"], "required": True, "description": "d"},
        ],
    )
    raw = graph(
        [start("x"), pe, end(city=["pe", "city"], n=["pe", "n"], kind=["pe", "kind"], ok=["pe", "__is_success"])],
        chain("start", "pe", "end"),
    )
    model = FakeModel()
    events = await collect(raw, {"x": "Paris"}, ports=Ports(model=model))
    assert finished(events)["outputs"] == {"city": "value", "n": 1, "kind": "a", "ok": 1}
    assert bool(model.requests[0].tools) is (mode == "function_call")


async def test_tool_agent_document_extractor() -> None:
    tools = FakeTools()
    tool = node(
        "tool",
        "tool",
        provider_id="time",
        provider_type="builtin",
        provider_name="time",
        tool_name="current_time",
        tool_configurations={"fmt": "iso"},
        tool_parameters={
            "tz": {"type": "mixed", "value": "zone {{#start.x#}}"},
            "raw": {"type": "variable", "value": ["start", "x"]},
            "c": {"type": "constant", "value": 3},
        },
    )
    agent = node(
        "agent",
        "agent",
        agent_strategy_provider_name="p",
        agent_strategy_name="react",
        agent_parameters={"query": {"type": "mixed", "value": "{{#start.x#}}"}},
    )
    doc = node("doc", "document-extractor", variable_selector=["start", "f"], is_array_file=True)
    raw = graph(
        [start("x", "f"), tool, agent, doc, end(t=["tool", "text"], a=["agent", "text"], d=["doc", "text"])],
        chain("start", "tool", "agent", "doc", "end"),
    )
    events = await collect(
        raw, {"x": "UTC", "f": [FILE]}, ports=Ports(tools=tools, agents=FakeAgents(), files=FakeFiles())
    )
    assert finished(events)["outputs"] == {
        "t": "current_time result",
        "a": "agent react answer",
        "d": ["text of cat.png"],
    }
    assert tools.calls[0].parameters == {"tz": "zone UTC", "raw": "UTC", "c": 3}
    assert tools.calls[0].configurations == {"fmt": "iso"}


@pytest.mark.parametrize(
    ("raw_node", "message"),
    [
        (node("n", "tool", provider_id="google", tool_name="search"), "Tool google/search is unavailable"),
        (node("n", "agent", agent_strategy_provider_name="p", agent_strategy_name="fc"), "Agent strategy p/fc"),
        (node("n", "llm", model=MODEL, prompt_template=[]), "Model fake/m is unavailable"),
        (node("n", "http-request", method="get", url="http://x.invalid/"), "HTTP requests are unavailable"),
        (
            node("n", "knowledge-retrieval", query_variable_selector=["start", "x"], dataset_ids=["d"]),
            "Knowledge retrieval is unavailable",
        ),
        (node("n", "document-extractor", variable_selector=["start", "x"]), "Document extraction is unavailable"),
    ],
)
async def test_missing_ports_fail_clearly(raw_node: dict[str, Any], message: str) -> None:
    events = await collect(one(raw_node, out=["n", "text"]), {"x": FILE}, ports=Ports())
    assert message in finished(events)["error"]


async def test_note_nodes_are_ignored() -> None:
    raw = graph(
        [start(), {"id": "note", "type": "custom-note", "data": {"type": "", "text": "hi"}}, end()],
        chain("start", "end"),
    )
    assert ran(await collect(raw)) == ["start", "end"]


async def test_every_fake_port_is_used_by_all_ports() -> None:
    ports = all_ports()
    assert all(getattr(ports, name) is not None for name in ports.__dataclass_fields__)
