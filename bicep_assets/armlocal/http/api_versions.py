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
            r"/providers/Microsoft\.Resources/(deployments|operationResults|tags)"
            r"|/resourcegroups(/[^/]+)?(/resources)?/?$"
            r"|^/subscriptions/[^/]+/(resources|providers(/[^/]+(/register)?)?)/?$",
            re.IGNORECASE,
        ),
        RESOURCES,
    ),
)


def published_versions(path: str) -> tuple[str, ...]:
    """The api-versions Azure publishes for the service at ``path``; () for a resource
    provider the local ARM does not model (any well-formed version is taken there)."""
    for pattern, versions in _FAMILIES:
        if pattern.search(path):
            return versions
    return ()
