"""``bicep-assets emulator serve`` and ``bicep-assets arm ...``: the local ARM from a shell.

``emulator serve`` runs a standalone local ARM (like Azurite) and prints one JSON line with
what clients need (base URL, token, CA file). ``arm`` mirrors ``az`` for resource groups and
deployments, through the official SDK clients, against a running local ARM
(``--endpoint URL --token T --ca-file F``) or an embedded one over a state file
(``--state FILE``).

Exit codes: 0 success; 1 ARM answered with an error, or a running local ARM cannot be
reached (about the moment: try again); 2 what the command was given is wrong (flags, files,
a state file that is not one, a host that is not one, a fault plan that does not validate).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..http.client import LocalArmConnection
from ..http.server import LocalArm, is_loopback_host
from ..service.backend import LocalArmConfig
from ..service.faults import FaultPlan
from ..state.store import ArmStoreError
from .azenv import AzEnvError, add_az_env_parser, az_environment, render_exports
from .parameter_args import ParameterArgumentError
from .scope_commands import (
    WhatIfFailed,
    add_account_commands,
    add_deployment_commands,
    output_option,
    run_deployment,
    run_management_group,
    text_table,
)

MAX_PORT = 65535
MAX_DELAY_S = 3600  # --resource-delay and --retry-after: at most an hour


def port_number(text: str) -> int:
    """``--port``: a TCP port, 0-65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{value} is not a port: use 0-{MAX_PORT} (0 picks a free port)"
        )
    return value


def seconds(text: str) -> float:
    """``--resource-delay``: seconds, 0 to :data:`MAX_DELAY_S`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 <= value <= MAX_DELAY_S:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} seconds is out of range: use 0-{MAX_DELAY_S}")
    return value


def whole_seconds(text: str) -> int:
    """``--retry-after``: whole seconds, 0 to :data:`MAX_DELAY_S` (ARM's header is an integer)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of seconds") from None
    if not 0 <= value <= MAX_DELAY_S:
        raise argparse.ArgumentTypeError(f"{value} seconds is out of range: use 0-{MAX_DELAY_S}")
    return value


def add_emulator_commands(commands: Any) -> None:
    emulator = commands.add_parser("emulator", help="run the local ARM service")
    sub = emulator.add_subparsers(dest="emulator_command", required=True)
    add_az_env_parser(sub)
    serve = sub.add_parser("serve", help="serve the ARM REST API over HTTPS until stopped")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other address makes the local ARM "
        "reachable from the network, guarded by its token alone)",
    )
    serve.add_argument("--port", type=port_number, default=0, help="0 picks a free port")
    serve.add_argument("--state", type=Path, help="SQLite state file (default: in memory)")
    serve.add_argument("--token", help="bearer token clients must send (default: random)")
    serve.add_argument("--cert-dir", type=Path, help="where to write the CA file")
    serve.add_argument("--faults", type=Path, help="fault plan JSON file")
    serve.add_argument(
        "--retry-after",
        type=whole_seconds,
        default=1,
        help=f"Retry-After seconds told to pollers (0-{MAX_DELAY_S})",
    )
    serve.add_argument(
        "--resource-delay",
        type=seconds,
        default=0.0,
        help=f"seconds each resource takes to deploy (0-{MAX_DELAY_S})",
    )


def add_arm_commands(commands: Any) -> None:
    arm = commands.add_parser("arm", help="az-like commands against a local ARM")
    target = arm.add_argument_group("target (a running local ARM, or a state file)")
    target.add_argument("--endpoint", help="base URL of a running local ARM")
    target.add_argument("--token", help="its bearer token")
    target.add_argument("--ca-file", help="its CA certificate file")
    target.add_argument("--state", type=Path, help="run an embedded local ARM over this file")
    arm.add_argument("--subscription", default="00000000-0000-0000-0000-000000000000")
    arm.add_argument("-o", "--output", choices=["json", "table", "diff"], default=None)
    sub = arm.add_subparsers(dest="arm_command", required=True)

    group = sub.add_parser("group", help="resource groups").add_subparsers(
        dest="group_command", required=True
    )
    create = group.add_parser("create")
    create.add_argument("-n", "--name", required=True)
    create.add_argument("-l", "--location", required=True)
    create.add_argument("--tags", nargs="*", default=[], help="key=value ...")
    for verb in ("show", "delete"):
        group.add_parser(verb).add_argument("-n", "--name", required=True)
    group.add_parser("list")

    add_deployment_commands(sub)
    add_account_commands(sub)
    for name in ("create", "show", "delete", "list"):
        output_option(group.choices[name])


class CommandInputError(ValueError):
    """What a command was given cannot be used; the message names the flag (exit code 2)."""


def _input_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _check_host(host: str) -> None:
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CommandInputError(
            f"--host {host!r} is not a host name or address of this machine ({reason})"
        ) from None


def _check_port(host: str, port: int) -> None:
    """Bind ``host:port`` once, as the server will (address reuse on): a port in use or not
    allowed is named here, rather than by the HTTP server, which would exit by itself."""
    if not port:
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CommandInputError(f"--port {port}: cannot listen on {host}: {reason}") from None


def run_emulator(args: argparse.Namespace) -> int:
    if args.emulator_command == "az-env":
        try:
            sys.stdout.write(render_exports(az_environment(args)))
        except AzEnvError as exc:
            return _input_error(str(exc))
        return 0
    config = LocalArmConfig(retry_after=args.retry_after, resource_delay_s=args.resource_delay)
    if args.token:
        config.token = args.token
    faults = None
    try:
        if args.faults:
            try:
                faults = FaultPlan.from_json(json.loads(args.faults.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:  # FaultPlanError and JSON errors included
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise CommandInputError(f"fault plan '{args.faults}': {reason}") from None
        _check_host(args.host)
        _check_port(args.host, args.port)
        if not is_loopback_host(args.host):
            print(
                f"warning: the local ARM listens on {args.host}: it is reachable from the network, "
                "and only its bearer token protects it (use --host 127.0.0.1 to keep it local)",
                file=sys.stderr,
                flush=True,
            )
        if args.cert_dir is not None:
            try:
                args.cert_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CommandInputError(
                    f"--cert-dir {args.cert_dir}: {exc.strerror or exc}"
                ) from None
        arm = LocalArm(
            state=args.state,
            host=args.host,
            port=args.port,
            config=config,
            faults=faults,
            cert_dir=args.cert_dir,
        )
    except CommandInputError as exc:
        return _input_error(str(exc))
    except ArmStoreError as exc:
        return _input_error(f"--state {args.state}: {exc.message}")
    except (OSError, SystemExit) as exc:  # the HTTP server exits by itself on some errors
        reason = getattr(exc, "strerror", None) or "the server could not start"
        return _input_error(f"cannot serve on {args.host} port {args.port}: {reason}")

    # The server runs in its thread; this one waits for SIGTERM or Ctrl-C and stops it. (A
    # KeyboardInterrupt raised into the serving loop itself, as before, hung the stop for
    # good when SIGTERM came just before the loop began: the loop never marked itself done.)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    arm.start()
    try:
        print(json.dumps(arm.describe()), flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        arm.stop()
    return 0


@contextlib.contextmanager
def _connection(args: argparse.Namespace) -> Iterator[LocalArmConnection]:
    if args.state is not None:
        try:
            arm = LocalArm(
                state=args.state,
                config=LocalArmConfig(retry_after=0, subscription_id=args.subscription),
            )
        except ArmStoreError as exc:
            raise CommandInputError(f"--state {args.state}: {exc.message}") from None
        with arm:
            yield arm.connection
        return
    missing = [n for n in ("endpoint", "token", "ca_file") if not getattr(args, n)]
    if missing:
        raise CommandInputError(
            "give --state FILE, or --endpoint, --token and --ca-file of a running local "
            f"ARM (missing: {', '.join('--' + m.replace('_', '-') for m in missing)})"
        )
    yield LocalArmConnection(args.endpoint, args.token, args.ca_file, args.subscription)


def run_arm(args: argparse.Namespace) -> int:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    try:
        with _connection(args) as connection:
            if args.arm_command == "group":
                result = _group(connection, args)
            elif args.arm_command in ("account", "mg"):
                result = run_management_group(connection, args)
            else:
                result = run_deployment(connection, args)
    except HttpResponseError as exc:
        print(json.dumps({"error": _error_body(exc)}, indent=2), file=sys.stderr)
        return 1
    except WhatIfFailed as exc:
        print(json.dumps({"error": exc.error}, indent=2), file=sys.stderr)
        return 1
    except ServiceRequestError as exc:
        # environmental: the service is not there now (or its certificate is not the CA's)
        print(
            f"error: cannot reach the local ARM at {args.endpoint}: {_reason(exc)}",
            file=sys.stderr,
        )
        return 1
    except (ParameterArgumentError, OSError, ValueError) as exc:
        return _input_error(str(exc))
    if result is not None:
        print(result)
    return 0


def _error_body(exc: Any) -> dict[str, Any]:
    """ARM's error as the response carried it — inner errors (``details``) included, as
    ``az`` prints them — or the SDK's summary when the body is not ARM's JSON."""
    try:
        error = exc.response.json()["error"]
        if isinstance(error, dict) and "code" in error:
            return error
    except Exception:
        pass
    summary = getattr(exc, "error", None)
    return {
        "code": getattr(summary, "code", None) or str(exc.status_code),
        "message": getattr(summary, "message", None) or exc.message,
    }


def _reason(exc: Exception) -> str:
    """The transport's reason in one line: ``[Errno 111] Connection refused``."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    text = text.split("Failed to establish a new connection: ", 1)[-1]
    connection = re.match(r"HTTPS?Connection\(host=.*?, port=\d+\): ", text)
    return text[connection.end() :] if connection else text


def _as_dict(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "as_dict"):
        return model.as_dict()
    return model


def _group(connection: LocalArmConnection, args: argparse.Namespace) -> str | None:
    client = connection.resource_client()
    groups = client.resource_groups
    if args.group_command == "create":
        tags = dict(t.split("=", 1) for t in args.tags if "=" in t)
        return json.dumps(
            _as_dict(groups.create_or_update(args.name, {"location": args.location, "tags": tags})),
            indent=2,
        )
    if args.group_command == "show":
        return json.dumps(_as_dict(groups.get(args.name)), indent=2)
    if args.group_command == "delete":
        groups.begin_delete(args.name).result()
        return None
    listed = [_as_dict(g) for g in groups.list()]
    if getattr(args, "output", None) == "table":  # az group list -o table's columns
        rows = [("Name", "Location", "Status")]
        rows += [
            (g["name"], g["location"], (g.get("properties") or {}).get("provisioningState", ""))
            for g in listed
        ]
        return text_table(rows)
    return json.dumps(listed, indent=2)
