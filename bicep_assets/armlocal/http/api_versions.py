"""The api-versions the local ARM accepts, per service, as Azure publishes them.

Every stable api-version in Microsoft's REST API specifications
(``Azure/azure-rest-api-specs``, ``specification/resources/resource-manager``) of the
operations served is accepted; an api-version a service does not publish is ARM's 400
``InvalidApiVersionParameter`` listing that service's versions, newest first. Resource
providers the local ARM does not model accept any well-formed api-version.
"""

from __future__ import annotations

import re

# Microsoft.Resources: resource groups, resources, providers, deployments, tags
RESOURCES = (
    "2015-11-01",
    "2016-02-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
)
# subscriptions, their locations, tenants
SUBSCRIPTIONS = (
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2022-12-01",
)
# Microsoft.Authorization/locks
LOCKS = ("2015-01-01", "2016-09-01", "2017-04-01", "2020-05-01")
# Microsoft.Resources/templateSpecs (and versions)
TEMPLATE_SPECS = ("2019-06-01-preview", "2021-03-01-preview", "2021-05-01", "2022-02-01")

_FAMILIES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/providers/Microsoft\.Authorization/locks(/|$)", re.IGNORECASE), LOCKS),
    (
        re.compile(r"/providers/Microsoft\.Resources/templateSpecs(/|$)", re.IGNORECASE),
        TEMPLATE_SPECS,
    ),
    (
        re.compile(r"^/subscriptions(/[^/]+(/locations)?)?/?$|^/tenants/?$", re.IGNORECASE),
        SUBSCRIPTIONS,
    ),
    (
        re.compile(
            r"/providers/Microsoft\.Resources/(deployments|operationResults|tags)(?=/|$)"
            r"|/resourcegroups(/[^/]+)?(/resources)?/?$"
            r"|^/subscriptions/[^/]+/(resources|providers(/[^/]+(/register)?)?)/?$",
            re.IGNORECASE,
        ),
        RESOURCES,
    ),
)


# operations that appeared in a later api-version than their service's first: what-if and
# tenant deployments in 2019-07-01, management group deployments in 2019-05-01 (the first
# versions whose specifications define them)
_INTRODUCED: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"/providers/Microsoft\.Resources/deployments/[^/]+/whatIf/?$", re.I),
        "2019-07-01",
    ),
    (re.compile(r"^/providers/Microsoft\.Resources/deployments(/|$)", re.I), "2019-07-01"),
    (
        re.compile(
            r"^/providers/Microsoft\.Management/managementGroups/[^/]+/providers/"
            r"Microsoft\.Resources/deployments(/|$)",
            re.I,
        ),
        "2019-05-01",
    ),
)


def supported_versions(path: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The api-versions accepted at ``path``, newest first: the service's published ones
    (plus ``known``, the local ARM's own list, for its own services), from the version the
    operation appeared in; [] when any well-formed version is taken."""
    versions = set(published_versions(path)) | set(known)
    for pattern, first in _INTRODUCED:
        if pattern.search(path):
            versions = {v for v in versions if v[:10] >= first}
    return sorted(versions, reverse=True)


def published_versions(path: str) -> tuple[str, ...]:
    """The api-versions Azure publishes for the service at ``path``; () for a resource
    provider the local ARM does not model (any well-formed version is taken there)."""
    for pattern, versions in _FAMILIES:
        if pattern.search(path):
            return versions
    return ()
