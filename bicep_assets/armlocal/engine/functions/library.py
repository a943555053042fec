"""Imports every category module so that its functions are registered (keep sorted)."""

from . import (  # noqa: F401
    arrays,
    cidr,
    comparison,
    dates,
    deployment,
    identifiers,
    lambdas,
    logical,
    numeric,
    objects,
    resources,
    strings,
)
