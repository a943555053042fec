"""Masking secure values: the one scrubber for text and JSON values that leave a process.

A :class:`SecretMask` knows a set of secrets and masks, in any text, every run of at least
:data:`MIN_SECRET_RUN` (8) consecutive characters of one of them — a full echo and a partial
one alike (an error quoting the first characters of a password). Text without such a run is
returned unchanged; overlapping or adjacent runs become one ``[secure value]``.

- **Why 8**: a shorter run matches ordinary text too often to be masked without corrupting
  it (with a one-letter secret every "s" would go), and 8 characters of a random secret are
  what a brute force would need to guess anyway. bicep_assets refuses secure values shorter
  than that when a run starts; the local ARM, which may be given any value, masks a short
  secret only where a whole JSON string equals it.
- **Cost**: linear in the text. The secrets' windows of 8 characters are kept in a set; a
  text is searched for each window with ``str.find`` when there are few of them, else slid
  over once with a set lookup per position — never the number of secrets times the text
  for long secrets, never quadratic in the text.
- **Values, not ids**: :meth:`SecretMask.value` masks every string of a JSON value except
  those under an identifier key (:data:`IDENTIFIER_KEYS`: ids, names, types, paths, change
  types, codes …) and never touches object keys, so resource ids and the property paths
  ``what_if_ignore`` matches stay intact whatever the secret is.
- JSON-escaped forms of a secret (quotes, backslashes, non-ASCII characters as ``\\uXXXX``)
  are masked too: a message may carry a JSON document.

No Dagster import: the local ARM masks its records and responses with it, the pipeline's op
boundary everything an op logs, raises and returns, and the audit's ``no_secure_values``
check looks for the same windows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MIN_SECRET_RUN = 8
MASK = "[secure value]"
_FIND_LIMIT = 64  # up to this many windows: one C-speed str.find pass per window

IDENTIFIER_KEYS = frozenset(
    {
        # ARM envelopes, operations and errors
        "id",
        "resourceid",
        "name",
        "type",
        "resourcetype",
        "resourcename",
        "apiversion",
        "location",
        "kind",
        "provisioningstate",
        "provisioningoperation",
        "operationid",
        "trackingid",
        "servicerequestid",
        "correlationid",
        "code",
        "target",
        # what-if: the keys plan and what_if_ignore match on
        "changetype",
        "propertychangetype",
        "path",
        "changedpaths",
        # bicep_assets' own models
        "environment",
        "deploymentid",
        "deploymentname",
        "outputresources",
        "deletedresources",
        "templatepath",
        "templatehash",
        "parametershash",
        "severity",
    }
)
"""Keys (compared lowercase, without ``_``) whose values are identifiers: never rewritten."""


def windows(secret: str, size: int = MIN_SECRET_RUN) -> set[str]:
    """Every run of ``size`` consecutive characters of ``secret`` (none when it is shorter)."""
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def _forms(secret: str) -> set[str]:
    """The secret and its JSON-escaped forms (as a JSON string's body)."""
    forms = {secret}
    for ascii_only in (False, True):
        forms.add(json.dumps(secret, ensure_ascii=ascii_only)[1:-1])
    return forms


def is_identifier_key(key: Any) -> bool:
    """Whether a key names an identifier (see :data:`IDENTIFIER_KEYS`)."""
    return isinstance(key, str) and key.lower().replace("_", "") in IDENTIFIER_KEYS


class SecretMask:
    """Masks runs of the known secrets in text and JSON values (see the module docs)."""

    __slots__ = ("_grams", "_short", "exact", "min_run", "secrets")

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        min_run: int = MIN_SECRET_RUN,
        exact: Iterable[str] = (),
    ) -> None:
        if min_run < 1:
            raise ValueError(f"SecretMask: min_run must be 1 or more, not {min_run}")
        self.min_run = min_run
        self.secrets: frozenset[str] = frozenset(s for s in secrets if isinstance(s, str) and s)
        # values computed from secrets (a connection string holding a password, the base64
        # of a key): masked where a whole JSON string equals one, never as runs in text
        self.exact: frozenset[str] = frozenset(s for s in exact if isinstance(s, str) and s)
        forms = {form for secret in self.secrets for form in _forms(secret)}
        self._short = frozenset(f for f in forms if len(f) < min_run) | self.exact
        self._grams = frozenset(g for f in forms for g in windows(f, min_run))

    def __bool__(self) -> bool:
        return bool(self.secrets or self.exact)

    def with_secrets(self, secrets: Iterable[str], *, exact: Iterable[str] = ()) -> SecretMask:
        """This mask and ``secrets`` (and ``exact`` values) besides."""
        more = [s for s in secrets if isinstance(s, str) and s and s not in self.secrets]
        more_exact = [s for s in exact if isinstance(s, str) and s and s not in self.exact]
        if not more and not more_exact:
            return self
        return SecretMask(
            [*self.secrets, *more], min_run=self.min_run, exact=[*self.exact, *more_exact]
        )

    # -- text ---------------------------------------------------------------------------------
    def spans(self, text: str) -> list[tuple[int, int]]:
        """The ``[start, end)`` spans of ``text`` to mask: runs of a secret, merged."""
        size = self.min_run
        if not self._grams or len(text) < size:
            return []
        starts: set[int] = set()
        if len(self._grams) <= _FIND_LIMIT:
            for gram in self._grams:
                at = text.find(gram)
                while at != -1:
                    starts.add(at)
                    at = text.find(gram, at + 1)
        else:
            grams = self._grams
            for at in range(len(text) - size + 1):
                if text[at : at + size] in grams:
                    starts.add(at)
        merged: list[list[int]] = []
        for start in sorted(starts):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = start + size
            else:
                merged.append([start, start + size])
        return [(a, b) for a, b in merged]

    def found(self, text: str) -> bool:
        """Whether ``text`` holds a run of a secret."""
        return bool(self.spans(text))

    def text(self, text: str) -> str:
        """``text`` with every run of a secret replaced by ``[secure value]``."""
        spans = self.spans(text)
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(MASK)
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    # -- JSON values --------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        """``value`` (JSON: dicts, lists, strings, scalars) with its strings masked, except
        under identifier keys; object keys are kept. Unchanged parts are the same objects."""
        if not self._grams and not self._short:
            return value
        return self._value(value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self._short:
                return MASK
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: v if is_identifier_key(k) else self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        return value

    def carries(self, value: Any) -> bool:
        """Whether any string in ``value`` (identifiers included) holds a secret."""
        if not self:
            return False
        if isinstance(value, str):
            return value in self._short or self.found(value)
        if isinstance(value, Mapping):
            return any(self.carries(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(self.carries(v) for v in value)
        return False


NO_SECRETS = SecretMask()
