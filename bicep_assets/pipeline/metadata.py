"""Tables in step metadata (the Dagster UI renders them; the audit assets read them)."""

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg


def table(rows: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> dg.TableMetadataValue:
    """A table of ``rows`` with ``columns`` (name → Dagster column type), in that order."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({name: row[name] for name in columns}) for row in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in columns.items()]),
    )
