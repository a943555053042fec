"""Template outputs: ``{name: {type, value | copy, condition?}}`` evaluated to values."""

from __future__ import annotations

from typing import Any

from .body import evaluate_body
from .errors import ExpressionError, TemplateError
from .evaluator import Deferred, EvalContext, check_copy_count
from .functions.registry import expect_int

_TYPES = {
    "string": str,
    "securestring": str,
    "int": int,
    "bool": bool,
    "object": dict,
    "secureobject": dict,
    "array": list,
}


def evaluate_outputs(
    ctx: EvalContext, outputs: dict[str, Any], *, keep_deferred: bool = False
) -> dict[str, dict[str, Any]]:
    """Evaluate each output. A value that waits for a resource is its expression text, or a
    :class:`Deferred` with ``keep_deferred`` (for a parent reading a nested deployment)."""
    result: dict[str, dict[str, Any]] = {}
    for name, output in outputs.items():
        where = f"outputs['{name}']"
        if not isinstance(output, dict):
            raise TemplateError(f"{where}: an output must be an object.", code="InvalidTemplate")
        if "condition" in output:
            condition = evaluate_body(ctx, output["condition"], f"{where}.condition")
            if condition.value is False:
                continue
        declared = str(output.get("type", "")).lower()
        if "copy" in output:
            value, deferred = _output_copy(ctx, name, output["copy"], where)
        else:
            body = evaluate_body(ctx, output.get("value"), f"{where}.value")
            value, deferred = body.value, body.deferred
        if deferred:
            if keep_deferred:
                value = Deferred(f"output '{name}' waits for a resource of this deployment")
        else:
            _check_type(name, declared, value)
        result[name] = {"type": output.get("type", "object"), "value": value}
    return result


def _output_copy(ctx: EvalContext, name: str, loop: Any, where: str) -> tuple[list[Any], bool]:
    """An output ``copy``: ``input`` evaluated ``count`` times; ``copyIndex()`` is the index."""
    if not isinstance(loop, dict):
        raise TemplateError(f"{where}.copy: must be an object with 'count' and 'input'.")
    count = evaluate_body(ctx, loop.get("count"), f"{where}.copy.count")
    try:
        if count.deferred:
            raise ExpressionError("The output copy count cannot depend on a resource.")
        size = expect_int("copy", count.value)
        check_copy_count(name, size)
    except ExpressionError as exc:
        raise exc.at(f"{where}.copy.count") from None
    values, deferred = [], False
    for index in range(size):
        item = evaluate_body(ctx.with_copy(None, index), loop.get("input"), f"{where}.copy.input")
        values.append(item.value)
        deferred = deferred or item.deferred
    return values, deferred


def _check_type(name: str, declared: str, value: Any) -> None:
    expected = _TYPES.get(declared)
    if expected is None or value is None:
        return
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise ExpressionError(
            f"outputs['{name}']: The template output '{name}' is not valid: the value is of "
            f"type '{type(value).__name__}', but the output is declared as '{declared}'."
        )
