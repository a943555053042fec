"""The Tags API (``Microsoft.Resources/tags``) and the subscription's tag names, as ARM serves
them (the REST specification's ``Tags_*`` operations, ``Microsoft.Resources`` 2025-04-01).

- **Tags at a scope** — ``{scope}/providers/Microsoft.Resources/tags/default`` for a
  subscription, a resource group or a resource: an extension resource whose
  ``properties.tags`` *are* the scope's own tags (a GET of the group or resource shows them).
  A group's and a resource's tags live in their bodies; the subscription's in a stored
  ``Microsoft.Resources/tags`` resource at that id (its GET answers them as ``tags``).
  ``Tags_CreateOrUpdateAtScope`` replaces them, ``Tags_UpdateAtScope`` applies ``Replace``,
  ``Merge`` or ``Delete`` (by name, or by name and value), ``Tags_DeleteAtScope`` removes all.
  Tag names compare without case, values with it ("Use tags to organize your Azure
  resources": names are case-insensitive for operations, values case-sensitive).
- **Limits** Microsoft documents ("Use tags to organize your Azure resources", Limitations;
  the specification's operation descriptions): at most 50 tags on an entity, names of at most
  512 characters, values of at most 256, no ``<``, ``>``, ``%``, ``&``, ``\\``, ``?``, ``/``
  in a name; predefined tag names (``Tags_CreateOrUpdate``) cannot start with ``microsoft``,
  ``azure`` or ``windows``. Microsoft documents the limits, not the error codes: the codes
  here are the local ARM's.
- **Tag names** (``Tags_List``): every name used on the subscription, its groups and their
  resources, and the predefined ones, each with its ``count`` and its ``values`` (``TagDetails``
  with ``TagCount`` ``{"type": "Total", "value": n}``). Predefined names and values are stored
  as ``Microsoft.Resources/tagNames`` resources of the subscription.
- **Deployments** of a ``Microsoft.Resources/tags`` resource apply its ``properties.tags`` to
  its scope (a replace, as its PUT), and what-if compares them with the scope's tags
  (:func:`current_resource`).
"""

from __future__ import annotations

import re
from typing import Any

from ..state.store import ArmStore
from .errors import ArmHttpError, group_not_found, resource_not_found

TAGS_TYPE = "Microsoft.Resources/tags"
TAG_NAMES_TYPE = "Microsoft.Resources/tagNames"
MAX_TAGS = 50
NAME_MAX = 512
VALUE_MAX = 256
RESERVED_PREFIXES = ("microsoft", "azure", "windows")
PATCH_OPERATIONS = ("Replace", "Merge", "Delete")
_SUFFIX = re.compile(r"/providers/Microsoft\.Resources/tags/default/?$", re.IGNORECASE)
_BAD_NAME = re.compile(r"[<>%&\\?/\x00-\x1f]")
_GROUP = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)$", re.IGNORECASE)
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)$", re.IGNORECASE)


def is_tags_resource(resource_id: str) -> bool:
    """Whether ``resource_id`` is a scope's tags resource (``…/tags/default``)."""
    return _SUFFIX.search(resource_id) is not None


def tags_scope(resource_id: str) -> str:
    """The scope a tags resource belongs to: its id without ``/providers/…/tags/default``."""
    return _SUFFIX.sub("", resource_id).rstrip("/")


def tags_id(scope: str) -> str:
    return f"{scope.rstrip('/')}/providers/{TAGS_TYPE}/default"


def tags_resource(scope: str, tags: dict[str, str]) -> dict[str, Any]:
    """``TagsResource`` as ARM answers it."""
    return {
        "id": tags_id(scope),
        "name": "default",
        "type": TAGS_TYPE,
        "properties": {"tags": dict(tags)},
    }


# -- validation ------------------------------------------------------------------------------
def check_tags(tags: Any, *, what: str = "properties.tags") -> dict[str, str]:
    """The tags of a request, or ARM's 400 saying which documented limit they break."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: '{what}' must be an object of string values.",
        )
    if len(tags) > MAX_TAGS:
        raise ArmHttpError(
            400,
            "InvalidTagCount",
            f"The number of tags ({len(tags)}) exceeds the maximum of {MAX_TAGS} tag "
            "name-value pairs a resource, resource group or subscription can have.",
        )
    for name, value in tags.items():
        check_tag_name(name)
        if len(value) > VALUE_MAX:
            raise ArmHttpError(
                400,
                "InvalidTagValueLength",
                f"The value of tag '{name}' has {len(value)} characters: a tag value can have "
                f"at most {VALUE_MAX}.",
            )
    return dict(tags)


def check_tag_name(name: str) -> None:
    if not name.strip():
        raise ArmHttpError(400, "InvalidTagName", "A tag name cannot be empty.")
    if len(name) > NAME_MAX:
        raise ArmHttpError(
            400,
            "InvalidTagNameLength",
            f"The tag name '{name[:40]}…' has {len(name)} characters: a tag name can have at "
            f"most {NAME_MAX}.",
        )
    if _BAD_NAME.search(name):
        raise ArmHttpError(
            400,
            "InvalidTagNameCharacters",
            f"The tag name '{name}' has reserved characters '<,>,%,&,\\,?,/' or control "
            "characters.",
        )


# -- the tags of a scope ---------------------------------------------------------------------
def _scope_kind(scope: str) -> tuple[str, re.Match[str] | None]:
    for kind, pattern in (("subscription", _SUBSCRIPTION), ("group", _GROUP)):
        match = pattern.match(scope.rstrip("/"))
        if match:
            return kind, match
    return "resource", None


def resolve_scope(store: ArmStore, scope: str, subscription_id: str) -> str:
    """The scope as ARM spells it (the names as created), or ARM's 404 when it does not
    exist (``SubscriptionNotFound``, ``ResourceGroupNotFound``, ``ResourceNotFound``)."""
    kind, match = _scope_kind(scope)
    if kind == "subscription":
        assert match is not None
        if match.group(1).lower() != subscription_id.lower():
            raise ArmHttpError(
                404,
                "SubscriptionNotFound",
                f"The subscription '{match.group(1)}' could not be found.",
            )
        return f"/subscriptions/{subscription_id}"
    if kind == "group":
        assert match is not None
        group = store.get_resource_group(match.group(1), match.group(2))
        if group is None:
            raise group_not_found(match.group(2))
        return str(group["id"])
    parts = scope.strip("/").split("/")
    in_group = len(parts) >= 4 and parts[2].lower() == "resourcegroups"
    if in_group and store.get_resource_group(parts[1], parts[3]) is None:
        raise group_not_found(parts[3])
    resource = store.get_resource(scope)
    if resource is None:
        raise resource_not_found(scope)
    return str(resource["id"])


def read_tags(store: ArmStore, scope: str) -> dict[str, str] | None:
    """The tags of an existing scope (``resolve_scope``'s spelling); None when it is gone."""
    if _scope_kind(scope)[0] == "subscription":
        stored = store.get_resource(tags_id(scope))
        return dict(((stored or {}).get("properties") or {}).get("tags") or {})
    target = store.get_resource(scope)
    if target is None:
        return None
    return dict(target.get("tags") or {})


def write_tags(store: ArmStore, scope: str, tags: dict[str, str]) -> dict[str, str]:
    """Make ``tags`` the scope's whole set of tags (the scope exists)."""
    kind, match = _scope_kind(scope)
    if kind == "subscription":
        if tags:
            store.put_resource(tags_resource(scope, tags))
        else:
            store.delete_resource(tags_id(scope))
        return dict(tags)
    if kind == "group":
        assert match is not None
        group = store.get_resource_group(match.group(1), match.group(2))
        if group is None:
            raise group_not_found(match.group(2))
        store.create_or_update_resource_group(
            match.group(1),
            group["name"],
            location=group["location"],
            tags=tags,
            managed_by=group.get("managedBy"),
        )
        return dict(tags)
    resource = store.get_resource(scope)
    if resource is None:
        raise resource_not_found(scope)
    updated = {**resource, "tags": dict(tags)}
    if not tags and "tags" not in resource:
        updated.pop("tags")
    store.put_resource(updated)
    return dict(tags)


def patched(current: dict[str, str], operation: Any, tags: dict[str, str]) -> dict[str, str]:
    """``Tags_UpdateAtScope``: ``Replace`` the set, ``Merge`` names in (an existing name, in
    any case, takes the new value and keeps its spelling), or ``Delete`` the names given — a
    name with a non-empty value only when its value is that one."""
    chosen = next(
        (
            op
            for op in PATCH_OPERATIONS
            if isinstance(operation, str) and op.lower() == operation.lower()
        ),
        None,
    )
    if chosen is None:
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: 'operation' is '{operation}'; it must be one of "
            "'Replace', 'Merge', 'Delete'.",
        )
    if chosen == "Replace":
        return dict(tags)
    result = dict(current)
    spelled = {name.lower(): name for name in result}
    for name, value in tags.items():
        known = spelled.get(name.lower())
        if chosen == "Merge":
            result[known or name] = value
            spelled[name.lower()] = known or name
        elif known is not None and (value == "" or result[known] == value):
            del result[known]
            spelled.pop(name.lower())
    if len(result) > MAX_TAGS:
        check_tags(result)
    return result


def current_resource(store: ArmStore, resource_id: str) -> dict[str, Any] | None:
    """A resource's GET body as what-if and ``reference()`` see it: a tags resource is its
    scope's tags (None when the scope does not exist), anything else the stored body."""
    if not is_tags_resource(resource_id):
        return store.get_resource(resource_id)
    scope = tags_scope(resource_id)
    tags = read_tags(store, scope)
    if tags is None:
        return None
    return tags_resource(scope, tags)


# -- tag names of a subscription -------------------------------------------------------------
def _tag_name_id(subscription_id: str, name: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/{TAG_NAMES_TYPE}/{name}"


def predefined(store: ArmStore, subscription_id: str) -> list[dict[str, Any]]:
    return store.list_resources(subscription_id, resource_type=TAG_NAMES_TYPE)


def tag_details(store: ArmStore, subscription_id: str) -> list[dict[str, Any]]:
    """``Tags_List``: every tag name used on the subscription, its groups and their resources
    and every predefined one — names grouped without case — with how many entities use it
    and, per value, how many use that value (``TagDetails``)."""
    entities: list[dict[str, str]] = [read_tags(store, f"/subscriptions/{subscription_id}") or {}]
    entities += [g.get("tags") or {} for g in store.list_resource_groups(subscription_id)]
    entities += [
        r.get("tags") or {}
        for r in store.list_resources(subscription_id)
        if isinstance(r.get("tags"), dict)
    ]
    names: dict[str, dict[str, Any]] = {}  # lower name → {"name", "count", "values"}
    for entry in predefined(store, subscription_id):
        name = str(entry["name"])
        slot = names.setdefault(name.lower(), {"name": name, "count": 0, "values": {}})
        for value in (entry.get("properties") or {}).get("values") or []:
            slot["values"].setdefault(value, 0)
    for tags in entities:
        for name, value in tags.items():
            slot = names.setdefault(name.lower(), {"name": name, "count": 0, "values": {}})
            slot["count"] += 1
            slot["values"][value] = slot["values"].get(value, 0) + 1
    base = f"/subscriptions/{subscription_id}/tagNames"
    return [
        {
            "id": f"{base}/{slot['name']}",
            "tagName": slot["name"],
            "count": {"type": "Total", "value": slot["count"]},
            "values": [
                {
                    "id": f"{base}/{slot['name']}/tagValues/{value}",
                    "tagValue": value,
                    "count": {"type": "Total", "value": count},
                }
                for value, count in sorted(slot["values"].items())
            ],
        }
        for _, slot in sorted(names.items())
    ]


def _details_of(store: ArmStore, subscription_id: str, name: str) -> dict[str, Any]:
    return next(
        d for d in tag_details(store, subscription_id) if d["tagName"].lower() == name.lower()
    )


def create_tag_name(
    store: ArmStore, subscription_id: str, name: str
) -> tuple[dict[str, Any], bool]:
    """``Tags_CreateOrUpdate``: a predefined tag name (``TagDetails``; created: 201)."""
    check_tag_name(name)
    if name.lower().startswith(RESERVED_PREFIXES):
        raise ArmHttpError(
            400,
            "InvalidTagNameReservedPrefix",
            f"The tag name '{name}' starts with a prefix reserved for Azure use: 'microsoft', "
            "'azure' or 'windows'.",
        )
    existing = store.get_resource(_tag_name_id(subscription_id, name))
    if existing is None:
        store.put_resource(
            {
                "id": _tag_name_id(subscription_id, name),
                "name": name,
                "type": TAG_NAMES_TYPE,
                "properties": {"values": []},
            }
        )
    return _details_of(store, subscription_id, name), existing is None


def delete_tag_name(store: ArmStore, subscription_id: str, name: str) -> bool:
    """``Tags_Delete``: a predefined name no entity uses and without predefined values (409
    otherwise, as the specification describes it); False when there was none."""
    existing = store.get_resource(_tag_name_id(subscription_id, name))
    if existing is None:
        return False
    details = _details_of(store, subscription_id, name)
    if details["count"]["value"]:
        raise ArmHttpError(
            409,
            "TagNameInUse",
            f"The tag name '{name}' cannot be deleted: it is in use as a tag name on "
            f"{details['count']['value']} resource(s).",
        )
    if (existing.get("properties") or {}).get("values"):
        raise ArmHttpError(
            409,
            "TagNameHasValues",
            f"The tag name '{name}' cannot be deleted: its predefined values must be deleted "
            "first.",
        )
    store.delete_resource(existing["id"])
    return True


def create_tag_value(
    store: ArmStore, subscription_id: str, name: str, value: str
) -> tuple[dict[str, Any], bool]:
    """``Tags_CreateOrUpdateValue``: a predefined value of a predefined name (``TagValue``;
    created: 201). The name must be predefined (404 otherwise)."""
    existing = store.get_resource(_tag_name_id(subscription_id, name))
    if existing is None:
        raise ArmHttpError(
            404, "TagNameNotFound", f"The predefined tag name '{name}' could not be found."
        )
    if len(value) > VALUE_MAX:
        raise ArmHttpError(
            400,
            "InvalidTagValueLength",
            f"The tag value has {len(value)} characters: a tag value can have at most {VALUE_MAX}.",
        )
    values = list((existing.get("properties") or {}).get("values") or [])
    created = value not in values
    if created:
        store.put_resource({**existing, "properties": {"values": [*values, value]}})
    details = _details_of(store, subscription_id, name)
    answer = next(v for v in details["values"] if v["tagValue"] == value)
    return answer, created


def delete_tag_value(store: ArmStore, subscription_id: str, name: str, value: str) -> bool:
    """``Tags_DeleteValue``: a predefined value no entity uses (409 otherwise); False when
    there was none."""
    existing = store.get_resource(_tag_name_id(subscription_id, name))
    values = list(((existing or {}).get("properties") or {}).get("values") or [])
    if existing is None or value not in values:
        return False
    details = _details_of(store, subscription_id, name)
    count = next(v["count"]["value"] for v in details["values"] if v["tagValue"] == value)
    if count:
        raise ArmHttpError(
            409,
            "TagValueInUse",
            f"The tag value '{value}' of '{name}' cannot be deleted: it is in use on "
            f"{count} resource(s).",
        )
    values.remove(value)
    store.put_resource({**existing, "properties": {"values": values}})
    return True
