"""Microsoft.App: Container Apps environments and container apps (default domain, ingress
FQDN, revisions, outbound addresses).

An environment's default domain is ``{adjective}{noun}-{8 hex}.{region}.azurecontainerapps.io``
(Azure picks the words at random; here they follow from the environment's id). A container
app lives in its environment's region, so it computes the same domain from its
``environmentId`` alone: ``{app}.{domain}`` for external ingress, ``{app}.internal.{domain}``
for internal. A revision is ``{app}--{suffix}``: the template's ``revisionSuffix``, else seven
characters that follow from the app's ``template`` section — a new revision exactly when the
revision-scoped part of the app changes, as in Azure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from . import regions, values
from .model import Behavior, Runtime, properties_of, set_default
from .web import custom_domain_verification_id

ENVIRONMENTS = "Microsoft.App/managedEnvironments"
CONTAINER_APPS = "Microsoft.App/containerApps"

_ADJECTIVES = (
    "brave", "calm", "gentle", "happy", "jolly", "kind", "lively", "lucky",
    "polite", "proud", "quiet", "salmon", "sunny", "thankful", "wise", "witty",
)  # fmt: skip
_NOUNS = (
    "beach", "cliff", "dune", "field", "forest", "grass", "hill", "island",
    "meadow", "ocean", "plant", "pond", "river", "rock", "sea", "water",
)  # fmt: skip
_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def default_domain(environment_id: str, location: str) -> str:
    """The default domain of the environment ``environment_id`` in ``location``
    (``calmsea-1a2b3c4d.westeurope.azurecontainerapps.io``)."""
    seed = values.stable_bytes("defaultDomain", environment_id, 2)
    words = _ADJECTIVES[seed[0] % len(_ADJECTIVES)] + _NOUNS[seed[1] % len(_NOUNS)]
    tag = values.stable_hex("defaultDomain-tag", environment_id, 8)
    return f"{words}-{tag}.{regions.normalize(location)}.azurecontainerapps.io"


def _event_stream(rt: Runtime, collection: str) -> str:
    return (
        f"https://{regions.normalize(rt.location)}.azurecontainerapps.dev/subscriptions/"
        f"{rt.subscription_id}/resourceGroups/{rt.resource_group}/{collection}/{rt.name}"
        "/eventstream"
    )


def _apply_environment(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    props["defaultDomain"] = default_domain(rt.resource_id, rt.location)
    props["staticIp"] = values.documentation_ips("staticIp", rt.resource_id, block=1)[0]
    props["eventStreamEndpoint"] = _event_stream(rt, "managedEnvironments")
    custom = props.get("customDomainConfiguration")
    if not isinstance(custom, dict):
        custom = props["customDomainConfiguration"] = {}
    custom["customDomainVerificationId"] = custom_domain_verification_id(rt.subscription_id)


def revision_suffix(template: Any, resource_id: str) -> str:
    """The suffix of the latest revision: the template's ``revisionSuffix``, else seven
    characters determined by the app and its ``template`` section."""
    if isinstance(template, Mapping):
        given = template.get("revisionSuffix")
        if isinstance(given, str) and given:
            return given
    content = json.dumps(template, sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    seed = values.stable_bytes("revisionSuffix", f"{resource_id}#{digest}", 7)
    return "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in seed)


def _apply_container_app(body: dict[str, Any], rt: Runtime) -> None:
    props = properties_of(body)
    environment_id = props.get("environmentId") or props.get("managedEnvironmentId")
    if isinstance(environment_id, str) and environment_id:
        set_default(props, "environmentId", environment_id)
        set_default(props, "managedEnvironmentId", environment_id)
    revision = f"{rt.name}--{revision_suffix(props.get('template'), rt.resource_id)}"
    props["latestRevisionName"] = revision
    props["latestReadyRevisionName"] = revision
    props["latestRevisionFqdn"] = ""
    configuration = props.get("configuration")
    ingress = configuration.get("ingress") if isinstance(configuration, Mapping) else None
    if isinstance(ingress, dict) and isinstance(environment_id, str) and environment_id:
        domain = default_domain(environment_id, rt.location)
        if ingress.get("external") is not True:
            domain = f"internal.{domain}"
        ingress["fqdn"] = f"{rt.name}.{domain}"
        props["latestRevisionFqdn"] = f"{revision}.{domain}"
    # Apps in one environment leave it through the environment's addresses.
    key = environment_id if isinstance(environment_id, str) and environment_id else rt.resource_id
    props["outboundIpAddresses"] = values.documentation_ips("outboundIpAddresses", key, 2, block=1)
    props["customDomainVerificationId"] = custom_domain_verification_id(rt.subscription_id)
    props["eventStreamEndpoint"] = _event_stream(rt, "containerApps")
    props["runningStatus"] = "Running"


BEHAVIORS = [
    Behavior(
        ENVIRONMENTS,
        apply=_apply_environment,
        read_only=frozenset(
            {
                "properties.defaultDomain",
                "properties.staticIp",
                "properties.eventStreamEndpoint",
                "properties.customDomainConfiguration.customDomainVerificationId",
            }
        ),
    ),
    Behavior(
        CONTAINER_APPS,
        apply=_apply_container_app,
        read_only=frozenset(
            f"properties.{name}"
            for name in (
                "latestRevisionName",
                "latestReadyRevisionName",
                "latestRevisionFqdn",
                "configuration.ingress.fqdn",
                "outboundIpAddresses",
                "customDomainVerificationId",
                "eventStreamEndpoint",
                "runningStatus",
            )
        ),
        defaulted=frozenset({"properties.environmentId", "properties.managedEnvironmentId"}),
    ),
]
