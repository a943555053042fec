"""``bicep-assets arm deployment group|sub|mg|tenant …``, ``arm deployment operation …`` and
``arm account management-group …`` (also ``arm mg …``), with az's command and flag names.

Every leaf command also takes ``-o/--output`` after the subcommand, as az does
(``arm deployment sub list -o table``); given before the subcommand it works too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..engine import read_json_file
from ..http.client import LocalArmConnection
from .parameter_args import parse_parameter_args
from .whatif_render import render_what_if

OUTPUTS = ["json", "table", "diff"]
SCOPES = {
    "group": "resource group",
    "sub": "subscription",
    "mg": "management group",
    "tenant": "tenant",
}
VERBS = ("validate", "what-if", "create", "show", "list", "delete", "cancel", "export")


class WhatIfFailed(Exception):
    """A what-if whose result carries an error (ARM reports a template it refuses there):
    printed as ARM's error, exit code 1, as az does."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def output_option(parser: argparse.ArgumentParser) -> None:
    """``-o/--output`` on a leaf command; left unset unless given, so that one given before
    the subcommand (``arm -o table deployment …``) still counts."""
    parser.add_argument("-o", "--output", choices=OUTPUTS, default=argparse.SUPPRESS)


def _scope_arguments(cmd: argparse.ArgumentParser, scope: str, *, needs_location: bool) -> None:
    if scope == "group":
        cmd.add_argument("-g", "--resource-group", required=True)
    if scope == "mg":
        cmd.add_argument("-m", "--management-group-id", required=True)
    if scope != "group" and needs_location:
        cmd.add_argument(
            "-l", "--location", required=True, help="where ARM stores the deployment data"
        )


def add_deployment_commands(sub: Any) -> None:
    deployment = sub.add_parser("deployment", help="deployments at the four scopes").add_subparsers(
        dest="scope", required=True
    )
    for scope, label in SCOPES.items():
        verbs = deployment.add_parser(scope, help=f"{label} deployments").add_subparsers(
            dest="deployment_command", required=True
        )
        for verb in VERBS:
            cmd = verbs.add_parser(verb)
            output_option(cmd)
            deploys = verb in ("validate", "what-if", "create")
            _scope_arguments(cmd, scope, needs_location=deploys)
            if deploys:
                cmd.add_argument(
                    "-n", "--name", help="deployment name (default: the template's stem)"
                )
                cmd.add_argument("-f", "--template-file", required=True, type=Path)
                cmd.add_argument("-p", "--parameters", action="append", default=[])
                if scope == "group":
                    cmd.add_argument(
                        "--mode", choices=["Incremental", "Complete"], default="Incremental"
                    )
                if verb == "create":
                    cmd.add_argument(
                        "--no-wait", action="store_true", help="do not wait for it to finish"
                    )
                    cmd.add_argument(
                        "-w",
                        "--what-if",
                        action="store_true",
                        help="only show what the deployment would change (as az's --what-if)",
                    )
            elif verb != "list":
                cmd.add_argument("-n", "--name", required=True)
        if scope == "group":  # kept from before: `deployment group operations -g RG -n NAME`
            cmd = verbs.add_parser("operations")
            output_option(cmd)
            _scope_arguments(cmd, scope, needs_location=False)
            cmd.add_argument("-n", "--name", required=True)

    operation = deployment.add_parser(
        "operation", help="deployment operations at the four scopes"
    ).add_subparsers(dest="operation_scope", required=True)
    for scope, label in SCOPES.items():
        verbs = operation.add_parser(scope, help=f"{label} deployment operations").add_subparsers(
            dest="operation_command", required=True
        )
        for verb in ("list", "show"):
            cmd = verbs.add_parser(verb)
            output_option(cmd)
            _scope_arguments(cmd, scope, needs_location=False)
            cmd.add_argument("-n", "--name", required=True, help="the deployment's name")
            if verb == "show":
                cmd.add_argument("--operation-ids", nargs="+", required=True)


def add_management_group_commands(parent: Any, name: str, **kwargs: Any) -> None:
    verbs = parent.add_parser(name, **kwargs).add_subparsers(dest="mg_command", required=True)
    create = verbs.add_parser("create")
    update = verbs.add_parser("update")
    for cmd in (create, update):
        cmd.add_argument("-n", "--name", required=True)
        cmd.add_argument("-d", "--display-name")
        cmd.add_argument("-p", "--parent", help="the parent group's name or id")
    show = verbs.add_parser("show")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("-e", "--expand", action="store_true", help="include the children")
    show.add_argument("-r", "--recurse", action="store_true", help="children of children too")
    verbs.add_parser("delete").add_argument("-n", "--name", required=True)
    verbs.add_parser("list")
    subscription = verbs.add_parser("subscription").add_subparsers(
        dest="mg_subscription_command", required=True
    )
    for verb in ("add", "remove"):
        cmd = subscription.add_parser(verb)
        cmd.add_argument("-n", "--name", required=True)
        cmd.add_argument("-s", "--subscription", dest="mg_subscription", required=True)
        output_option(cmd)
    for cmd in (create, update, show, verbs.choices["delete"], verbs.choices["list"]):
        output_option(cmd)


def add_account_commands(sub: Any) -> None:
    account = sub.add_parser("account", help="the tenant's hierarchy").add_subparsers(
        dest="account_command", required=True
    )
    add_management_group_commands(account, "management-group", help="management groups")
    add_management_group_commands(
        sub, "mg", help="management groups (arm account management-group)"
    )


# -- running ---------------------------------------------------------------------------
def _as_dict(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "as_dict"):
        return model.as_dict()
    return model


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2)


def run_deployment(connection: LocalArmConnection, args: argparse.Namespace) -> str | None:
    if args.scope == "operation":
        return _operations(connection, args, args.operation_scope, args.operation_command)
    if args.deployment_command == "operations":  # deployment group operations
        return _operations(connection, args, "group", "list")
    client = connection.deployments_client()
    calls = _Calls(client.deployments, args)
    command = args.deployment_command
    if command == "list":
        items = [_as_dict(d) for d in calls.list()]
        return deployment_table(items) if args.output == "table" else _dump(items)
    if command == "show":
        return _dump(_as_dict(calls.get(args.name)))
    if command == "delete":
        calls.delete(args.name).result()
        return None
    if command == "cancel":
        calls.cancel(args.name)
        return None
    if command == "export":
        return _dump(_as_dict(calls.export(args.name)).get("template"))
    template = read_json_file(args.template_file, "template file")
    properties: dict[str, Any] = {
        "mode": getattr(args, "mode", "Incremental"),
        "template": template,
        "parameters": parse_parameter_args(args.parameters),
    }
    body: dict[str, Any] = {"properties": properties}
    if args.scope != "group":
        body["location"] = args.location
    name = args.name or args.template_file.stem
    if command == "validate":
        return _dump(_as_dict(calls.validate(name, body).result()))
    if command == "what-if" or getattr(args, "what_if", False):
        result = _as_dict(calls.what_if(name, body).result())
        if result.get("error"):
            raise WhatIfFailed(result["error"])
        if args.output == "json":
            return _dump(result)
        return render_what_if(result, color=sys.stdout.isatty())
    poller = calls.create(name, body)
    if args.no_wait:
        return None
    return _dump(_as_dict(poller.result()))


class _Calls:
    """The SDK's deployment operations of one scope, under one set of names."""

    def __init__(self, operations: Any, args: argparse.Namespace) -> None:
        self.ops = operations
        self.scope = args.scope
        self.lead: tuple[str, ...] = ()
        suffix = {"group": "", "sub": "_at_subscription_scope", "tenant": "_at_tenant_scope"}
        self.suffix = suffix.get(self.scope, "_at_management_group_scope")
        if self.scope == "group":
            self.lead = (args.resource_group,)
        elif self.scope == "mg":
            self.lead = (args.management_group_id,)

    def _call(self, name: str, *rest: Any) -> Any:
        return getattr(self.ops, name + self.suffix)(*self.lead, *rest)

    def list(self) -> Any:
        if self.scope == "group":
            return self.ops.list_by_resource_group(*self.lead)
        return self._call("list")

    def get(self, name: str) -> Any:
        return self._call("get", name)

    def delete(self, name: str) -> Any:
        return self._call("begin_delete", name)

    def cancel(self, name: str) -> Any:
        return self._call("cancel", name)

    def export(self, name: str) -> Any:
        return self._call("export_template", name)

    def validate(self, name: str, body: dict[str, Any]) -> Any:
        return self._call("begin_validate", name, body)

    def what_if(self, name: str, body: dict[str, Any]) -> Any:
        return self._call("begin_what_if", name, body)

    def create(self, name: str, body: dict[str, Any]) -> Any:
        return self._call("begin_create_or_update", name, body)


def _operations(
    connection: LocalArmConnection, args: argparse.Namespace, scope: str, verb: str
) -> str:
    operations = connection.deployments_client().deployment_operations
    suffix = {"group": "", "sub": "_at_subscription_scope", "tenant": "_at_tenant_scope"}.get(
        scope, "_at_management_group_scope"
    )
    lead: tuple[str, ...] = ()
    if scope == "group":
        lead = (args.resource_group,)
    elif scope == "mg":
        lead = (args.management_group_id,)
    if verb == "list":
        items = getattr(operations, "list" + suffix)(*lead, args.name)
        return _dump([_as_dict(o) for o in items])
    found = [
        _as_dict(getattr(operations, "get" + suffix)(*lead, args.name, op))
        for op in args.operation_ids
    ]
    return _dump(found[0] if len(found) == 1 else found)


def run_management_group(connection: LocalArmConnection, args: argparse.Namespace) -> str | None:
    groups = connection.management_groups_client()
    command = args.mg_command
    if command in ("create", "update"):
        details: dict[str, Any] = {}
        if args.parent:
            parent = args.parent
            if not parent.lower().startswith("/providers/"):
                parent = f"/providers/Microsoft.Management/managementGroups/{parent}"
            details["parent"] = {"id": parent}
        if command == "update":
            current = _as_dict(groups.management_groups.get(args.name))
            display = args.display_name or _display_name(current)
        else:
            display = args.display_name or args.name
        body = {"properties": {"displayName": display, "details": details}}
        result = groups.management_groups.begin_create_or_update(args.name, body).result()
        return _dump(_as_dict(result))
    if command == "show":
        if args.recurse and not args.expand:
            raise ValueError("--recurse needs --expand (the children are what it recurses)")
        expand = "children" if args.expand else None
        found = groups.management_groups.get(args.name, expand=expand, recurse=args.recurse or None)
        return _dump(_as_dict(found))
    if command == "delete":
        groups.management_groups.begin_delete(args.name).result()
        return None
    if command == "list":
        items = [_as_dict(g) for g in groups.management_groups.list()]
        if args.output == "table":
            return text_table(
                [("Name", "DisplayName")] + [(g["name"], _display_name(g)) for g in items]
            )
        return _dump(items)
    subscriptions = groups.management_group_subscriptions
    if args.mg_subscription_command == "add":
        return _dump(_as_dict(subscriptions.create(args.name, args.mg_subscription)))
    subscriptions.delete(args.name, args.mg_subscription)
    return None


def _display_name(group: dict[str, Any]) -> str:
    props = group.get("properties") or {}
    return str(props.get("displayName", props.get("display_name", "")) or "")


def deployment_table(items: list[dict[str, Any]]) -> str:
    rows = [("Name", "State", "Timestamp", "Mode")]
    for item in items:
        props = item.get("properties", {})
        rows.append(
            (
                item.get("name", ""),
                props.get("provisioning_state", props.get("provisioningState", "")),
                props.get("timestamp", ""),
                props.get("mode", ""),
            )
        )
    return text_table(rows)


def text_table(rows: list[tuple[Any, ...]]) -> str:
    """Rows as az's ``-o table`` prints them: columns padded, the first row the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
