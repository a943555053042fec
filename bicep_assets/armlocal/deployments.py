"""Deployments: accepting a PUT, running it in the background, and what it leaves behind.

``DeploymentRunner.create_or_update`` validates the request synchronously (name rules, a
running deployment of the same name → ``DeploymentActive``, the template expanded by the
engine) and records the deployment as ``Accepted``; a worker thread then deploys the
resources in order — each one re-evaluated against the state its dependencies left, given
the runtime properties a real service adds (``behaviors``), written with its deployment
operation in one transaction — runs nested deployments as deployments of their own, applies
complete mode, evaluates outputs, and finishes ``Succeeded``, ``Failed`` (with ARM's
``DeploymentFailed`` error and the failing operation's error as detail, then
``onErrorDeployment``) or ``Canceled``. Secure parameter values are never stored.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import behaviors
from .engine import DeploymentContext, Expansion, ResourceGroup, TemplateError, expand
from .engine.models import ExpandedResource
from .engine.resource_ids import parse_resource_id
from .rest import ArmHttpError
from .store import ArmStoreError, deployment_active
from .timestamps import iso, iso_duration, utc_now

if TYPE_CHECKING:
    from .service import ArmBackend

NAME_MAX = 64
NAME_PATTERN = re.compile(r"^[-\w\.\(\)]+$")
RUNNING = ("Accepted", "Running")
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"


@dataclass(frozen=True)
class DeploymentScope:
    """Where a deployment lives: a resource group, or a subscription."""

    subscription_id: str
    resource_group: str | None

    @property
    def id(self) -> str:
        base = f"/subscriptions/{self.subscription_id}"
        return f"{base}/resourceGroups/{self.resource_group}" if self.resource_group else base

    def deployment_id(self, name: str) -> str:
        return f"{self.id}/providers/{DEPLOYMENT_TYPE}/{name}"


class DeploymentFailure(Exception):
    """A resource of the deployment failed; carries the ARM error of that operation."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


class DeploymentCanceled(Exception):
    """The deployment was canceled between two resources."""


class StoreState:
    """The engine's view of current resources (``ResourceState``) over the store."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend

    def get_resource(self, resource_id: str) -> dict[str, Any] | None:
        # the store also answers resource group and deployment ids (for reference())
        return self.backend.store.get_resource(resource_id)

    def invoke_action(
        self, resource_id: str, action: str, api_version: str | None, body: Any
    ) -> Any:
        resource = self.backend.store.get_resource(resource_id)
        if resource is None:
            return None
        return behaviors.invoke_action(resource, action, body, self.backend.service_context())


def local_secret_values(parameters: dict[str, Any]) -> dict[str, Any]:
    """Key Vault references resolved the local ARM's way: it holds no secret values, so a
    reference becomes a placeholder naming the vault and secret (never a real secret)."""
    resolved: dict[str, Any] = {}
    for name, entry in parameters.items():
        reference = entry.get("reference") if isinstance(entry, dict) else None
        if isinstance(reference, dict):
            vault = str((reference.get("keyVault") or {}).get("id", "")).rsplit("/", 1)[-1]
            secret = reference.get("secretName")
            resolved[name] = {"value": f"local-arm-keyvault:{vault}/{secret}"}
        else:
            resolved[name] = entry
    return resolved


def check_deployment_name(name: str) -> None:
    if len(name) > NAME_MAX:
        raise ArmHttpError(
            400,
            "DeploymentNameLengthLimitExceeded",
            f"The provided deployment name '{name}' has a length of '{len(name)}' which exceeds "
            f"the maximum length of '{NAME_MAX}'. Please see https://aka.ms/arm-deploy for "
            "usage details.",
        )
    if not NAME_PATTERN.match(name):
        raise ArmHttpError(
            400,
            "InvalidDeploymentName",
            f"The deployment name '{name}' is invalid: it may contain only letters, digits, "
            "'-', '.', '_', '(' and ')'.",
        )


class DeploymentRunner:
    """Runs deployments on worker threads; see the module docstring."""

    def __init__(self, backend: ArmBackend) -> None:
        self.backend = backend
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="localarm-deploy")
        self.cancel_requests: set[str] = set()
        self.lock = threading.RLock()

    # -- requests -------------------------------------------------------------------------
    def parse_request(self, scope: DeploymentScope, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: a deployment needs a 'properties' object.",
            )
        properties = body["properties"]
        if "templateLink" in properties and "template" not in properties:
            link = properties["templateLink"]
            uri = link.get("uri") if isinstance(link, dict) else link
            raise ArmHttpError(
                400,
                "InvalidContentLink",
                f"Unable to download deployment content from '{uri}': the local ARM does not "
                "fetch linked templates; send the template inline.",
            )
        if not isinstance(properties.get("template"), dict):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: 'properties.template' must be a JSON object.",
            )
        if "parametersLink" in properties:
            raise ArmHttpError(
                400,
                "InvalidContentLink",
                "The local ARM does not fetch parameter links; send 'parameters' inline.",
            )
        mode = properties.get("mode", "Incremental")
        if mode not in ("Incremental", "Complete"):
            raise ArmHttpError(
                400,
                "InvalidDeploymentMode",
                f"The deployment mode '{mode}' is not valid; use 'Incremental' or 'Complete'.",
            )
        if scope.resource_group is None and not body.get("location"):
            raise ArmHttpError(
                400,
                "LocationRequired",
                "The location property is required for a deployment at subscription scope.",
            )
        parameters = properties.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ArmHttpError(
                400, "InvalidRequestContent", "'properties.parameters' must be a JSON object."
            )
        return properties

    def context_for(
        self, scope: DeploymentScope, name: str, mode: str, location: str | None
    ) -> DeploymentContext:
        group = None
        if scope.resource_group is not None:
            record = self.backend.store.get_resource_group(
                scope.subscription_id, scope.resource_group
            )
            if record is None:
                from .service import group_not_found

                raise group_not_found(scope.resource_group)
            group = ResourceGroup(
                record["name"],
                record["location"],
                dict(record.get("tags") or {}),
                record.get("managedBy"),
            )
        return DeploymentContext(
            subscription_id=scope.subscription_id,
            tenant_id=self.backend.config.tenant_id,
            resource_group=group,
            deployment_name=name,
            mode=mode,  # type: ignore[arg-type]
            location=location,
            state=StoreState(self.backend),
        )

    def expand(
        self, scope: DeploymentScope, name: str, body: dict[str, Any]
    ) -> tuple[Expansion, dict[str, Any]]:
        """Validate a deployment request: the expanded template, or an ARM error (400)."""
        properties = self.parse_request(scope, body)
        context = self.context_for(
            scope, name, properties.get("mode", "Incremental"), body.get("location")
        )
        try:
            parameters = local_secret_values(properties.get("parameters") or {})
            expansion = expand(properties["template"], parameters, context)
        except TemplateError as exc:
            raise ArmHttpError(
                400,
                exc.code,
                exc.message,
                target=exc.target,
                details=[d.to_arm() for d in exc.details],
            ) from None
        return expansion, properties

    def create_or_update(
        self, scope: DeploymentScope, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        check_deployment_name(name)
        store = self.backend.store
        with self.lock:
            try:
                # a run of this name in any process sharing the state file (a run whose
                # process is gone is marked interrupted here, and the name is free)
                active = store.active_deployment(scope.id, name)
                if active is not None:
                    raise deployment_active(name, active)
                expansion, properties = self.expand(scope, name, body)
                record = self._new_record(scope, name, body, properties, expansion)
                # check-and-insert again, atomically across processes
                created = store.start_deployment(scope.id, name, record, properties["template"])
            except ArmStoreError as exc:
                raise ArmHttpError(exc.status, exc.code, exc.message) from None
            store.prune_deployments(scope.id)
        self.pool.submit(self._run, scope, name, expansion, properties)
        return record, created

    def _new_record(
        self,
        scope: DeploymentScope,
        name: str,
        body: dict[str, Any],
        properties: dict[str, Any],
        expansion: Expansion,
        *,
        state: str = "Accepted",
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": scope.deployment_id(name),
            "name": name,
            "type": DEPLOYMENT_TYPE,
            "tags": body.get("tags") or {},
            "properties": {
                "templateHash": expansion.template_hash,
                "parameters": redacted_parameters(expansion),
                "mode": properties.get("mode", "Incremental"),
                "provisioningState": state,
                "timestamp": iso(utc_now()),
                "duration": "PT0S",
                "correlationId": correlation_id or str(uuid.uuid4()),
                "providers": providers_of(expansion),
                "dependencies": dependencies_of(expansion),
                "outputResources": [],
            },
        }
        if body.get("location"):
            record["location"] = body["location"]
        on_error = properties.get("onErrorDeployment")
        if isinstance(on_error, dict):
            record["properties"]["onErrorDeployment"] = dict(on_error)
        return record

    # -- running --------------------------------------------------------------------------
    def _run(
        self, scope: DeploymentScope, name: str, expansion: Expansion, properties: dict[str, Any]
    ) -> None:
        store = self.backend.store
        started = time.monotonic()
        record = store.get_deployment(scope.id, name)
        assert record is not None
        record["properties"]["provisioningState"] = "Running"
        store.put_deployment(scope.id, name, record, properties["template"])
        deployed: list[str] = []
        try:
            outputs = self._execute(scope, name, record, expansion, deployed)
        except DeploymentCanceled:
            self._finish(scope, name, properties, started, deployed, state="Canceled")
        except DeploymentFailure as failure:
            self._finish(
                scope,
                name,
                properties,
                started,
                deployed,
                state="Failed",
                error=deployment_failed(record["id"], failure.error),
            )
            self._on_error(scope, name, properties)
        except Exception as exc:
            error = {"code": "InternalServerError", "message": f"The local ARM failed: {exc!r}"}
            self._finish(
                scope,
                name,
                properties,
                started,
                deployed,
                state="Failed",
                error=deployment_failed(record["id"], error),
            )
        else:
            self._finish(
                scope, name, properties, started, deployed, state="Succeeded", outputs=outputs
            )
        finally:
            self.cancel_requests.discard(record["id"].lower())

    def _finish(
        self,
        scope: DeploymentScope,
        name: str,
        properties: dict[str, Any],
        started: float,
        deployed: list[str],
        *,
        state: str,
        outputs: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        store = self.backend.store
        record = store.get_deployment(scope.id, name)
        assert record is not None
        props = record["properties"]
        props["provisioningState"] = state
        props["duration"] = iso_duration(time.monotonic() - started)
        props["timestamp"] = iso(utc_now())
        props["outputResources"] = [{"id": i} for i in dict.fromkeys(deployed)]
        if outputs is not None:
            props["outputs"] = outputs
        if error is not None:
            props["error"] = error
        store.put_deployment(scope.id, name, record, properties["template"])

    def _execute(
        self,
        scope: DeploymentScope,
        name: str,
        record: dict[str, Any],
        expansion: Expansion,
        deployed: list[str],
    ) -> dict[str, Any]:
        """Deploy every resource of ``expansion`` in order; return the outputs."""
        state = StoreState(self.backend)
        deployment_id = record["id"]
        in_template: set[str] = set()
        for resource in expansion.resources:
            if deployment_id.lower() in self.cancel_requests:
                raise DeploymentCanceled()
            in_template.add(resource.id.lower())
            if resource.is_deployment:
                self._deploy_nested(deployment_id, record, expansion, resource, state, deployed)
            else:
                self._deploy_resource(deployment_id, expansion, resource, state)
                deployed.append(resource.id)
        if expansion.context.mode == "Complete" and scope.resource_group is not None:
            self._delete_undeclared(deployment_id, scope, in_template)
        try:
            outputs = expansion.evaluate_outputs(state)
        except TemplateError as exc:
            raise DeploymentFailure(exc.to_arm()) from None
        return redacted_outputs(outputs)

    def _operation(
        self,
        deployment_id: str,
        resource: ExpandedResource | dict[str, Any],
        provisioning_operation: str = "Create",
    ) -> dict[str, Any]:
        rid = resource.id if isinstance(resource, ExpandedResource) else resource["id"]
        rtype = resource.type if isinstance(resource, ExpandedResource) else resource["type"]
        rname = resource.name if isinstance(resource, ExpandedResource) else resource["name"]
        operation_id = uuid.uuid4().hex[:16].upper()
        return {
            "id": f"{deployment_id}/operations/{operation_id}",
            "operationId": operation_id,
            "properties": {
                "provisioningOperation": provisioning_operation,
                "provisioningState": "Running",
                "timestamp": iso(utc_now()),
                "duration": "PT0S",
                "trackingId": str(uuid.uuid4()),
                "serviceRequestId": str(uuid.uuid4()),
                "statusCode": "Accepted",
                "targetResource": {"id": rid, "resourceType": rtype, "resourceName": rname},
            },
        }

    def _deploy_resource(
        self,
        deployment_id: str,
        expansion: Expansion,
        resource: ExpandedResource,
        state: StoreState,
    ) -> None:
        store = self.backend.store
        operation = self._operation(deployment_id, resource)
        started = time.monotonic()
        store.put_operation(deployment_id, operation)
        try:
            evaluated = expansion.evaluate_resource(resource, state)
            if self.backend.config.resource_delay_s:
                time.sleep(self.backend.config.resource_delay_s)
            is_group = evaluated.type.lower() == "microsoft.resources/resourcegroups"
            if not is_group:
                self._check_target(evaluated)
            rule = self.backend.faults.resource_rule(
                "deployment_error", evaluated.type, evaluated.name
            )
            if rule is not None:
                raise DeploymentFailure(
                    {
                        "code": rule.arm_code,
                        "message": rule.arm_message or f"Injected {rule.arm_code}",
                        "target": evaluated.id,
                    }
                )
            if is_group:
                self._deploy_group(deployment_id, evaluated, operation, started)
                return
            previous = store.get_resource(evaluated.id)
            body = behaviors.apply_runtime_properties(
                evaluated.to_arm(), previous, self.backend.service_context()
            )
        except TemplateError as exc:
            self._fail_operation(deployment_id, operation, started, exc.to_arm(), 400)
            raise DeploymentFailure(exc.to_arm()) from None
        except DeploymentFailure as failure:
            self._fail_operation(deployment_id, operation, started, failure.error, 409)
            raise
        props = operation["properties"]
        props.update(
            provisioningState="Succeeded",
            statusCode="Created" if previous is None else "OK",
            duration=iso_duration(time.monotonic() - started),
            timestamp=iso(utc_now()),
        )
        children = behaviors.implicit_children(body, self.backend.service_context())
        with store.transaction():
            store.put_resource(body)
            for child in children:  # e.g. a namespace's RootManageSharedAccessKey rule
                if store.get_resource(child["id"]) is None:
                    store.put_resource(child)
            store.put_operation(deployment_id, operation)

    def _deploy_group(
        self,
        deployment_id: str,
        resource: ExpandedResource,
        operation: dict[str, Any],
        started: float,
    ) -> None:
        """A subscription-scope template's resource group lives in the groups table."""
        store = self.backend.store
        subscription = resource.id.split("/")[2]  # /subscriptions/{id}/resourceGroups/{name}
        location = resource.location or ""
        existing = store.get_resource_group(subscription, resource.name)
        try:
            store.create_or_update_resource_group(
                subscription,
                resource.name,
                location=location,
                tags=resource.body.get("tags") or {},
                managed_by=resource.body.get("managedBy"),
            )
        except ArmStoreError as exc:
            error = {"code": exc.code, "message": exc.message, "target": resource.id}
            self._fail_operation(deployment_id, operation, started, error, exc.status)
            raise DeploymentFailure(error) from None
        operation["properties"].update(
            provisioningState="Succeeded",
            statusCode="OK" if existing else "Created",
            duration=iso_duration(time.monotonic() - started),
            timestamp=iso(utc_now()),
        )
        store.put_operation(deployment_id, operation)

    def _check_target(self, resource: ExpandedResource) -> None:
        parts = parse_resource_id(resource.id)
        if (
            parts.resource_group
            and parts.resource_type.lower() != "microsoft.resources/resourcegroups"
        ):
            sub = parts.subscription_id or ""
            if self.backend.store.get_resource_group(sub, parts.resource_group) is None:
                raise DeploymentFailure(
                    {
                        "code": "ResourceGroupNotFound",
                        "message": f"Resource group '{parts.resource_group}' could not be found.",
                        "target": resource.id,
                    }
                )

    def _fail_operation(
        self,
        deployment_id: str,
        operation: dict[str, Any],
        started: float,
        error: dict[str, Any],
        status: int,
    ) -> None:
        props = operation["properties"]
        props.update(
            provisioningState="Failed",
            statusCode="Conflict" if status == 409 else "BadRequest",
            statusMessage={"status": "Failed", "error": error},
            duration=iso_duration(time.monotonic() - started),
            timestamp=iso(utc_now()),
        )
        self.backend.store.put_operation(deployment_id, operation)

    def _deploy_nested(
        self,
        parent_id: str,
        parent_record: dict[str, Any],
        expansion: Expansion,
        resource: ExpandedResource,
        state: StoreState,
        deployed: list[str],
    ) -> None:
        store = self.backend.store
        operation = self._operation(parent_id, resource)
        started = time.monotonic()
        store.put_operation(parent_id, operation)
        try:
            evaluated = expansion.evaluate_resource(resource, state)
            if evaluated.nested is None:
                raise DeploymentFailure(
                    {
                        "code": "InvalidTemplate",
                        "message": f"The nested deployment '{resource.name}' cannot be deployed: "
                        f"{evaluated.nested_deferred_reason}.",
                        "target": resource.id,
                    }
                )
        except TemplateError as exc:
            self._fail_operation(parent_id, operation, started, exc.to_arm(), 400)
            raise DeploymentFailure(exc.to_arm()) from None
        except DeploymentFailure as failure:
            self._fail_operation(parent_id, operation, started, failure.error, 400)
            raise
        nested = evaluated.nested
        parts = parse_resource_id(resource.id)
        scope = DeploymentScope(parts.subscription_id or "", parts.resource_group)
        properties = dict(evaluated.properties or {})
        template = properties.get("template") or {}
        record = self._new_record(
            scope,
            resource.name,
            {},
            properties,
            nested,
            state="Running",
            correlation_id=parent_record["properties"]["correlationId"],
        )
        try:
            store.put_deployment(scope.id, resource.name, record, template)
        except ArmStoreError as exc:
            error = {"code": exc.code, "message": exc.message, "target": resource.id}
            self._fail_operation(parent_id, operation, started, error, 404)
            raise DeploymentFailure(error) from None
        nested_deployed: list[str] = []
        try:
            outputs = self._execute(scope, resource.name, record, nested, nested_deployed)
        except DeploymentFailure as failure:
            deployed.extend(nested_deployed)
            error = deployment_failed(record["id"], failure.error)
            self._finish(
                scope,
                resource.name,
                {"template": template},
                started,
                nested_deployed,
                state="Failed",
                error=error,
            )
            self._fail_operation(parent_id, operation, started, error, 409)
            raise DeploymentFailure(error) from None
        deployed.extend(nested_deployed)
        self._finish(
            scope,
            resource.name,
            {"template": template},
            started,
            nested_deployed,
            state="Succeeded",
            outputs=outputs,
        )
        props = operation["properties"]
        props.update(
            provisioningState="Succeeded",
            statusCode="OK",
            duration=iso_duration(time.monotonic() - started),
            timestamp=iso(utc_now()),
        )
        store.put_operation(parent_id, operation)

    def _delete_undeclared(
        self, deployment_id: str, scope: DeploymentScope, declared: set[str]
    ) -> None:
        """Complete mode: delete what the group holds and the template no longer declares."""
        store = self.backend.store
        for resource in store.list_resources(scope.subscription_id, scope.resource_group):
            rid = resource["id"].lower()
            if rid in declared or any(rid.startswith(d + "/") for d in declared):
                continue
            if store.get_resource(resource["id"]) is None:  # gone with a deleted parent
                continue
            operation = self._operation(deployment_id, resource, "Delete")
            props = operation["properties"]
            props.update(provisioningState="Succeeded", statusCode="OK")
            with store.transaction():
                store.delete_resource(resource["id"])
                store.put_operation(deployment_id, operation)

    def _on_error(self, scope: DeploymentScope, name: str, properties: dict[str, Any]) -> None:
        """``onErrorDeployment``: redeploy the last successful (or a named) deployment."""
        on_error = properties.get("onErrorDeployment")
        if not isinstance(on_error, dict):
            return
        store = self.backend.store
        kind = on_error.get("type", "LastSuccessful")
        if kind == "SpecificDeployment":
            target_name = on_error.get("deploymentName")
        else:
            target_name = next(
                (
                    d["name"]
                    for d in store.list_deployments(scope.id)
                    if d["name"].lower() != name.lower()
                    and d["properties"]["provisioningState"] == "Succeeded"
                ),
                None,
            )
        record = store.get_deployment(scope.id, name)
        assert record is not None
        if not target_name:
            record["properties"]["onErrorDeployment"] = {
                "type": kind,
                "provisioningState": "Failed",
                "error": {
                    "code": "NoSuccessfulDeployment",
                    "message": "There is no earlier successful deployment to redeploy.",
                },
            }
            store.put_deployment(scope.id, name, record, properties["template"])
            return
        record["properties"]["onErrorDeployment"] = {"type": kind, "deploymentName": target_name}
        store.put_deployment(scope.id, name, record, properties["template"])
        target = store.get_deployment(scope.id, target_name)
        template = store.get_deployment_template(scope.id, target_name)
        if target is None or template is None:
            return
        parameters = {
            k: {"value": v["value"]}
            for k, v in target["properties"].get("parameters", {}).items()
            if "value" in v
        }
        body = {
            "properties": {"mode": "Incremental", "template": template, "parameters": parameters}
        }
        try:
            self.create_or_update(scope, target_name, body)
        except ArmHttpError as exc:
            record["properties"]["onErrorDeployment"]["error"] = exc.body()["error"]
            store.put_deployment(scope.id, name, record, properties["template"])

    def cancel(self, scope: DeploymentScope, name: str) -> None:
        record = self.backend.store.get_deployment(scope.id, name)
        if record is None:
            raise deployment_not_found(name)
        if record["properties"]["provisioningState"] not in RUNNING:
            raise ArmHttpError(
                409,
                "DeploymentCannotBeCancelled",
                f"The deployment '{name}' cannot be canceled: its provisioning state is "
                f"'{record['properties']['provisioningState']}'; only 'Accepted' or 'Running' "
                "deployments can be canceled.",
            )
        self.cancel_requests.add(record["id"].lower())

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no deployment this local ARM runs is running (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.backend.store.has_running_deployments(owned_here=True):
                return
            time.sleep(0.01)


def deployment_not_found(name: str) -> ArmHttpError:
    return ArmHttpError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")


def deployment_failed(target: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "DeploymentFailed",
        "target": target,
        "message": "At least one resource deployment operation failed. Please list deployment "
        "operations for details. Please see https://aka.ms/arm-deployment-operations for usage "
        "details.",
        "details": [detail],
    }


_TYPE_NAMES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}


def redacted_parameters(expansion: Expansion) -> dict[str, Any]:
    """Parameters as ARM reports them: ``{name: {"type", "value"}}``, secure ones typed only."""
    from .engine.parameters import KeyVaultReference

    result: dict[str, Any] = {}
    for name, value in expansion.parameters.items():
        if name in expansion.secure_parameters:
            result[name] = {"type": "SecureString" if isinstance(value, str) else "SecureObject"}
        elif isinstance(value, KeyVaultReference):
            result[name] = {"type": "SecureString", "reference": value.to_arm()}
        else:
            result[name] = {"type": _json_type(value), "value": value}
    return result


def redacted_outputs(outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, output in outputs.items():
        declared = _TYPE_NAMES.get(str(output.get("type", "")).lower(), "Object")
        if declared.startswith("Secure"):
            result[name] = {"type": declared}
        else:
            result[name] = {"type": declared, "value": output.get("value")}
    return result


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    return "Object"


def providers_of(expansion: Expansion) -> list[dict[str, Any]]:
    seen: dict[str, set[str]] = {}
    for resource in expansion.all_resources():
        namespace, _, rtype = resource.type.partition("/")
        seen.setdefault(namespace, set()).add(rtype)
    return [
        {"namespace": ns, "resourceTypes": [{"resourceType": t} for t in sorted(types)]}
        for ns, types in seen.items()
    ]


def dependencies_of(expansion: Expansion) -> list[dict[str, Any]]:
    by_id = {r.id: r for r in expansion.resources}
    result = []
    for resource in expansion.resources:
        if not resource.depends_on:
            continue
        result.append(
            {
                "id": resource.id,
                "resourceType": resource.type,
                "resourceName": resource.name,
                "dependsOn": [
                    {"id": d, "resourceType": by_id[d].type, "resourceName": by_id[d].name}
                    for d in resource.depends_on
                    if d in by_id
                ],
            }
        )
    return result
