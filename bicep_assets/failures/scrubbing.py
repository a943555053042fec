"""Scrubbing what leaves an op — metadata, models, log lines — with the run's secret mask.

The mask (``armlocal.engine.SecretMask``) masks every run of 8 or more characters of a
secure value in text, and every string of a JSON value except identifiers (ids, names,
types, paths, change types, codes). Here it is applied to Dagster's metadata values and to
the pydantic models the ops return:

- plain and text/markdown/URL metadata: the text is masked;
- JSON metadata and raw mappings or lists: their strings, identifiers kept;
- tables: each cell, except in columns named like an identifier (``resource_id``,
  ``change_type``, ``changed_paths``, ``target`` …);
- a top-level metadata key named like an identifier (``deployment_id``) keeps its value;
- numbers, booleans, paths and other metadata values are left as they are;
- a pydantic model is dumped, masked as JSON and validated again — except the fields it
  names in ``verbatim_fields`` (``CompiledTemplate``'s template and parameters: what is sent
  to ARM, which holds no secure value and must not change).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import dagster as dg
from pydantic import BaseModel

from ..armlocal.engine import SecretMask
from ..armlocal.engine.masking import is_identifier_key

T = TypeVar("T")


def scrub_metadata_value(value: Any, mask: SecretMask) -> Any:
    """One metadata value (raw, or a ``MetadataValue``) with its secrets masked."""
    if not mask:
        return value
    if isinstance(value, dg.TextMetadataValue):
        return dg.MetadataValue.text(mask.text(value.text))
    if isinstance(value, dg.MarkdownMetadataValue):
        return dg.MetadataValue.md(mask.text(value.md_str))
    if isinstance(value, dg.UrlMetadataValue):
        return dg.MetadataValue.url(mask.text(value.url))
    if isinstance(value, dg.JsonMetadataValue):
        return dg.MetadataValue.json(mask.value(value.data))
    if isinstance(value, dg.TableMetadataValue):
        return dg.MetadataValue.table(
            records=[_scrub_record(record, mask) for record in value.records],
            schema=value.schema,
        )
    if isinstance(value, dg.MetadataValue):  # numbers, paths, asset keys, …: no free text
        return value
    return mask.value(value)


def _scrub_record(record: dg.TableRecord, mask: SecretMask) -> dg.TableRecord:
    return dg.TableRecord(
        {
            column: cell
            if is_identifier_key(column) or not isinstance(cell, str)
            else mask.text(cell)
            for column, cell in record.data.items()
        }
    )


def scrub_metadata(metadata: Mapping[str, Any] | None, mask: SecretMask) -> dict[str, Any]:
    """Metadata with every value scrubbed; identifier keys keep theirs."""
    return {
        key: value if is_identifier_key(key) else scrub_metadata_value(value, mask)
        for key, value in (metadata or {}).items()
    }


def scrub_model(value: T, mask: SecretMask) -> T:
    """A pydantic model (or a JSON value) with its secrets masked, identifiers kept."""
    if not mask:
        return value
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json")
        verbatim = getattr(type(value), "verbatim_fields", frozenset())
        kept = {k: v for k, v in data.items() if k in verbatim}
        masked = {**mask.value({k: v for k, v in data.items() if k not in verbatim}), **kept}
        return value if masked == data else type(value).model_validate(masked)  # type: ignore[return-value]
    return mask.value(value)  # type: ignore[no-any-return]
