"""Listing resources as ARM lists them: ``$filter`` on resource lists, provider collection GETs,
and the resource types a provider reports.

**$filter** (Microsoft's REST reference, "Resources - List" and "Resources - List By Resource
Group"): ``eq`` and ``ne`` on ``location``, ``resourceType``, ``name``, ``resourceGroup``,
``identity/principalId`` and the ``plan`` properties; ``substringof('x', name|resourceGroup)``;
``tagName eq 'n'`` optionally ``and tagValue eq 'v'``; ``startswith(tagName, 'prefix')``.
Clauses combine with ``and`` (and ``substringof`` clauses with ``or``). Tag filters cannot be
combined with other properties, and resources filtered by tag come back without their tags, as
the reference says. Anything else is ARM's 400 ``InvalidFilterInQueryString``.

**Provider collections**: ``GET …/providers/{namespace}/{type}`` (and a child collection
``…/{type}/{name}/{childType}``) lists the resources of that type under that scope — what a
resource provider answers for ``az webapp list -g`` and the SDK's ``list_by_resource_group``.

**Resource lists** (``…/resources``) return tracked resources only, as ARM's do: those with a
location, not proxy resources (subnets, secrets, containers) nor extension resources.

**Resource types**: a provider's ``resourceTypes`` name each type it knows (the types of the
resources it holds, and Microsoft.Resources' own), with ``locations`` and ``apiVersions`` —
clients such as ``az resource show --ids`` pick the api-version from them.
"""

from __future__ import annotations

import re
import threading
import weakref
from typing import Any

from werkzeug.wrappers import Request

from ..service import behaviors
from ..service.backend import ArmBackend
from ..service.behaviors import naming, regions
from ..service.errors import ArmHttpError

_CLAUSE = re.compile(
    r"""\s*(?:
        (?P<prop>[A-Za-z]+(?:/[A-Za-z]+)?)\s+(?P<op>eq|ne)\s+'(?P<value>(?:[^']|'')*)'
      | substringof\(\s*'(?P<sub>(?:[^']|'')*)'\s*,\s*(?P<subprop>[A-Za-z]+)\s*\)
      | startswith\(\s*(?P<startprop>[A-Za-z]+)\s*,\s*'(?P<prefix>(?:[^']|'')*)'\s*\)
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_JOIN = re.compile(r"\s+(and|or)\s+", re.IGNORECASE)
_PROPERTIES = {
    "location": "location",
    "resourcetype": "type",
    "name": "name",
    "resourcegroup": "resourceGroup",
    "identity": "identity",
    "identity/principalid": "identity/principalId",
    "plan": "plan",
    "plan/publisher": "plan/publisher",
    "plan/product": "plan/product",
    "plan/name": "plan/name",
    "plan/version": "plan/version",
    "plan/promotioncode": "plan/promotionCode",
}
_TAG_PROPERTIES = {"tagname", "tagvalue"}


def _invalid(text: str, why: str) -> ArmHttpError:
    return ArmHttpError(400, "InvalidFilterInQueryString", f"Invalid $filter '{text}': {why}")


def _split(text: str) -> tuple[list[str], list[str]]:
    """The clauses and the operators between them, respecting quoted values."""
    clauses, joins, start, quoted = [], [], 0, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            match = _JOIN.match(text, i)
            if match and i > start:
                clauses.append(text[start:i])
                joins.append(match.group(1).lower())
                i = start = match.end()
                continue
        i += 1
    clauses.append(text[start:])
    return clauses, joins


def tracked_resources(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ARM's resource lists return: tracked resources (those with a location — top-level
    ones, and children such as SQL databases or web app slots), not proxy resources without
    one (subnets, secrets, blob containers) nor extension resources (role assignments)."""
    return [r for r in resources if r.get("location") and r["id"].lower().count("/providers/") == 1]


def _resource_value(resource: dict[str, Any], prop: str) -> str | None:
    if prop == "resourceGroup":
        parts = resource["id"].split("/")
        return parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else None
    value: Any = resource
    for key in prop.split("/"):
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _location_key(value: str) -> str:
    return regions.normalize(value)


def filter_resources(
    text: str | None, resources: list[dict[str, Any]], *, keep_tags: bool = False
) -> list[dict[str, Any]]:
    """``resources`` that match ARM's ``$filter`` ``text`` (see the module docs); a tag filter
    returns them without their tags, as "Resources - List" says, unless ``keep_tags`` (resource
    groups keep theirs)."""
    if text is None or not text.strip():
        return resources
    clauses, joins = _split(text)
    tests = []
    tag_name: str | None = None
    tag_value: str | None = None
    tag_prefix: str | None = None
    plain = 0
    substring_joins_ok = True
    for index, clause in enumerate(clauses):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise _invalid(text, f"the clause '{clause.strip()}' is not supported.")
        if match["prop"]:
            key = match["prop"].lower()
            value = match["value"].replace("''", "'")
            if key in _TAG_PROPERTIES:
                if match["op"].lower() != "eq":
                    raise _invalid(text, f"'{match['prop']}' supports only 'eq'.")
                if key == "tagname":
                    tag_name = value
                else:
                    tag_value = value
                continue
            prop = _PROPERTIES.get(key)
            if prop is None:
                raise _invalid(
                    text,
                    f"the property '{match['prop']}' cannot be filtered on; use location, "
                    "resourceType, name, resourceGroup, identity/principalId, plan, "
                    "tagName/tagValue, substringof() or startswith(tagName, …).",
                )
            plain += 1
            tests.append((prop, match["op"].lower(), value))
        elif match["subprop"]:
            key = match["subprop"].lower()
            if key not in ("name", "resourcegroup"):
                raise _invalid(text, "substringof() supports only name and resourceGroup.")
            plain += 1
            tests.append((_PROPERTIES[key], "substringof", match["sub"].replace("''", "'")))
        else:
            if match["startprop"].lower() != "tagname":
                raise _invalid(text, "startswith() supports only tagName.")
            tag_prefix = match["prefix"].replace("''", "'")
        if index > 0 and joins[index - 1] == "or" and tests and tests[-1][1] != "substringof":
            substring_joins_ok = False
    if "or" in joins and not substring_joins_ok:
        raise _invalid(text, "'or' can only combine substringof() clauses.")
    tagged = tag_name is not None or tag_value is not None or tag_prefix is not None
    if tagged and plain:
        raise _invalid(text, "tag filters cannot be combined with other properties.")
    if tag_value is not None and tag_name is None:
        raise _invalid(text, "tagValue needs tagName.")
    if tagged:
        return [
            r if keep_tags else {k: v for k, v in r.items() if k != "tags"}
            for r in resources
            if _tag_match(r, tag_name, tag_value, tag_prefix)
        ]
    use_or = "or" in joins
    result = []
    for resource in resources:
        outcomes = [_test(resource, prop, op, value) for prop, op, value in tests]
        if any(outcomes) if use_or else all(outcomes):
            result.append(resource)
    return result


def _test(resource: dict[str, Any], prop: str, op: str, value: str) -> bool:
    actual = _resource_value(resource, prop)
    if op == "substringof":
        return actual is not None and value.lower() in actual.lower()
    if prop == "location":
        same = actual is not None and _location_key(actual) == _location_key(value)
    else:
        same = actual is not None and actual.lower() == value.lower()
    return same if op == "eq" else not same


def _tag_match(
    resource: dict[str, Any], name: str | None, value: str | None, prefix: str | None
) -> bool:
    tags = resource.get("tags") or {}
    for key, tag in tags.items():
        if prefix is not None and key.lower().startswith(prefix.lower()):
            return True
        if name is not None and key.lower() == name.lower():
            return value is None or str(tag) == value
    return False


# -- provider collections --------------------------------------------------------------------
def collection_path(path: str) -> tuple[str, str] | None:
    """For ``…/providers/ns/type[/name/childType]``: (the parent's id or scope, the full
    type); None when ``path`` names a resource (or an action)."""
    head, sep, tail = path.rpartition("/providers/")
    if not sep:
        return None
    segments = tail.split("/")
    if len(segments) < 2 or len(segments) % 2:
        return None
    types = [segments[0], *segments[1::2]]
    names = segments[2::2]
    parent = head
    if names:
        parent = f"{head}/providers/{segments[0]}/" + "/".join(
            f"{t}/{n}" for t, n in zip(segments[1::2], names, strict=False)
        )
    return parent, "/".join(types)


def list_collection(
    backend: ArmBackend, request: Request, subscription: str, group: str | None, path: str
) -> dict[str, Any] | None:
    """The resources of a provider collection path, or None when ``path`` is not one."""
    found = collection_path(path)
    if found is None:
        return None
    parent, resource_type = found
    if group is not None:
        backend.get_resource_group(subscription, group)
    prefix = parent.lower() + "/"
    items = [
        r
        for r in backend.store.list_resources(subscription, group, resource_type=resource_type)
        if r["id"].lower().startswith(prefix)
    ]
    return {"value": items}


# -- provider resource types -----------------------------------------------------------------
RESOURCES_API_VERSIONS = (
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2022-09-01",
    "2021-04-01",
)
# for a modelled type the local ARM has not seen written yet; it accepts any well-formed
# api-version for providers other than its own, so this one answers like any other
FALLBACK_API_VERSION = "2023-01-01"
# per local ARM: lower-case type → the api-versions seen written while it ran
_SEEN: weakref.WeakKeyDictionary[ArmBackend, dict[str, set[str]]] = weakref.WeakKeyDictionary()
_SEEN_LOCK = threading.Lock()


def _modelled_types() -> list[str]:
    """The types the local ARM models: those with a behaviour or a naming rule."""
    named = list(naming.NAME_RULES)
    return sorted({t for t in [*behaviors.supported_types(), *named] if not t.endswith("/*")})


def resource_types(backend: ArmBackend, namespace: str) -> list[Any]:
    """The ``resourceTypes`` of a provider: the types it holds resources of and the types the
    local ARM models in that namespace, with the api-versions resources of that type were
    written with (in the state, or earlier in this process), and Microsoft.Resources' own
    types."""
    locations = [regions.display_name(n) for n in regions.region_names()]
    versions: dict[str, set[str]] = {}
    spelled: dict[str, str] = {}
    if namespace.lower() == "microsoft.resources":
        for own in ("deployments", "resourceGroups", "subscriptions", "providers", "tags"):
            versions[own.lower()] = set(RESOURCES_API_VERSIONS)
            spelled[own.lower()] = own
    for full in _modelled_types():
        ns, _, rest = full.partition("/")
        if ns.lower() == namespace.lower() and rest:
            versions.setdefault(rest.lower(), set())
            spelled.setdefault(rest.lower(), rest)
    with _SEEN_LOCK:
        remembered = _SEEN.setdefault(backend, {})
        for resource in backend.store.list_resources(backend.config.subscription_id):
            if resource.get("apiVersion"):
                remembered.setdefault(resource["type"].lower(), set()).add(resource["apiVersion"])
        seen = {k: set(v) for k, v in remembered.items()}
    for full, found in seen.items():
        ns, _, rest = full.partition("/")
        if ns != namespace.lower() or not rest:
            continue
        versions.setdefault(rest, set()).update(found)
        spelled.setdefault(rest, rest)
    for resource in backend.store.list_resources(backend.config.subscription_id):
        ns, _, rest = resource["type"].partition("/")
        if ns.lower() == namespace.lower() and rest:
            spelled[rest.lower()] = rest  # the spelling resources were written with
    result = []
    for key in sorted(versions):
        api_versions = sorted(versions[key] or {FALLBACK_API_VERSION}, reverse=True)
        entry: dict[str, Any] = {
            "resourceType": spelled[key],
            "locations": locations,
            "apiVersions": api_versions,
            # a top-level type is a tracked resource (tags, a location), as Azure's report it
            "capabilities": "None" if "/" in spelled[key] else "SupportsTags, SupportsLocation",
        }
        stable = [v for v in api_versions if "-" not in v[10:]]
        if stable:
            entry["defaultApiVersion"] = stable[0]
        result.append(entry)
    return result
