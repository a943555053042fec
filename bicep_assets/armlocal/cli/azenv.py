"""``bicep-assets emulator az-env``: the environment that points the official Azure CLI at a
running local ARM.

It prints shell ``export`` lines (``eval "$(bicep-assets emulator az-env …)"``):

- ``AZURE_CONFIG_DIR``: az's own configuration folder, so the user's real az profile and
  clouds are left alone;
- ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``: a CA bundle — the public roots (certifi)
  plus the local ARM's CA — that az's HTTP clients (requests; urllib for cloud metadata)
  trust;
- ``ARM_CLOUD_METADATA_URL`` and ``AZURE_CLOUD_NAME``: az loads its clouds from the local
  ARM's ``/metadata/endpoints`` and uses the cloud it describes, ``LocalArm``;
- ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``: the App Service managed-identity protocol,
  which the local ARM serves, so that ``az login --identity`` gets tokens from it;
- ``AZURE_CORE_COLLECT_TELEMETRY=no``: nothing is sent to Microsoft from a rehearsal.

Exit code 2, naming the flag, when an argument cannot be used.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi

from ..http.identity import CLOUD_NAME, METADATA_PATH, TOKEN_PATH


class AzEnvError(ValueError):
    """An argument of az-env that cannot be used; the message names the flag."""


def add_az_env_parser(sub: Any) -> None:
    az_env = sub.add_parser(
        "az-env",
        help="print the environment (export lines) that points the Azure CLI at a running "
        "local ARM",
    )
    az_env.add_argument("--endpoint", required=True, help="the local ARM's base URL")
    az_env.add_argument("--token", required=True, help="its token (the --token it serves with)")
    az_env.add_argument("--ca-file", required=True, type=Path, help="its CA certificate file")
    az_env.add_argument(
        "--config-dir",
        type=Path,
        help="az's configuration folder (default: 'az' beside the CA file)",
    )


def _public_roots() -> str:
    """The roots az trusts by default (certifi, requests' own bundle)."""
    try:
        return Path(certifi.where()).read_text(encoding="utf-8")
    except OSError:
        return ""


def az_environment(args: argparse.Namespace) -> dict[str, str]:
    """The variables to export; writes the CA bundle into the configuration folder."""
    parts = urlsplit(args.endpoint)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        raise AzEnvError(
            f"--endpoint {args.endpoint}: expected the local ARM's base URL, "
            "e.g. https://127.0.0.1:8443"
        )
    base = f"https://{parts.netloc}"
    if not args.token.strip():
        raise AzEnvError("--token: must not be empty")
    try:
        ca = args.ca_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise AzEnvError(f"--ca-file {args.ca_file}: {reason}") from None
    if "BEGIN CERTIFICATE" not in ca:
        raise AzEnvError(f"--ca-file {args.ca_file}: not a PEM certificate")
    config_dir = (args.config_dir or args.ca_file.parent / "az").resolve()
    try:
        config_dir.mkdir(parents=True, exist_ok=True)
        bundle = config_dir / "ca-bundle.pem"
        bundle.write_text(_public_roots().rstrip("\n") + "\n" + ca, encoding="utf-8")
    except OSError as exc:
        flag = "--config-dir" if args.config_dir else "--ca-file"
        raise AzEnvError(f"{flag} {config_dir}: {exc.strerror or exc}") from None
    return {
        "AZURE_CONFIG_DIR": str(config_dir),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "SSL_CERT_FILE": str(bundle),
        "ARM_CLOUD_METADATA_URL": f"{base}{METADATA_PATH}?api-version=2019-05-01",
        "AZURE_CLOUD_NAME": CLOUD_NAME,
        "IDENTITY_ENDPOINT": f"{base}{TOKEN_PATH}",
        "IDENTITY_HEADER": args.token,
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
    }


def render_exports(environment: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in environment.items())
