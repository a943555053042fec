"""A what-if result (``WhatIfOperationResult`` JSON) as a readable diff, optionally colored.

Used by ``bicep-assets arm deployment group what-if`` and by the pipeline's plan output.
Each change gets a symbol — ``+`` create, ``-`` delete, ``~`` modify, ``=`` no change,
``*`` ignore, ``!`` deploy, ``?`` unsupported — and property changes are listed beneath it
(``x`` marks a read-only property the service owns: no effect).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

SYMBOLS = {
    "Create": "+",
    "Delete": "-",
    "Modify": "~",
    "NoChange": "=",
    "Ignore": "*",
    "Deploy": "!",
    "Unsupported": "?",
    "NoEffect": "x",
    "Array": "~",
}
COLORS = {"+": "32", "-": "31", "~": "33", "=": "37", "*": "90", "!": "34", "?": "35", "x": "90"}
ORDER = ["Create", "Modify", "Delete", "Deploy", "NoChange", "Ignore", "Unsupported"]


def _paint(text: str, symbol: str, color: bool) -> str:
    return f"\x1b[{COLORS.get(symbol, '0')}m{text}\x1b[0m" if color else text


def _value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _split_id(resource_id: str) -> tuple[str, str]:
    lowered = resource_id.lower()
    index = lowered.rfind("/providers/")
    if index < 0:
        return "", resource_id
    return resource_id[:index], resource_id[index + len("/providers/") :]


def _delta_lines(delta: list[dict[str, Any]], indent: str, color: bool) -> list[str]:
    lines: list[str] = []
    for change in delta:
        kind = change.get("propertyChangeType", "Modify")
        symbol = SYMBOLS.get(kind, "~")
        path = change.get("path", "")
        if kind == "Create":
            text = f"{path}: {_value(change.get('after'))}"
        elif kind == "Delete":
            text = f"{path}: {_value(change.get('before'))}"
        elif kind == "NoEffect":
            text = f"{path}: {_value(change.get('before'))} (read-only: no effect)"
        elif kind == "Array":
            text = f"{path}: ["
        else:
            text = f"{path}: {_value(change.get('before'))} => {_value(change.get('after'))}"
        lines.append(indent + _paint(f"{symbol} {text}", symbol, color))
        if change.get("children"):
            lines.extend(_delta_lines(change["children"], indent + "    ", color))
            if kind == "Array":
                lines.append(indent + "  ]")
    return lines


def render_what_if(result: dict[str, Any], *, color: bool = False) -> str:
    """The whole result: changes grouped by scope, property deltas, then a summary line."""
    if result.get("error"):
        error = result["error"]
        return f"What-if failed: {error.get('code')}: {error.get('message')}"
    changes = (result.get("properties") or {}).get("changes") or result.get("changes") or []
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        scope, _ = _split_id(change.get("resourceId", ""))
        by_scope.setdefault(scope, []).append(change)
    legend = "  ".join(f"{SYMBOLS[k]} {k}" for k in ORDER)
    lines = [f"Resource and property changes ({legend}):", ""]
    for scope, items in by_scope.items():
        lines.append(f"Scope: {scope or '/'}")
        for change in items:
            kind = change.get("changeType", "Modify")
            symbol = SYMBOLS.get(kind, "~")
            _, rel = _split_id(change.get("resourceId", ""))
            after = change.get("after") or change.get("before") or {}
            api = (
                f" [{after['apiVersion']}]"
                if isinstance(after, dict) and after.get("apiVersion")
                else ""
            )
            line = f"  {symbol} {rel}{api}"
            if change.get("unsupportedReason"):
                line += f" ({change['unsupportedReason']})"
            lines.append(_paint(line, symbol, color))
            lines.extend(_delta_lines(change.get("delta") or [], "      ", color))
        lines.append("")
    counts = Counter(c.get("changeType") for c in changes)
    summary = ", ".join(
        f"{counts[k]} {k.lower() if k != 'NoChange' else 'no change'}"
        for k in ORDER
        if counts.get(k)
    )
    lines.append(f"Resource changes: {summary or 'none'}.")
    return "\n".join(lines)
