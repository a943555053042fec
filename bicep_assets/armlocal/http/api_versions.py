"""The api-versions the local ARM accepts, per service, as Azure publishes them: the one list.

Every stable api-version in Microsoft's REST API specifications
(``Azure/azure-rest-api-specs``: ``specification/resources/resource-manager`` and
``specification/resourcehealth``) of the operations served is accepted; an api-version a
service does not publish is ARM's 400 ``InvalidApiVersionParameter`` listing that service's
versions, newest first (:func:`check_api_version`, which the server calls for every routed
request). Resource providers the local ARM does not model accept any well-formed api-version.
"""

from __future__ import annotations

import re

from ..service.errors import ArmHttpError
from ..service.stacks import STACK_API_VERSIONS
from .rest import API_VERSION

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
# deployments: the versions above and the deployments' own newer ones
# (``Microsoft.Resources/deployments/stable/2026-06-01``: what azure-mgmt-resource-deployments
# 2.0.0 sends)
DEPLOYMENTS = (*RESOURCES, "2026-06-01")
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
# Microsoft.Resources/deploymentStacks (the service's own list, beside its operations)
STACKS = STACK_API_VERSIONS
# Microsoft.ResourceHealth (availabilityStatuses): the stable versions
# (``specification/resourcehealth/resource-manager/Microsoft.ResourceHealth/stable``; the
# official azure-mgmt-resourcehealth sends 2025-05-01) and the previews its older releases send
RESOURCE_HEALTH = (
    "2015-01-01",
    "2015-01-01-preview",
    "2017-07-01",
    "2018-07-01",
    "2020-05-01",
    "2021-03-01",
    "2022-05-01",
    "2022-06-01",
    "2022-10-01",
    "2022-10-01-preview",
    "2023-10-01-preview",
    "2024-02-01",
    "2025-04-01",
    "2025-05-01",
    "2025-05-01-preview",
)
# the polling URLs of Microsoft.Resources' long-running operations, which every API of the
# namespace hands out with its own api-version (deployments, stacks, resource groups)
OPERATION_RESULTS = tuple(sorted(set(DEPLOYMENTS) | set(STACKS)))

# (the service at a path, its versions): the first that matches decides
_FAMILIES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/providers/Microsoft\.Authorization/locks(/|$)", re.IGNORECASE), LOCKS),
    (
        re.compile(r"/providers/Microsoft\.Resources/templateSpecs(/|$)", re.IGNORECASE),
        TEMPLATE_SPECS,
    ),
    (
        re.compile(r"/providers/Microsoft\.Resources/deploymentStacks(/|$)", re.IGNORECASE),
        STACKS,
    ),
    (re.compile(r"/providers/Microsoft\.ResourceHealth/", re.IGNORECASE), RESOURCE_HEALTH),
    (
        re.compile(
            r"/providers/Microsoft\.Resources/(locations/[^/]+/)?operation(Results|Statuses)/",
            re.IGNORECASE,
        ),
        OPERATION_RESULTS,
    ),
    (
        re.compile(r"/providers/Microsoft\.Resources/deployments(/|$)", re.IGNORECASE),
        DEPLOYMENTS,
    ),
    (
        re.compile(r"^/subscriptions(/[^/]+(/locations)?)?/?$|^/tenants/?$", re.IGNORECASE),
        SUBSCRIPTIONS,
    ),
    (
        re.compile(
            r"/providers/Microsoft\.Resources/tags(?=/|$)"
            r"|/resourcegroups(/[^/]+)?(/resources)?/?$"
            r"|^/subscriptions/[^/]+/(resources|providers(/[^/]+(/register)?)?)/?$"
            r"|^/subscriptions/[^/]+/tagNames(/|$)",
            re.IGNORECASE,
        ),
        RESOURCES,
    ),
)


# operations that appeared in a later api-version than their service's first: what-if and
# tenant deployments in 2019-07-01, management group deployments in 2019-05-01, subscription
# deployments in 2018-05-01 (the first versions whose specifications define them:
# ``Microsoft.Resources/deployments/stable/2018-02-01/deployments.json`` has resource group
# deployments only, ``…/2018-05-01/deployments.json`` adds ``…AtSubscriptionScope``); the
# tags at a scope (``Tags_*AtScope``) in 2019-10-01 (``Microsoft.Resources/stable/2019-10-01/
# examples`` is the first folder with ``PutTagsResource.json``; 2019-08-01's has none)
_INTRODUCED: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^/subscriptions/[^/]+/providers/Microsoft\.Resources/deployments(/|$)", re.I),
        "2018-05-01",
    ),
    (
        re.compile(r"/providers/Microsoft\.Resources/deployments/[^/]+/whatIf/?$", re.I),
        "2019-07-01",
    ),
    (re.compile(r"^/providers/Microsoft\.Resources/deployments(/|$)", re.I), "2019-07-01"),
    (re.compile(r"/providers/Microsoft\.Resources/tags/default/?$", re.I), "2019-10-01"),
    (
        re.compile(
            r"^/providers/Microsoft\.Management/managementGroups/[^/]+/providers/"
            r"Microsoft\.Resources/deployments(/|$)",
            re.I,
        ),
        "2019-05-01",
    ),
)


def check_api_version(path: str, version: str | None) -> None:
    """Refuse a request whose ``api-version`` the service at ``path`` does not publish, as ARM
    does: 400 ``MissingApiVersionParameter`` or ``InvalidApiVersionParameter`` listing the
    versions it takes."""
    if not version:
        raise ArmHttpError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    accepted = supported_versions(path)
    if (accepted and version not in accepted) or not API_VERSION.match(version):
        raise ArmHttpError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '"
            + ",".join(accepted)
            + "'.",
        )


def supported_versions(path: str) -> list[str]:
    """The api-versions accepted at ``path``, newest first: the service's published ones,
    from the version the operation appeared in; [] when any well-formed version is taken."""
    versions = set(published_versions(path))
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
