"""Code nodes through the whole server: the real engine runs them in the sandbox, never in-process."""

from __future__ import annotations

from pathlib import Path

from tests._console import Console

PYTHON = "def main(topic: str) -> dict:\n    import os\n    return {'shout': topic.upper(), 'pid': os.getpid()}\n"
JS = "function main({shout}) { return {length: shout.length, where: typeof Deno} }"
ESCAPE = "def main(topic: str) -> dict:\n    return {'secret': open(%r).read()}\n"


def _graph(code: str, language: str, outputs: dict) -> dict:
    return {
        "nodes": [
            {
                "id": "start",
                "data": {
                    "type": "start",
                    "title": "Start",
                    "variables": [{"variable": "topic", "label": "Topic", "type": "text-input", "required": True}],
                },
            },
            {
                "id": "py",
                "data": {
                    "type": "code",
                    "title": "Python",
                    "code_language": "python3",
                    "code": code,
                    "variables": [{"variable": "topic", "value_selector": ["start", "topic"]}],
                    "outputs": outputs,
                },
            },
            {
                "id": "js",
                "data": {
                    "type": "code",
                    "title": "JavaScript",
                    "code_language": language,
                    "code": JS,
                    "variables": [{"variable": "shout", "value_selector": ["py", "shout"]}],
                    "outputs": {"length": {"type": "number", "children": None}, "where": {"type": "string"}},
                },
            },
            {
                "id": "end",
                "data": {
                    "type": "end",
                    "title": "End",
                    "outputs": [
                        {"variable": "shout", "value_selector": ["py", "shout"]},
                        {"variable": "length", "value_selector": ["js", "length"]},
                        {"variable": "where", "value_selector": ["js", "where"]},
                    ],
                },
            },
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "py", "sourceHandle": "source", "targetHandle": "target"},
            {"id": "e2", "source": "py", "target": "js", "sourceHandle": "source", "targetHandle": "target"},
            {"id": "e3", "source": "js", "target": "end", "sourceHandle": "source", "targetHandle": "target"},
        ],
    }


def _publish(owner: Console, graph: dict) -> dict[str, str]:
    app = owner.create_app("Code flow", "workflow")
    draft = owner.get(f"/apps/{app['id']}/workflows/draft").json()
    saved = owner.post(
        f"/apps/{app['id']}/workflows/draft", json={"graph": graph, "features": {}, "hash": draft["hash"]}
    )
    assert saved.status_code == 200, saved.text
    owner.post(f"/apps/{app['id']}/workflows/publish", json={"marked_name": "v1"})
    return {"Authorization": f"Bearer {owner.create_key(app['id'])}"}


def test_python_and_javascript_code_nodes_run_in_the_sandbox(owner: Console) -> None:
    outputs = {"shout": {"type": "string", "children": None}, "pid": {"type": "number", "children": None}}
    headers = _publish(owner, _graph(PYTHON, "javascript", outputs))
    answer = owner.client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "tides"}, "user": "u"})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["status"] == "succeeded", data
    assert data["outputs"] == {"shout": "TIDES", "length": 5, "where": "object"}


def test_code_cannot_read_the_servers_files(owner: Console, tmp_path: Path) -> None:
    secret = Path(__file__).resolve().parents[2] / "pyproject.toml"
    headers = _publish(owner, _graph(ESCAPE % str(secret), "javascript", {"secret": {"type": "string"}}))
    answer = owner.client.post("/v1/workflows/run", headers=headers, json={"inputs": {"topic": "x"}, "user": "u"})
    data = answer.json()["data"]
    assert data["status"] == "failed"
    assert "loomworks" not in str(data["outputs"])
    assert "No such file" in data["error"] or "ermission" in data["error"]
