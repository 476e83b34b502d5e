"""`code`: a code interpreter that runs Python or JavaScript in the sandbox and answers its output."""

from __future__ import annotations

from loomworks.sandbox import SandboxError
from loomworks.services.tools.base import ToolCall, ToolOption, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices


class CodeProvider(BuiltinToolProvider):
    name = "code"
    label = i18n("Code Interpreter", "代码解释器")
    description = i18n("Run a piece of code and get the result back.", "运行一段代码并返回结果。")
    tags = ["productivity"]


class SimpleCodeTool(BuiltinTool):
    provider, name = "code", "simple_code"
    label = i18n("Code Interpreter", "代码解释器")
    llm_description = (
        "Run code in a sandbox without network and get what it prints. Use print() to answer; "
        "only the standard library is available."
    )
    parameters = [
        ToolParameter(
            "language",
            "select",
            required=True,
            default="python3",
            llm_description="python3 or javascript",
            options=[ToolOption("python3", i18n("Python 3")), ToolOption("javascript", i18n("JavaScript"))],
        ),
        ToolParameter("code", "string", required=True, llm_description="the code to run"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        sandbox = services.need(call.descriptor.key, "sandbox")
        language = "javascript" if call.parameters.get("language") == "javascript" else "python3"
        try:
            result = await sandbox.run(language, str(call.parameters["code"]), mode="script")
        except SandboxError as exc:
            raise ToolProviderError(f"Tool {call.descriptor.key}: {exc.message}", tool=call.descriptor.key) from None
        text = result.stdout
        if result.stderr.strip():
            text = (text + "\n" if text else "") + f"stderr: {result.stderr.strip()}"
        return ToolOutput(text=text, variables={"stdout": result.stdout, "stderr": result.stderr})
