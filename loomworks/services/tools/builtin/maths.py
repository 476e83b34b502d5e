"""`maths`: a calculator over a safe arithmetic subset, evaluated from the syntax tree (never `eval`)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "sqrt",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "atan2",
        "log",
        "log10",
        "log2",
        "exp",
        "floor",
        "ceil",
        "factorial",
        "degrees",
        "radians",
        "hypot",
        "gcd",
    )
} | {"abs": abs, "round": round, "min": min, "max": max, "pow": pow}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_LENGTH = 500
_MAX_EXPONENT = 10_000
_MAX_FACTORIAL = 1_000
_MAX_DIGITS = 5_000


class ExpressionError(ValueError):
    pass


def evaluate(expression: str) -> int | float:
    """Evaluate arithmetic: numbers, + - * / // % ** (^ too), parentheses, `pi`/`e`, math functions.

    Raises:
        ExpressionError: anything else, or a result too large to compute quickly.
    """
    if len(expression) > _MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**").replace("×", "*").replace("÷", "/"), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"'{expression}' is not an arithmetic expression") from None
    return _eval(tree.body)


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_DIGITS * 3.33:
        raise ExpressionError("the result is too large")
    return value


def _eval(node: ast.AST) -> Any:  # noqa: C901 - one branch per node kind reads best here
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > _MAX_EXPONENT or (abs(left) > 1 and abs(right) * math.log2(abs(left) or 1) > 16_000):
                raise ExpressionError("the power is too large")
            return _check_size(left**right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed")
        try:
            return _check_size(op(left, right))
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(arg) for arg in node.args]
        if node.func.id == "factorial" and (not args or args[0] > _MAX_FACTORIAL):
            raise ExpressionError("the factorial is too large")
        if node.func.id == "pow" and len(args) >= 2 and abs(args[1]) > _MAX_EXPONENT:
            raise ExpressionError("the power is too large")
        try:
            return _check_size(_FUNCTIONS[node.func.id](*args))
        except (ValueError, TypeError, OverflowError) as exc:
            raise ExpressionError(f"{node.func.id}: {exc}") from None
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an arithmetic expression")


class MathsProvider(BuiltinToolProvider):
    name = "maths"
    label = i18n("Maths", "数学工具")
    description = i18n("A tool for maths.", "一个用于数学计算的工具。")
    tags = ["utilities"]


class EvalExpressionTool(BuiltinTool):
    provider, name = "maths", "eval_expression"
    label = i18n("Evaluate Math Expression", "计算数学表达式")
    llm_description = "Evaluate an arithmetic expression, e.g. (2 + 3) * 4 ** 2 or sqrt(2) * pi."
    parameters = [ToolParameter("expression", "string", required=True, llm_description="the expression")]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        try:
            value = evaluate(str(call.parameters["expression"]))
        except (ExpressionError, OverflowError) as exc:
            raise ToolParameterError(f"Tool {call.descriptor.key}: {exc}.", tool=call.descriptor.key) from None
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        return ToolOutput(text=str(value))
