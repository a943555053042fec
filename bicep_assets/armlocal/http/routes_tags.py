"""The Tags API (``Tags_*``): a scope's tags and the subscription's tag names.

- ``{scope}/providers/Microsoft.Resources/tags/default`` for a subscription, a resource group
  or a resource: GET (``Tags_GetAtScope``), PUT (``Tags_CreateOrUpdateAtScope``: the whole
  set), PATCH (``Tags_UpdateAtScope``: ``operation`` ``Replace``, ``Merge`` or ``Delete``),
  DELETE (``Tags_DeleteAtScope``: every tag). They answer 200 with ``TagsResource`` (the
  DELETE without a body); a write under a ``ReadOnly`` lock, a DELETE under any lock is 409
  ``ScopeLocked`` (the tags resource is an extension resource of the locked scope).
- ``/subscriptions/{s}/tagNames`` (``Tags_List``), ``…/tagNames/{name}`` (PUT
  ``Tags_CreateOrUpdate``, DELETE ``Tags_Delete``) and ``…/tagNames/{name}/tagValues/{value}``
  (PUT ``Tags_CreateOrUpdateValue``, DELETE ``Tags_DeleteValue``).

The rules are ``service/tags.py``'s.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from ..service.backend import ArmBackend
from ..service.errors import ArmHttpError
from ..service.locks import check_unlocked
from ..service.tags import (
    check_tags,
    create_tag_name,
    create_tag_value,
    delete_tag_name,
    delete_tag_value,
    patched,
    read_tags,
    resolve_scope,
    tag_details,
    tags_id,
    tags_resource,
    write_tags,
)
from .rest import SUB, Router, empty_response, json_response, read_json, require_object

TAGS_SCOPE = (
    r"(?P<scope>/subscriptions/[^/]+(?:/resourcegroups/[^/]+)?(?:/providers/.+?)?)"
    r"/providers/Microsoft\.Resources/tags/default"
)


def _scope(backend: ArmBackend, scope: str) -> str:
    return resolve_scope(backend.store, scope, backend.config.subscription_id)


def _properties(body: dict[str, Any], what: str) -> dict[str, Any]:
    """``body``'s ``properties`` object, or ARM's 400 naming ``what`` lacks one."""
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            f"The request content was invalid: {what} needs a 'properties' object.",
        )
    return properties


def _body_tags(request: Request) -> dict[str, str]:
    body = require_object(read_json(request), "the tags resource")
    return check_tags(_properties(body, "the tags resource").get("tags"))


def get_tags(backend: ArmBackend, request: Request, scope: str) -> Response:
    scope = _scope(backend, scope)
    return json_response(tags_resource(scope, read_tags(backend.store, scope) or {}))


def put_tags(backend: ArmBackend, request: Request, scope: str) -> Response:
    scope = _scope(backend, scope)
    tags = _body_tags(request)
    check_unlocked(backend.store, tags_id(scope), "write")
    return json_response(tags_resource(scope, write_tags(backend.store, scope, tags)))


def patch_tags(backend: ArmBackend, request: Request, scope: str) -> Response:
    scope = _scope(backend, scope)
    body = require_object(read_json(request), "the tags patch")
    tags = check_tags(_properties(body, "the tags patch").get("tags"))
    current = read_tags(backend.store, scope) or {}
    desired = patched(current, body.get("operation"), tags)
    check_unlocked(backend.store, tags_id(scope), "write")
    return json_response(tags_resource(scope, write_tags(backend.store, scope, desired)))


def delete_tags(backend: ArmBackend, request: Request, scope: str) -> Response:
    scope = _scope(backend, scope)
    check_unlocked(backend.store, tags_id(scope), "delete")
    write_tags(backend.store, scope, {})
    return empty_response(200)


def _subscription(backend: ArmBackend, sub: str) -> str:
    return resolve_scope(backend.store, f"/subscriptions/{sub}", backend.config.subscription_id)


def list_tag_names(backend: ArmBackend, request: Request, sub: str) -> Response:
    sub = _subscription(backend, sub).rsplit("/", 1)[-1]
    return json_response({"value": tag_details(backend.store, sub)})


def put_tag_name(backend: ArmBackend, request: Request, sub: str, name: str) -> Response:
    sub = _subscription(backend, sub).rsplit("/", 1)[-1]
    details, created = create_tag_name(backend.store, sub, name)
    return json_response(details, 201 if created else 200)


def delete_tag_name_route(backend: ArmBackend, request: Request, sub: str, name: str) -> Response:
    sub = _subscription(backend, sub).rsplit("/", 1)[-1]
    return empty_response(200 if delete_tag_name(backend.store, sub, name) else 204)


def put_tag_value(
    backend: ArmBackend, request: Request, sub: str, name: str, value: str
) -> Response:
    sub = _subscription(backend, sub).rsplit("/", 1)[-1]
    answer, created = create_tag_value(backend.store, sub, name, value)
    return json_response(answer, 201 if created else 200)


def delete_tag_value_route(
    backend: ArmBackend, request: Request, sub: str, name: str, value: str
) -> Response:
    sub = _subscription(backend, sub).rsplit("/", 1)[-1]
    gone = delete_tag_value(backend.store, sub, name, value)
    return empty_response(200 if gone else 204)


def add_tag_routes(router: Router) -> None:
    """Before every other route: the generic resource patterns would take these paths."""
    add = router.add
    add("GET", TAGS_SCOPE, get_tags, "Tags_GetAtScope")
    add("PUT", TAGS_SCOPE, put_tags, "Tags_CreateOrUpdateAtScope")
    add("PATCH", TAGS_SCOPE, patch_tags, "Tags_UpdateAtScope")
    add("DELETE", TAGS_SCOPE, delete_tags, "Tags_DeleteAtScope")
    names = rf"{SUB}/tagNames"
    add("GET", names, list_tag_names, "Tags_List")
    add("PUT", rf"{names}/(?P<name>[^/]+)", put_tag_name, "Tags_CreateOrUpdate")
    add("DELETE", rf"{names}/(?P<name>[^/]+)", delete_tag_name_route, "Tags_Delete")
    value = rf"{names}/(?P<name>[^/]+)/tagValues/(?P<value>[^/]+)"
    add("PUT", value, put_tag_value, "Tags_CreateOrUpdateValue")
    add("DELETE", value, delete_tag_value_route, "Tags_DeleteValue")
