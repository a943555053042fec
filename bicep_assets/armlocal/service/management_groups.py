"""The management group hierarchy the local ARM keeps (``Microsoft.Management``).

Management groups are tenant-level resources, stored like any other resource under their
id ``/providers/Microsoft.Management/managementGroups/{name}`` — so a tenant deployment
that declares one and the REST API's PUT write the same record. The Tenant Root Group is
named for the tenant id and always exists; a group created without a parent goes under it.
Subscriptions sit under the root group until placed elsewhere
(``.../managementGroups/{name}/subscriptions/{subscriptionId}``, a
``Microsoft.Management/managementGroups/subscriptions`` record). Shapes and rules follow
Microsoft's Management Groups REST API reference (api-version 2023-04-01) and the
"Organize your resources with management groups" page (six levels below the root, names
of up to 90 letters, digits, ``-``, ``_``, ``(``, ``)`` and ``.``).
"""

from __future__ import annotations

import re
from typing import Any

from ..engine import ManagementGroup
from ..state.store import ArmStore
from . import behaviors
from .behaviors.management import MANAGEMENT_GROUPS, MG_PREFIX, UPDATED_BY
from .errors import ArmHttpError

ROOT_DISPLAY_NAME = "Tenant Root Group"
SUBSCRIPTIONS_TYPE = "Microsoft.Management/managementGroups/subscriptions"
MAX_DEPTH = 6  # levels below the root group
NAME_PATTERN = re.compile(r"^[-\w\.\(\)]{1,90}$")


def group_id(name: str) -> str:
    return f"{MG_PREFIX}{name}"


def not_found(name: str) -> ArmHttpError:
    """ARM's answer for a deployment or a child naming a group that does not exist."""
    return ArmHttpError(
        404, "ManagementGroupNotFound", f"The management group '{name}' cannot be found."
    )


class ManagementGroups:
    """The hierarchy over the store (see the module docstring)."""

    def __init__(
        self,
        store: ArmStore,
        tenant_id: str,
        default_subscription: str,
        ctx: behaviors.ServiceContext,
    ) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.default_subscription = default_subscription
        self.ctx = ctx

    # -- records ------------------------------------------------------------------------
    def root(self) -> dict[str, Any]:
        return {
            "id": group_id(self.tenant_id),
            "type": MANAGEMENT_GROUPS,
            "name": self.tenant_id,
            "properties": {
                "tenantId": self.tenant_id,
                "displayName": ROOT_DISPLAY_NAME,
                "details": {
                    "version": 1,
                    "updatedTime": "1970-01-01T00:00:00Z",
                    "updatedBy": UPDATED_BY,
                },
            },
        }

    def record(self, name: str) -> dict[str, Any] | None:
        stored = self.store.get_resource(group_id(name))
        if stored is None and name.lower() == self.tenant_id.lower():
            return self.root()
        return stored

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        """The store's ``get_resource``, which also knows the Tenant Root Group."""
        if resource_id.lower() == group_id(self.tenant_id).lower():
            return self.record(self.tenant_id)
        return self.store.get_resource(resource_id)

    def require(self, name: str) -> dict[str, Any]:
        found = self.record(name)
        if found is None:
            raise not_found(name)
        return found

    def context_group(self, name: str) -> ManagementGroup:
        """The group as the engine's ``managementGroup()`` needs it (``ManagementGroupNotFound``
        when it does not exist)."""
        record = self.require(name)
        group = ManagementGroup.from_record(name, record)
        parent = self.parent_name(record)
        if parent is None:
            return group
        parent_record = self.record(parent)
        display = (parent_record or {}).get("properties", {}).get("displayName") or parent
        return ManagementGroup(
            name=group.name,
            display_name=group.display_name,
            parent_name=(parent_record or {}).get("name") or parent,
            parent_display_name=display,
            updated_time=group.updated_time,
            updated_by=group.updated_by,
            version=group.version,
        )

    def parent_name(self, record: dict[str, Any]) -> str | None:
        if str(record.get("name", "")).lower() == self.tenant_id.lower():
            return None
        parent = ((record.get("properties") or {}).get("details") or {}).get("parent") or {}
        parent_id = parent.get("id") if isinstance(parent, dict) else None
        if not isinstance(parent_id, str) or not parent_id.strip("/"):
            return self.tenant_id
        return parent_id.rstrip("/").rsplit("/", 1)[-1]

    def all_groups(self) -> list[dict[str, Any]]:
        groups = self.store.list_tenant_resources(MANAGEMENT_GROUPS)
        if not any(g["name"].lower() == self.tenant_id.lower() for g in groups):
            groups.insert(0, self.root())
        return groups

    def ancestors(self, name: str) -> list[dict[str, Any]]:
        """The groups above ``name``, the root first."""
        chain: list[dict[str, Any]] = []
        record = self.record(name)
        seen: set[str] = set()
        while record is not None:
            parent = self.parent_name(record)
            if parent is None or parent.lower() in seen:
                break
            seen.add(parent.lower())
            record = self.record(parent)
            if record is not None:
                chain.insert(0, record)
        return chain

    def subscriptions_of(self, name: str) -> list[str]:
        """The subscriptions placed directly under ``name`` (the root holds the rest)."""
        placed: dict[str, str] = {}
        # the latest placement wins (a deployment may add one elsewhere)
        for record in self.store.list_tenant_resources(SUBSCRIPTIONS_TYPE, by_change=True):
            parts = str(record["id"]).split("/")
            placed[parts[-1].lower()] = parts[-3]
        mine = [sub for sub, group in placed.items() if group.lower() == name.lower()]
        if name.lower() == self.tenant_id.lower():
            known = {self.default_subscription.lower(), *self.store.group_subscription_ids()}
            mine += [s for s in sorted(known) if s not in placed]
        return mine

    # -- operations ---------------------------------------------------------------------
    def create_or_update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if not NAME_PATTERN.match(name) or name.endswith("."):
            raise ArmHttpError(
                400,
                "InvalidManagementGroupName",
                f"The management group name '{name}' is invalid: use 1-90 letters, digits, "
                "'-', '_', '(', ')' or '.', not ending with '.'.",
            )
        props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        details = props.get("details") if isinstance(props.get("details"), dict) else {}
        parent = details.get("parent") if isinstance(details.get("parent"), dict) else {}
        parent_id = parent.get("id")
        existing = self.store.get_resource(group_id(name))
        if name.lower() == self.tenant_id.lower():
            if parent_id:
                raise ArmHttpError(
                    400, "BadRequest", "The Tenant Root Group cannot be moved under a parent."
                )
        else:
            parent_name = self._parent_from(parent_id, existing)
            self.require(parent_name)
            chain = [g["name"].lower() for g in self.ancestors(parent_name)]
            if name.lower() == parent_name.lower() or name.lower() in chain:
                raise ArmHttpError(
                    400,
                    "BadRequest",
                    f"The management group '{name}' cannot be moved under '{parent_name}': "
                    "that would make it its own ancestor.",
                )
            if len(chain) + 1 > MAX_DEPTH:
                raise ArmHttpError(
                    400,
                    "BadRequest",
                    f"The management group '{name}' would be more than {MAX_DEPTH} levels "
                    "below the Tenant Root Group.",
                )
            parent_id = group_id(parent_name)
        desired: dict[str, Any] = {
            "id": group_id(name),
            "type": MANAGEMENT_GROUPS,
            "name": name,
            "properties": {
                "displayName": props.get("displayName")
                or ((existing or {}).get("properties") or {}).get("displayName")
                or name,
                "details": {"parent": {"id": parent_id}} if parent_id else {},
            },
        }
        stored = behaviors.apply_runtime_properties(desired, existing, self.ctx)
        self.store.put_resource(stored)
        return self.render(name)

    def _parent_from(self, parent_id: Any, existing: dict[str, Any] | None) -> str:
        if isinstance(parent_id, str) and parent_id.strip("/"):
            return parent_id.rstrip("/").rsplit("/", 1)[-1]
        if existing is not None:
            return self.parent_name(existing) or self.tenant_id
        return self.tenant_id

    def delete(self, name: str) -> bool:
        if name.lower() == self.tenant_id.lower():
            raise ArmHttpError(400, "BadRequest", "The Tenant Root Group cannot be deleted.")
        if self.store.get_resource(group_id(name)) is None:
            return False
        if self.children(name, recurse=False):
            raise ArmHttpError(
                400,
                "BadRequest",
                f"The management group '{name}' has children: move or delete its management "
                "groups and subscriptions first.",
            )
        self.store.delete_resource(group_id(name))
        return True

    def place_subscription(self, name: str, subscription_id: str) -> dict[str, Any]:
        self.require(name)
        for record in self.store.list_tenant_resources(SUBSCRIPTIONS_TYPE):
            if record["id"].lower().endswith(f"/subscriptions/{subscription_id.lower()}"):
                self.store.delete_resource(record["id"])
        record = {
            "id": f"{group_id(name)}/subscriptions/{subscription_id}",
            "type": SUBSCRIPTIONS_TYPE,
            "name": subscription_id,
            "properties": {
                "tenant": self.tenant_id,
                "displayName": subscription_id,
                "parent": {"id": group_id(name)},
                "state": "Active",
            },
        }
        if name.lower() != self.tenant_id.lower():
            self.store.put_resource(record)
        return record

    def remove_subscription(self, name: str, subscription_id: str) -> None:
        self.require(name)
        self.store.delete_resource(f"{group_id(name)}/subscriptions/{subscription_id}")

    # -- answers ------------------------------------------------------------------------
    def children(
        self, name: str, *, recurse: bool, subscriptions: bool = True
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for group in self.all_groups():
            if self.parent_name(group) is not None and (
                str(self.parent_name(group)).lower() == name.lower()
            ):
                child: dict[str, Any] = {
                    "type": MANAGEMENT_GROUPS,
                    "id": group["id"],
                    "name": group["name"],
                    "displayName": group["properties"].get("displayName", group["name"]),
                }
                if recurse:
                    child["children"] = (
                        self.children(group["name"], recurse=True, subscriptions=subscriptions)
                        or None
                    )
                found.append(child)
        for sub in self.subscriptions_of(name) if subscriptions else []:
            found.append(
                {
                    "type": "/subscriptions",
                    "id": f"/subscriptions/{sub}",
                    "name": sub,
                    "displayName": sub,
                }
            )
        return found

    def render(
        self,
        name: str,
        *,
        expand: str | None = None,
        recurse: bool = False,
        subscriptions: bool = True,
    ) -> dict[str, Any]:
        """The GET body of a group: parent with its display name; ``$expand=children``
        (``$recurse`` for every level; ``subscriptions=False`` for ``$filter=children.childType
        ne Subscription``), ``path`` or ``ancestors``."""
        record = self.require(name)
        body = {k: record[k] for k in ("id", "type", "name") if k in record}
        props = dict(record.get("properties") or {})
        props.pop("provisioningState", None)  # not part of the Management Groups API's shape
        details = dict(props.get("details") or {})
        parent = self.parent_name(record)
        if parent is not None:
            parent_record = self.record(parent) or {}
            details["parent"] = {
                "id": group_id(parent_record.get("name", parent)),
                "name": parent_record.get("name", parent),
                "displayName": (parent_record.get("properties") or {}).get("displayName", parent),
            }
        wanted = {part.strip().lower() for part in (expand or "").split(",") if part.strip()}
        chain = self.ancestors(name)
        if "path" in wanted:
            details["path"] = [
                {"name": g["name"], "displayName": g["properties"].get("displayName")}
                for g in chain
            ]
        if "ancestors" in wanted:
            # the definition (ManagementGroupDetails): the names, and the same chain with
            # display names, from the immediate parent up to the root
            details["managementGroupAncestors"] = [g["name"] for g in reversed(chain)]
            details["managementGroupAncestorsChain"] = [
                {"name": g["name"], "displayName": g["properties"].get("displayName")}
                for g in reversed(chain)
            ]
        props["details"] = details
        props["tenantId"] = self.tenant_id
        if "children" in wanted:
            props["children"] = self.children(
                record["name"], recurse=recurse, subscriptions=subscriptions
            )
        body["properties"] = props
        return body

    def info(self, group: dict[str, Any]) -> dict[str, Any]:
        """The list entry of a group (ManagementGroupInfo)."""
        return {
            "id": group["id"],
            "type": MANAGEMENT_GROUPS,
            "name": group["name"],
            "properties": {
                "tenantId": self.tenant_id,
                "displayName": (group.get("properties") or {}).get("displayName", group["name"]),
            },
        }
