"""Environment manifests: ``parameters/<env>.yaml`` validated into a strict ``EnvironmentSpec``.

One manifest per environment says what to deploy (a ``.bicep`` or ARM ``.json`` template and its
parameters), where (subscription, resource group, location), how (mode, rollback, what-if
paths to ignore, retries) and how to tell that it worked (health checks). Secure parameters
are references (an environment variable or a Key Vault secret), never values.

Every problem is a :class:`ManifestError` whose message names the file and the key path, e.g.
``parameters/dev.yaml: deployment.modee: unknown key (did you mean 'mode'?) at line 14``.
YAML syntax errors name line and column (``parameters/dev.yaml:4:11: invalid YAML: ...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .armlocal import ParameterArgumentError, parse_parameter_args
from .armlocal.engine.context import DEFAULT_SUBSCRIPTION
from .check_plugins import RESERVED_KEYS, PluginConfigError, PluginError, load_check
from .manifest_yaml import ManifestError, format_validation_error, read_yaml_manifest
from .models import SecureReference

__all__ = [
    "BrokenManifest",
    "CustomCheckEntry",
    "DeploymentOptions",
    "EnvironmentScan",
    "EnvironmentSpec",
    "HealthChecks",
    "HttpCheck",
    "Identity",
    "ManifestError",
    "RetryOptions",
    "Scope",
    "ScopeKind",
    "SecureParameter",
    "StackDenySettings",
    "StackOptions",
    "StackUnmanage",
    "TcpCheck",
    "Triggers",
    "duration_seconds",
    "job_name",
    "job_suffix",
    "load_environment",
    "load_environments",
    "placeholder_names",
    "read_parameters_file",
    "render_placeholders",
    "scan_environments",
    "split_endpoint",
    "stack_scope_problem",
]

JobKind = Literal["deploy", "plan"]

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_KEY_VAULT_ID = re.compile(
    rf"/subscriptions/{_GUID}/resourceGroups/[-\w._()]+/providers/Microsoft\.KeyVault/vaults/"
    r"[A-Za-z0-9-]{3,24}",
    re.IGNORECASE,
)
# {outputs.NAME}, or {{ / }} for literal braces; anything else in braces is a mistake
_PLACEHOLDER_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ENDPOINT = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d{1,5}))?(?:/[^\s]*)?"
)
_OUTPUT_REF = re.compile(r"outputs\.([A-Za-z_][A-Za-z0-9_]*)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SecureParameter(_Strict):
    """Where one secure parameter's value comes from: ``{env: NAME}`` or a Key Vault secret."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    key_vault: str | None = None
    secret: Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{1,127}$")] | None = None
    version: Annotated[str, Field(pattern=r"^[0-9A-Za-z]+$")] | None = None

    @field_validator("key_vault")
    @classmethod
    def _vault_id(cls, value: str | None) -> str | None:
        if value is not None and not _KEY_VAULT_ID.fullmatch(value):
            raise ValueError(
                "must be a key vault resource id: /subscriptions/{id}/resourceGroups/{group}"
                "/providers/Microsoft.KeyVault/vaults/{name}"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SecureParameter:
        vault = self.key_vault is not None or self.secret is not None
        if self.env is not None and vault:
            raise ValueError("give either env or key_vault + secret, not both")
        if self.env is None and not vault:
            raise ValueError("give env: VARIABLE, or key_vault: VAULT_ID with secret: NAME")
        if vault and (self.key_vault is None or self.secret is None):
            raise ValueError("a Key Vault reference needs both key_vault and secret")
        if self.version is not None and self.env is not None:
            raise ValueError("version applies to Key Vault secrets only")
        return self

    def to_reference(self) -> SecureReference:
        """The shared model the pipeline passes around (a reference, never the value)."""
        return SecureReference(
            env=self.env,
            key_vault_id=self.key_vault,
            secret_name=self.secret,
            secret_version=self.version,
        )


ScopeKind = Literal["resourceGroup", "subscription", "managementGroup", "tenant"]
# Azure's rule for a management group's name (its id): letters, digits, '-', '_', '(', ')'
# and '.', at most 90 characters, not ending in '.'
_MANAGEMENT_GROUP = r"^[-\w()._]{0,89}[-\w()_]$"


class Scope(_Strict):
    """Where the environment is deployed, one of four ARM scopes (``kind``):

    - resource group: ``resource_group`` + ``location`` (+ ``subscription_id``); the group is
      created if missing;
    - subscription: ``subscription_id`` + ``location`` (the deployment's metadata location);
    - management group: ``management_group_id`` + ``location``;
    - tenant: ``tenant: true`` + ``location``.
    """

    subscription_id: Annotated[str, Field(pattern=rf"^{_GUID}$")] | None = None
    resource_group: Annotated[str, Field(pattern=r"^[-\w._()]{0,89}[-\w_()]$")] | None = None
    management_group_id: Annotated[str, Field(pattern=_MANAGEMENT_GROUP)] | None = None
    tenant: bool = False
    location: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ]*$")]

    @model_validator(mode="after")
    def _one_scope(self) -> Scope:
        if "tenant" in self.model_fields_set and not self.tenant:
            raise ValueError(
                "tenant: false names no scope; remove it (tenant: true deploys at tenant scope)"
            )
        given = [
            key
            for key in ("resource_group", "subscription_id", "management_group_id", "tenant")
            if key in self.model_fields_set
        ]
        if self.tenant and len(given) > 1:
            others = ", ".join(k for k in given if k != "tenant")
            raise ValueError(
                f"tenant: true deploys at tenant scope, which takes only location: remove {others}"
            )
        if self.management_group_id is not None and len(given) > 1:
            others = ", ".join(k for k in given if k != "management_group_id")
            raise ValueError(
                "management_group_id deploys at management group scope, which takes only "
                f"location: remove {others} (a template reaches subscriptions and resource "
                "groups below it with nested deployments)"
            )
        if not given:
            raise ValueError(
                "names no scope: give resource_group (a resource group), subscription_id (a "
                "subscription), management_group_id (a management group) or tenant: true"
            )
        return self

    @property
    def kind(self) -> ScopeKind:
        """``resourceGroup``, ``subscription``, ``managementGroup`` or ``tenant``."""
        if self.tenant:
            return "tenant"
        if self.management_group_id is not None:
            return "managementGroup"
        if self.resource_group is not None:
            return "resourceGroup"
        return "subscription"

    @property
    def subscription(self) -> str:
        """The subscription (the local ARM's when the manifest names none; above
        subscriptions: only where the SDK clients need one)."""
        return self.subscription_id or DEFAULT_SUBSCRIPTION

    @property
    def group(self) -> str:
        """The resource group of a resource-group scope (``ValueError`` at other scopes)."""
        if self.resource_group is None:
            raise ValueError(f"a {self.kind} scope has no resource group")
        return self.resource_group

    def describe(self) -> str:
        """The scope as a person reads it: ``resource group rg-x (westeurope)``."""
        where = {
            "resourceGroup": f"resource group {self.resource_group}",
            "subscription": f"subscription {self.subscription}",
            "managementGroup": f"management group {self.management_group_id}",
            "tenant": "tenant",
        }[self.kind]
        return f"{where} ({self.location})"

    @property
    def scope_id(self) -> str:
        """The ARM id of the scope (``/subscriptions/…/resourceGroups/…``,
        ``/providers/Microsoft.Management/managementGroups/…``, ``/`` for the tenant)."""
        if self.kind == "tenant":
            return "/"
        if self.kind == "managementGroup":
            return f"/providers/Microsoft.Management/managementGroups/{self.management_group_id}"
        base = f"/subscriptions/{self.subscription}"
        return f"{base}/resourceGroups/{self.resource_group}" if self.resource_group else base


IdentityKind = Literal["default", "workload_identity", "managed_identity"]
_SECRET_KEYS = ("client_secret", "secret", "password", "certificate", "client_certificate")


class Identity(_Strict):
    """Who the environment deploys as (never a secret: a manifest is committed):

    - ``default``: azure-identity's default chain (environment, workload identity, managed
      identity, Azure CLI…); ``client_id``/``tenant_id`` pick the managed or workload identity
      the chain uses;
    - ``workload_identity``: workload identity federation (GitHub Actions, Kubernetes) for the
      app registration ``client_id`` in ``tenant_id``; the federated token file comes from
      ``AZURE_FEDERATED_TOKEN_FILE``;
    - ``managed_identity``: the runner's managed identity, user-assigned when ``client_id``
      is given.

    On the local ARM, ``client_id`` gets a token for its own principal from the local ARM's
    managed-identity endpoint, so each client id deploys as a distinct principal.
    """

    kind: IdentityKind = "default"
    tenant_id: Annotated[str, Field(pattern=rf"^{_GUID}$")] | None = None
    client_id: Annotated[str, Field(pattern=rf"^{_GUID}$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if str(key).lower() in _SECRET_KEYS:
                    raise ValueError(
                        f"{key}: a manifest never holds a secret (it is committed to git); use "
                        "kind: workload_identity (federated credentials) or kind: "
                        "managed_identity, or kind: default with the secret in the "
                        "AZURE_CLIENT_SECRET environment variable of the runner"
                    )
        return data

    @model_validator(mode="after")
    def _complete(self) -> Identity:
        if self.kind == "workload_identity" and (self.tenant_id is None or self.client_id is None):
            raise ValueError("kind: workload_identity needs tenant_id and client_id")
        if self.kind == "managed_identity" and self.tenant_id is not None:
            raise ValueError(
                "tenant_id does not apply to kind: managed_identity (a managed identity "
                "belongs to the tenant of the resource it is assigned to); remove it"
            )
        return self


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_UNITS = (86400, 3600, 60, 1)


def duration_seconds(text: str) -> int | None:
    """``"24h"``, ``"90m"``, ``"1d12h"``, ``"45s"`` in seconds (``None``: not a duration)."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        return None
    return sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n)


_UnmanageMode = Literal["detach", "delete"]


class StackUnmanage(_Strict):
    """``deployment.stack.action_on_unmanage``: what becomes of a resource, resource group or
    management group the stack no longer manages (dropped from the template, or the stack
    deleted): ARM's ``actionOnUnmanage``."""

    resources: _UnmanageMode = "detach"
    resource_groups: _UnmanageMode | None = None
    management_groups: _UnmanageMode | None = None
    resources_without_delete_support: Literal["detach", "fail"] | None = None


class StackDenySettings(_Strict):
    """``deployment.stack.deny_settings``: ARM's ``denySettings``, a deny assignment on every
    managed resource (up to 5 excluded principals, 200 excluded actions)."""

    mode: Literal["none", "denyDelete", "denyWriteAndDelete"] = "none"
    excluded_principals: Annotated[
        list[Annotated[str, Field(pattern=rf"^{_GUID}$")]], Field(max_length=5)
    ] = Field(default_factory=list)
    excluded_actions: Annotated[
        list[Annotated[str, Field(pattern=r"^\S+$")]], Field(max_length=200)
    ] = Field(default_factory=list)
    apply_to_child_scopes: bool = False

    @model_validator(mode="after")
    def _not_without_a_mode(self) -> StackDenySettings:
        if self.mode == "none":
            given = [
                key
                for key, value in (
                    ("excluded_principals", self.excluded_principals),
                    ("excluded_actions", self.excluded_actions),
                    ("apply_to_child_scopes", self.apply_to_child_scopes),
                )
                if value
            ]
            if given:
                raise ValueError(
                    f"{', '.join(given)} apply to a deny assignment: set mode to denyDelete or "
                    "denyWriteAndDelete, or remove them"
                )
        return self


class StackOptions(_Strict):
    """``deployment.stack``: deploy the environment as an Azure deployment stack named after
    it (see pipeline/stacks.py)."""

    action_on_unmanage: StackUnmanage = Field(default_factory=StackUnmanage)
    deny_settings: StackDenySettings = Field(default_factory=StackDenySettings)
    description: Annotated[str, Field(max_length=4096)] | None = None
    bypass_stack_out_of_sync_error: bool = False


class DeploymentOptions(_Strict):
    """How ARM deploys: mode, rollback to the last successful deployment, what-if noise,
    whether a deployment must apply a reviewed plan (and how old that plan may be), and
    whether the environment is a deployment stack."""

    mode: Literal["Incremental", "Complete"] = "Incremental"
    rollback_on_error: bool = False
    # verify failed after a successful deployment: redeploy the last verified one (rollback.py)
    rollback_on_verify_failure: bool = False
    what_if_ignore: list[Annotated[str, Field(pattern=r"^\S+$")]] = Field(default_factory=list)
    require_approved_plan: bool = False
    max_plan_age: str = "24h"
    stack: StackOptions | None = None

    @model_validator(mode="after")
    def _stack_fits(self) -> DeploymentOptions:
        if self.stack is not None and self.mode == "Complete":
            raise ValueError(
                "stack: a deployment stack deploys incrementally and removes what the template "
                "no longer declares through stack.action_on_unmanage; remove mode: Complete"
            )
        if self.stack is not None and self.rollback_on_error:
            raise ValueError(
                "stack: a deployment stack has no rollback to the last successful deployment "
                "(ARM's onErrorDeployment); remove rollback_on_error"
            )
        if self.stack is not None and self.rollback_on_verify_failure:
            raise ValueError(
                "stack: rollback_on_verify_failure redeploys an earlier ARM deployment's "
                "recorded template, and a deployment stack keeps only its current template "
                "(one stack per environment, updated in place); remove "
                "rollback_on_verify_failure, or deploy without a stack"
            )
        return self

    @field_validator("max_plan_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        seconds = duration_seconds(value) if isinstance(value, str) else None
        if not seconds:
            raise ValueError(
                f"{value!r} is not a duration: a positive number of days, hours, minutes and "
                "seconds, largest first, e.g. '24h', '90m', '1d12h', '45s'"
            )
        return value.strip()

    @property
    def max_plan_age_s(self) -> int:
        return duration_seconds(self.max_plan_age) or 0


class RetryOptions(_Strict):
    """Op-level retries of environmental failures: exponential backoff with jitter."""

    max_retries: Annotated[int, Field(ge=0, le=50)] = 5
    base_delay_s: Annotated[float, Field(ge=0, le=3600)] = 5.0


class HttpCheck(_Strict):
    """An HTTP probe: ``url`` (may use ``{outputs.NAME}``) must answer ``expected_status``."""

    url: str
    expected_status: Annotated[int, Field(ge=100, le=599)] = 200
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    retries: Annotated[int, Field(ge=0, le=100)] = 3

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        placeholder_names(value)  # a malformed placeholder is a ValueError
        if not value.startswith("{") and not re.match(r"https?://", value):
            raise ValueError(f"'{value}' must start with http:// or https:// (or a placeholder)")
        return value


class TcpCheck(_Strict):
    """A TCP probe of ``host`` (may use ``{outputs.NAME}``): a name, ``name:port``, or a host
    output with a path after it (ignored); ``port`` applies when the host names none."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    retries: Annotated[int, Field(ge=0, le=100)] = 3

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not placeholder_names(value):
            split_endpoint(value)
        elif "://" in value:
            raise ValueError(f"'{value}' must be a host, not a URL (no scheme)")
        return value

    @model_validator(mode="after")
    def _port_known(self) -> TcpCheck:
        literal = not placeholder_names(self.host)
        if self.port is None and literal and split_endpoint(self.host)[1] is None:
            raise ValueError(f"no port for '{self.host}': add port: N or write host:port")
        return self

    def endpoint(self, outputs: Mapping[str, Any]) -> tuple[str, int]:
        """``(host, port)`` to connect to, placeholders rendered from deployment outputs."""
        rendered = render_placeholders(self.host, outputs)
        try:
            host, port = split_endpoint(rendered)
        except ValueError as exc:
            raise ManifestError(f"tcp check '{self.host}': {exc}") from None
        port = port or self.port
        if port is None:
            raise ManifestError(
                f"tcp check '{self.host}' → '{rendered}' names no port: add port: N to the check"
            )
        return host, port


def split_endpoint(text: str) -> tuple[str, int | None]:
    """``"db.example.net:1433"`` → ``("db.example.net", 1433)``; ``"[::1]:80/x"`` →
    ``("::1", 80)``; a path after the host is ignored. ``ValueError`` when it is no host."""
    match = _ENDPOINT.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"'{text}' must be a host name or address, optionally with :port (no scheme, spaces)"
        )
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} in '{text}' is outside 1-65535")
    return match["host"].strip("[]"), port


class CustomCheckEntry(_Strict):
    """A check plugin (entry point group ``bicep_assets.checks``, see
    :mod:`bicep_assets.check_plugins`): ``check`` names it, ``timeout_s`` and ``retries`` work
    as for HTTP probes, and every other key is the plugin's own (``config``), validated by the
    plugin when the manifest loads. String values may use ``{outputs.NAME}``. A plugin that is
    not installed here is not validated: lint, where the run executes, refuses it."""

    check: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    retries: Annotated[int, Field(ge=0, le=100)] = 3
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_config(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "config" in data:
                raise ValueError("write the check's own keys beside 'check' (config is not a key)")
            own = {k: v for k, v in data.items() if k not in RESERVED_KEYS}
            data = {**{k: v for k, v in data.items() if k in RESERVED_KEYS}, "config": own}
        return data

    @model_validator(mode="after")
    def _plugin_accepts_config(self) -> CustomCheckEntry:
        for text in _strings(self.config):
            placeholder_names(text)  # a malformed placeholder is a ValueError
        try:
            plugin = load_check(self.check)
        except PluginError:
            return self  # not installed or not loadable here: lint refuses it where runs execute
        try:
            plugin.validate(self.config)
        except PluginConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


def _strings(value: Any) -> list[str]:
    """Every string inside ``value`` (a plugin's config: dicts, lists, scalars)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class HealthChecks(_Strict):
    """What verify checks after a deployment."""

    provisioning_state: bool = True
    resource_health: bool = False
    http: list[HttpCheck] = Field(default_factory=list)
    tcp: list[TcpCheck] = Field(default_factory=list)
    custom: list[CustomCheckEntry] = Field(default_factory=list)


# what `git check-ref-format --branch` refuses, as a regex over the whole name
_BAD_BRANCH = re.compile(r"^[/.-]|/\.|[/.]$|\.\.|//|@\{|\.lock(/|$)|[\x00-\x20\x7f~^:?*\[\\]")


class Triggers(_Strict):
    """When the environment runs by itself: a deployment on every git push to ``branch`` that
    changes it, and a drift check (``plan_<env>``) on a cron schedule."""

    deploy_on_push: bool = False
    branch: str = "main"
    drift_schedule: str | None = None
    drift_timezone: str = "UTC"

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value or value == "@" or _BAD_BRANCH.search(value):
            raise ValueError(
                f"{value!r} is not a git branch name (no spaces, '..', '~', '^', ':', '?', '*', "
                "'[', '\\', '@{', no leading '-' or '.', no trailing '/', '.' or '.lock')"
            )
        return value

    @field_validator("drift_schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        # Dagster's own check, so that a manifest that loads is a schedule that loads
        from dagster._utils.schedules import is_valid_cron_string

        if value is not None and not is_valid_cron_string(value):
            raise ValueError(
                f"{value!r} is not a cron schedule: five fields, minute hour day-of-month month "
                "day-of-week, e.g. '0 6 * * 1-5' (06:00 on weekdays), or @daily/@hourly"
            )
        return value

    @field_validator("drift_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone; use a name such as UTC or Europe/Amsterdam"
            ) from None
        return value

    @model_validator(mode="after")
    def _timezone_needs_schedule(self) -> Triggers:
        if "drift_timezone" in self.model_fields_set and self.drift_schedule is None:
            raise ValueError("drift_timezone applies to drift_schedule only: add drift_schedule")
        return self


_TagName = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^<>%&\\?/]+$")]
_TagValue = Annotated[str, Field(max_length=256)]


class EnvironmentSpec(_Strict):
    """One environment: what to deploy, where, how, and how to tell that it worked."""

    name: str  # the manifest's file stem
    manifest_path: Path
    template: Annotated[str, Field(min_length=1)]  # as written, relative to the manifest
    # relative to the manifest as written; resolved (absolute) once loaded
    parameters_file: Path | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    secure_parameters: dict[str, SecureParameter] = Field(default_factory=dict)
    scope: Scope
    identity: Identity = Field(default_factory=Identity)
    deployment: DeploymentOptions = Field(default_factory=DeploymentOptions)
    retry: RetryOptions = Field(default_factory=RetryOptions)
    health_checks: HealthChecks = Field(default_factory=HealthChecks)
    tags: Annotated[dict[_TagName, _TagValue], Field(max_length=50)] = Field(default_factory=dict)
    triggers: Triggers = Field(default_factory=Triggers)

    @model_validator(mode="before")
    @classmethod
    def _resolve_parameters_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("parameters_file"), str):
            base = Path(data.get("manifest_path") or ".").parent
            data = {**data, "parameters_file": (base / data["parameters_file"]).resolve()}
        return data

    @field_validator("template")
    @classmethod
    def _template_exists(cls, value: str, info: ValidationInfo) -> str:
        manifest = info.data.get("manifest_path")
        path = (manifest.parent if manifest else Path()) / value
        if path.suffix.lower() not in (".bicep", ".json"):
            raise ValueError(f"'{value}' must be a .bicep or an ARM .json file")
        if manifest is not None:
            _check_inside_project(value, path, manifest)
        if not path.is_file():
            raise ValueError(
                f"'{value}' does not exist (looked for {path.resolve()}); the path is relative "
                "to the manifest"
            )
        return value

    @field_validator("parameters_file")
    @classmethod
    def _parameters_file_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not value.name.lower().endswith((".bicepparam", ".json")):
            raise ValueError(f"'{value.name}' must be a .bicepparam or an ARM .parameters.json")
        manifest = info.data.get("manifest_path")
        if manifest is not None:
            _check_inside_project(str(value), value, manifest)
        if not value.is_file():
            raise ValueError(f"'{value}' does not exist; the path is relative to the manifest")
        return value

    @field_validator("secure_parameters")
    @classmethod
    def _not_also_inline(
        cls, value: dict[str, SecureParameter], info: ValidationInfo
    ) -> dict[str, SecureParameter]:
        both = sorted(set(info.data.get("parameters") or {}) & set(value))
        if both:
            raise ValueError(
                f"{', '.join(both)} also in parameters; a secure parameter is given only by "
                "reference: remove it from parameters"
            )
        return value

    @model_validator(mode="after")
    def _rollback_at_resource_group(self) -> EnvironmentSpec:
        if self.deployment.rollback_on_error and self.scope.kind != "resourceGroup":
            raise ValueError(
                f"deployment.rollback_on_error: ARM rolls back to the last successful "
                f"deployment at resource group scope only, and this scope is a "
                f"{self.scope.describe()}: remove rollback_on_error"
            )
        return self

    @property
    def template_file(self) -> Path:
        """The template, resolved against the manifest's folder."""
        return (self.manifest_path.parent / self.template).resolve()

    @property
    def is_bicep(self) -> bool:
        """Whether the template needs the Bicep compiler."""
        return self.template_file.suffix.lower() == ".bicep"

    def secure_references(self) -> dict[str, SecureReference]:
        """Secure parameters as the shared reference model, by parameter name."""
        return {name: ref.to_reference() for name, ref in self.secure_parameters.items()}

    def referenced_outputs(self) -> set[str]:
        """Names of the deployment outputs the health checks use (``{outputs.NAME}``)."""
        texts = [c.url for c in self.health_checks.http] + [c.host for c in self.health_checks.tcp]
        texts += [s for c in self.health_checks.custom for s in _strings(c.config)]
        return {name for text in texts for name in placeholder_names(text)}


def project_of(manifest_path: Path) -> Path:
    """The project folder of a manifest: the folder holding its ``parameters/`` folder (or
    the manifest's own folder when it does not live in one called ``parameters``)."""
    folder = manifest_path.resolve().parent
    return folder.parent if folder.name == "parameters" else folder


def _check_inside_project(written: str, path: Path, manifest: Path) -> None:
    """A file a manifest names must lie inside the project (symbolic links followed): a
    deployment reads and ships only files the project's repository holds."""
    project = project_of(manifest)
    if not path.resolve().is_relative_to(project):
        raise ValueError(
            f"'{written}' is outside the project folder {project}: keep the files a "
            "manifest names inside the project"
        )


def job_name(kind: JobKind, env: str) -> str:
    """The Dagster job of an environment: ``deploy_<env>`` or ``plan_<env>`` (``-`` → ``_``)."""
    if kind not in ("deploy", "plan"):
        raise ValueError(f"job kind must be 'deploy' or 'plan', not {kind!r}")
    if not _ENV_NAME.fullmatch(env):
        raise ValueError(
            f"environment name {env!r} cannot name a Dagster job: use letters, digits, '_' "
            "and '-', starting with a letter or digit"
        )
    return f"{kind}_{job_suffix(env)}"


def job_suffix(stem: str) -> str:
    """What follows ``deploy_``/``plan_`` in the jobs of the manifest file ``<stem>.yaml``: the
    stem with ``-`` (and, for a file whose name cannot name an environment, every other
    character Dagster refuses in a job name) as ``_``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", stem)


def placeholder_names(text: str) -> list[str]:
    """The output names ``text`` uses as ``{outputs.NAME}``, in order; ``ValueError`` on a
    malformed placeholder (``{{``/``}}`` are literal braces)."""
    names: list[str] = []
    for match in _PLACEHOLDER_TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        inner = match.group(1)
        if inner is None:
            raise ValueError(f"unbalanced '{token}' in '{text}' (write {token * 2} for a brace)")
        ref = _OUTPUT_REF.fullmatch(inner.strip())
        if ref is None:
            raise ValueError(
                f"unknown placeholder '{token}' in '{text}': use {{outputs.NAME}} with the name "
                "of a deployment output"
            )
        names.append(ref.group(1))
    return names


def render_placeholders(text: str, outputs: Mapping[str, Any]) -> str:
    """``text`` with every ``{outputs.NAME}`` replaced by that deployment output's value.

    Output names match as ARM matches them (ignoring case); a missing one is a
    :class:`ManifestError` naming it and the outputs there are.
    """
    by_lower = {name.lower(): name for name in outputs}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        ref = _OUTPUT_REF.fullmatch((match.group(1) or "").strip())
        if ref is None:
            raise ManifestError(f"'{text}': malformed placeholder '{token}'; use {{outputs.NAME}}")
        key = ref.group(1) if ref.group(1) in outputs else by_lower.get(ref.group(1).lower())
        if key is None:
            known = ", ".join(sorted(outputs)) or "none"
            raise ManifestError(
                f"'{text}': the deployment has no output '{ref.group(1)}' (its outputs: {known})"
            )
        value = outputs[key]
        if isinstance(value, Mapping) and "value" in value and set(value) <= {"type", "value"}:
            value = value["value"]  # the SDK's {"type": ..., "value": ...} shape
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return _PLACEHOLDER_TOKEN.sub(replace, text)


def read_parameters_file(path: Path) -> dict[str, dict[str, Any]]:
    """An ARM parameters file as ``{name: {"value": ...}}`` (Key Vault references kept as
    ``{"reference": {...}}``); the full file with ``$schema`` or a bare object."""
    if path.name.lower().endswith(".bicepparam"):
        raise ManifestError(
            f"{path}: a .bicepparam file is compiled by the Bicep CLI (bicep build-params), "
            "not read as JSON"
        )
    try:
        entries = parse_parameter_args([f"@{path}"])
    except ParameterArgumentError as exc:
        raise ManifestError(str(exc)) from None
    for name, entry in entries.items():
        if "value" in entry and "reference" in entry:
            raise ManifestError(
                f"{path}: parameter '{name}' has both 'value' and 'reference'; keep one"
            )
        reference = entry.get("reference")
        if "reference" in entry and not (
            isinstance(reference, dict)
            and isinstance(reference.get("keyVault"), dict)
            and isinstance(reference["keyVault"].get("id"), str)
            and isinstance(reference.get("secretName"), str)
        ):
            raise ManifestError(
                f"{path}: parameter '{name}': a Key Vault reference needs "
                '{"keyVault": {"id": VAULT_ID}, "secretName": NAME} (optional "secretVersion")'
            )
    return entries


def load_environment(path: Path, *, display_name: str | None = None) -> EnvironmentSpec:
    """The manifest at ``path`` as an :class:`EnvironmentSpec` (``ManifestError`` otherwise).

    ``display_name`` is how errors name the file (default: ``path`` as given).
    """
    shown = display_name or str(path)
    env = path.stem
    if not _ENV_NAME.fullmatch(env):
        raise ManifestError(
            f"{shown}: environment name '{env}' (the file name) cannot name a Dagster job: "
            "rename the file using letters, digits, '_' and '-'"
        )
    data, positions = read_yaml_manifest(path, shown)
    for reserved in ("name", "manifest_path"):
        if reserved in data:
            raise ManifestError(
                f"{shown}: {reserved}: not a manifest key (an environment is named after its "
                "file); remove it"
            )
    try:
        spec = EnvironmentSpec.model_validate(
            {**data, "name": env, "manifest_path": path.resolve()}
        )
    except ValidationError as exc:
        raise ManifestError(
            format_validation_error(exc, shown, EnvironmentSpec, positions)
        ) from None
    stack_problem = stack_scope_problem(spec)
    if stack_problem is not None:
        key, message = stack_problem
        line = positions.get(key, (0, 0))[0]
        where = f" at line {line}" if line else ""
        raise ManifestError(f"{shown}: {'.'.join(map(str, key))}: {message}{where}")
    if spec.parameters_file is not None and spec.parameters_file.suffix.lower() == ".json":
        try:
            from_file = read_parameters_file(spec.parameters_file)
        except ManifestError as exc:
            raise ManifestError(f"{shown}: parameters_file: {exc}") from None
        clash = sorted(set(from_file) & set(spec.secure_parameters))
        if clash:
            raise ManifestError(
                f"{shown}: secure_parameters: {', '.join(clash)} also given in "
                f"{spec.parameters_file.name}; keep each parameter in one place"
            )
    return spec


def stack_scope_problem(spec: EnvironmentSpec) -> tuple[tuple[str, ...], str] | None:
    """(key path, what is wrong) when ``deployment.stack`` asks what its scope cannot do."""
    stack = spec.deployment.stack
    if stack is None:
        return None
    kind = spec.scope.kind
    if kind == "tenant":
        return (
            ("deployment", "stack"),
            "Azure serves deployment stacks at resource group, subscription and management "
            "group scope, not at tenant scope; remove the stack or deploy at another scope",
        )
    if stack.action_on_unmanage.management_groups is not None and kind != "managementGroup":
        return (
            ("deployment", "stack", "action_on_unmanage", "management_groups"),
            f"only a stack at management group scope manages management groups, and this "
            f"environment deploys at {kind} scope; remove it",
        )
    return None


@dataclass(frozen=True)
class BrokenManifest:
    """A manifest that cannot be used. Its environment still gets its two jobs, so that a
    person sees it in the UI, and they fail at lint with ``error``; the other environments
    are not affected."""

    name: str  # the file's stem: the environment it would be
    manifest_path: Path
    error: str  # every problem, one per line, naming the file, the key and the line

    def job_name(self, kind: JobKind) -> str:
        """``deploy_<stem>`` / ``plan_<stem>``, even when the stem is no valid name."""
        return f"{kind}_{job_suffix(self.name)}"


@dataclass(frozen=True)
class EnvironmentScan:
    """Every manifest of a project: the environments that load and the broken ones."""

    environments: dict[str, EnvironmentSpec]  # by name, sorted
    broken: dict[str, BrokenManifest]  # by file stem, sorted

    @property
    def errors(self) -> list[str]:
        """Every problem of every broken manifest, one per line, in file order."""
        return [line for b in self.broken.values() for line in b.error.splitlines()]


def scan_environments(project_dir: Path) -> EnvironmentScan:
    """Every ``parameters/*.yaml|yml`` of the project (hidden files aside), loaded one by one:
    one broken manifest never hides the others. Two files whose jobs would have the same
    name (``dev.yaml`` and ``dev.yml``, ``eu-west`` and ``eu_west``) are both broken: which one
    deploys must not depend on the order of a folder listing. ``ManifestError`` only when
    there is no ``parameters/`` folder at all."""
    folder = project_dir / "parameters"
    if not folder.is_dir():
        raise ManifestError(
            f"{folder}: no parameters/ folder; add one <env>.yaml manifest per environment"
        )
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith(".")
    )
    by_job: dict[str, list[Path]] = {}
    for path in files:
        by_job.setdefault(job_suffix(path.stem), []).append(path)
    specs: dict[str, EnvironmentSpec] = {}
    broken: dict[str, BrokenManifest] = {}
    for suffix, paths in by_job.items():
        errors: list[str] = []
        spec: EnvironmentSpec | None = None
        first = paths[0].relative_to(project_dir).as_posix()
        for index, path in enumerate(paths):
            shown = path.relative_to(project_dir).as_posix()
            try:
                spec = load_environment(path, display_name=shown)
            except ManifestError as exc:
                errors.append(str(exc))
            if index:
                errors.append(
                    f"{shown}: environment '{path.stem}' maps to the same jobs as {first} "
                    f"(deploy_{suffix}); rename one of them"
                )
        if errors:
            broken[paths[0].stem] = BrokenManifest(paths[0].stem, paths[0], "\n".join(errors))
        elif spec is not None:
            specs[spec.name] = spec
    return EnvironmentScan(dict(sorted(specs.items())), dict(sorted(broken.items())))


def load_environments(project_dir: Path) -> dict[str, EnvironmentSpec]:
    """Every ``parameters/*.yaml|yml`` of the project, by environment name (sorted); a
    ``ManifestError`` reports every broken manifest's errors together."""
    scan = scan_environments(project_dir)
    if scan.broken:
        raise ManifestError("\n".join(scan.errors))
    return scan.environments
