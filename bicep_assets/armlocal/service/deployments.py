"""Deployments: accepting a PUT, running it in the background, and what it leaves behind.

``DeploymentRunner.create_or_update`` validates the request synchronously (name rules, a
running deployment of the same name → ``DeploymentActive``, the template expanded by the
engine) and records the deployment as ``Accepted``; a worker thread then deploys the
resources in order — each one re-evaluated against the state its dependencies left, given
the runtime properties a real service adds (``behaviors``), written with its deployment
operation in one transaction — runs nested deployments as deployments of their own, applies
complete mode, evaluates outputs, and finishes ``Succeeded``, ``Failed`` (with ARM's
``DeploymentFailed`` error and the failing operation's error as detail, then
``onErrorDeployment``) or ``Canceled``. Secure parameter values are never stored: each
running deployment has its mask (``records.deployment_mask``), and its record, outputs,
errors and operations pass it before they are written.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from ..engine import DeploymentContext, Expansion, ResourceGroup, SecretMask, TemplateError, expand
from ..engine.evaluator import EvalContext, TemplateScope, evaluate_expression
from ..engine.scopes import LEVEL_NAMES
from ..engine.secret_taint import secret_taint
from ..state.store import ArmStoreError, deployment_active
from ..state.timestamps import iso, iso_duration, utc_now
from .caller import caller_object_id
from .errors import ArmHttpError, TemplateRejected, group_not_found
from .host import ServiceHost
from .linked_templates import LinkLoader, recorded_link, recorded_parameters_link
from .preflight import as_http_error, check_preflight, deployment_location_error
from .records import (
    DEPLOYMENT_TYPE,
    RUNNING,
    DeploymentCanceled,
    DeploymentFailure,
    DeploymentScope,
    StoreState,
    check_deployment_name,
    dependencies_of,
    deployment_failed,
    deployment_mask,
    deployment_not_found,
    local_secret_values,
    providers_of,
    redacted_outputs,
    redacted_parameters,
    request_mask,
)
from .steps import ResourceSteps

__all__ = ["DEPLOYMENT_TYPE", "DeploymentRunner", "DeploymentScope", "deployment_not_found"]


def expression_parameters(parameters: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """The parameters with those given as an ``expression`` evaluated to a ``value``: ARM
    evaluates them before the deployment, ``externalInputs('name')`` reading the value of
    the request's ``externalInputs`` of that name (the REST specification's
    PutDeploymentWithExternalInputs.json: ``{"expression": "[createObject('foo',
    externalInputs('fooValue'))]"}`` deploys ``{"foo": "baz"}``)."""
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict) or not all(
        isinstance(entry, dict) and "value" in entry for entry in inputs.values()
    ):
        raise ArmHttpError(
            400,
            "InvalidRequestContent",
            "'properties.externalInputs' must map each name to an object with a 'value'.",
        )
    scope = TemplateScope()
    scope.external_inputs = {name: entry["value"] for name, entry in inputs.items()}
    resolved: dict[str, Any] = {}
    for name, entry in parameters.items():
        if not (isinstance(entry, dict) and "expression" in entry):
            resolved[name] = entry
            continue
        text = entry["expression"]
        try:
            if not isinstance(text, str):
                raise TemplateError(f"The expression of parameter '{name}' must be a string.")
            resolved[name] = {"value": evaluate_expression(text, EvalContext(scope))}
        except TemplateError as exc:
            raise ArmHttpError(
                400,
                exc.code,
                f"The expression of parameter '{name}' could not be evaluated: {exc.message}",
            ) from None
    return resolved


class DeploymentRunner(ResourceSteps):
    """Runs deployments on worker threads; see the module docstring."""

    def __init__(self, backend: ServiceHost) -> None:
        self.backend = backend
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="localarm-deploy")
        self.cancel_requests: set[str] = set()
        self.masks: dict[str, SecretMask] = {}  # lowercase deployment id → its mask, while running
        self.futures: dict[str, Future[None]] = {}  # lowercase deployment id → its run
        self.lock = threading.RLock()

    # -- requests -------------------------------------------------------------------------
    def parse_request(self, scope: DeploymentScope, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: a deployment needs a 'properties' object.",
            )
        properties = dict(body["properties"])
        loader = LinkLoader(self.backend.store.get_resource)
        if "templateLink" in properties and "template" not in properties:
            try:
                template, shown = loader(properties["templateLink"], None)
            except TemplateError as exc:
                raise ArmHttpError(400, exc.code, exc.message) from None
            properties["template"], properties["templateLink"] = template, shown
        if not isinstance(properties.get("template"), dict):
            raise ArmHttpError(
                400,
                "InvalidRequestContent",
                "The request content was invalid: 'properties.template' must be a JSON object.",
            )
        if "parametersLink" in properties and "parameters" not in properties:
            try:
                properties["parameters"] = loader.parameters(properties["parametersLink"])
            except TemplateError as exc:
                raise ArmHttpError(400, exc.code, exc.message) from None
        elif "parametersLink" in properties:
            raise ArmHttpError(
                400,
                "InvalidDeploymentParameters",
                "A deployment takes 'parameters' or 'parametersLink', not both.",
            )
        mode = properties.get("mode", "Incremental")
        if mode not in ("Incremental", "Complete"):
            raise ArmHttpError(
                400,
                "InvalidDeploymentMode",
                f"The deployment mode '{mode}' is not valid; use 'Incremental' or 'Complete'.",
            )
        if scope.resource_group is None:
            if not body.get("location"):
                level = LEVEL_NAMES.get(scope.level, scope.level)  # type: ignore[call-overload]
                raise ArmHttpError(
                    400,
                    "LocationRequired",
                    f"The location property is required for a deployment at {level} scope.",
                )
            location_error = deployment_location_error(body["location"])
            if location_error is not None:
                raise as_http_error(location_error)
        parameters = properties.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ArmHttpError(
                400, "InvalidRequestContent", "'properties.parameters' must be a JSON object."
            )
        if any(isinstance(entry, dict) and "expression" in entry for entry in parameters.values()):
            properties["parameters"] = expression_parameters(
                parameters, properties.get("externalInputs")
            )
        return properties

    def context_for(
        self, scope: DeploymentScope, name: str, mode: str, location: str | None
    ) -> DeploymentContext:
        if scope.level in ("managementGroup", "tenant"):
            return self._context_above_subscription(scope, name, mode, location)
        group = None
        if scope.resource_group is not None:
            record = self.backend.store.get_resource_group(
                scope.subscription_id, scope.resource_group
            )
            if record is None:
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
            **_deployer(),
        )

    def _context_above_subscription(
        self, scope: DeploymentScope, name: str, mode: str, location: str | None
    ) -> DeploymentContext:
        """A management group deployment (the group must exist) or a tenant deployment."""
        group = None
        if scope.management_group is not None:
            group = self.backend.management_groups.context_group(scope.management_group)
        return DeploymentContext(
            subscription_id=self.backend.config.subscription_id,
            tenant_id=self.backend.config.tenant_id,
            resource_group=None,
            management_group=group,
            at_tenant=group is None,
            deployment_name=name,
            mode=mode,  # type: ignore[arg-type]
            location=location,
            state=StoreState(self.backend),
            **_deployer(),
        )

    def expand(
        self, scope: DeploymentScope, name: str, body: dict[str, Any]
    ) -> tuple[Expansion, dict[str, Any]]:
        """Validate a deployment request — the template expanded by the engine, then the
        preflight checks of ARM and the resource providers (names, locations): the
        expansion, or an ARM error (400). Validate, what-if and the deployment's PUT all
        come through here, so they refuse the same templates."""
        properties = self.parse_request(scope, body)
        context = replace(
            self.context_for(
                scope, name, properties.get("mode", "Incremental"), body.get("location")
            ),
            template_link=properties.get("templateLink"),
            link_loader=LinkLoader(self.backend.store.get_resource),
        )
        parameters = local_secret_values(properties.get("parameters") or {})
        try:
            expansion = expand(properties["template"], parameters, context)
        except TemplateError as exc:
            # the engine's messages may quote a value: never a secure one
            mask = request_mask(properties["template"], parameters)
            raise TemplateRejected(
                400,
                exc.code,
                mask.text(exc.message),
                target=exc.target,
                details=mask.value([d.to_arm() for d in exc.details]),
            ) from None
        try:
            check_preflight(expansion, name, self.backend.management_groups.get_resource)
        except ArmHttpError as exc:
            raise TemplateRejected.from_error(exc) from None
        # what of it is computed from secure values: masked in every answer and record
        expansion.secret_taint = secret_taint(
            properties["template"], parameters, context, expansion
        )
        return expansion, properties

    def create_or_update(
        self,
        scope: DeploymentScope,
        name: str,
        body: dict[str, Any],
        *,
        authorize: Callable[[Expansion, str], None] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Start a deployment; ``authorize(expansion, mode)`` may refuse it once expanded (a
        caller's request is checked against deny assignments; a stack's own is not)."""
        check_deployment_name(name)
        store = self.backend.store
        with self.lock:
            try:
                # a run of this name in any process sharing the state file (a run whose
                # process is gone is marked interrupted here, and the name is free)
                active = store.active_deployment(scope.id, name)
                if active is not None:
                    raise deployment_active(name, active)
                check_location_unchanged(store.get_deployment(scope.id, name), name, body)
                expansion, properties = self.expand(scope, name, body)
                if authorize is not None:
                    authorize(expansion, properties.get("mode", "Incremental"))
                mask = deployment_mask(expansion)
                record = self._new_record(scope, name, body, properties, expansion, mask=mask)
                # check-and-insert again, atomically across processes
                created = store.start_deployment(scope.id, name, record, properties["template"])
            except ArmStoreError as exc:
                raise ArmHttpError(exc.status, exc.code, exc.message) from None
            store.prune_deployments(scope.id)
            self.masks[record["id"].lower()] = mask
        future = self.pool.submit(self._run, scope, name, expansion, properties)
        with self.lock:
            self.futures[record["id"].lower()] = future
        return record, created

    def wait_for(self, deployment_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a deployment this runner started to end;
        whether it has ended (False for one it does not run)."""
        with self.lock:
            future = self.futures.get(deployment_id.lower())
        if future is None:
            return False
        done, _ = wait([future], timeout=timeout)
        return bool(done)

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
        mask: SecretMask | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": scope.deployment_id(name),
            "name": name,
            "type": DEPLOYMENT_TYPE,
            "tags": body.get("tags") or {},
            "properties": {
                "templateHash": expansion.template_hash,
                "parameters": redacted_parameters(expansion, mask, properties.get("parameters")),
                "mode": properties.get("mode", "Incremental"),
                "provisioningState": state,
                "timestamp": iso(utc_now()),
                "duration": "PT0S",
                "correlationId": correlation_id or str(uuid.uuid4()),
                "providers": providers_of(expansion),
                "dependencies": dependencies_of(expansion),
            },
        }
        if body.get("location"):
            record["location"] = body["location"]
        if isinstance(properties.get("templateLink"), dict):
            # never its queryString, nor a query in its uri: a SAS token is a credential
            # (linked_templates.py)
            record["properties"]["templateLink"] = recorded_link(
                properties["templateLink"], properties.get("template")
            )
        if isinstance(properties.get("parametersLink"), dict):
            record["properties"]["parametersLink"] = recorded_parameters_link(
                properties["parametersLink"]
            )
        on_error = properties.get("onErrorDeployment")
        if isinstance(on_error, dict):
            record["properties"]["onErrorDeployment"] = dict(on_error)
            # ARM names the deployment LastSuccessful stands for from the start (the REST
            # specification's PutDeploymentWithOnErrorDeploymentLastSuccessful.json: 201)
            if on_error.get("type", "LastSuccessful") == "LastSuccessful":
                earlier = self._last_successful(scope, name)
                if earlier:
                    record["properties"]["onErrorDeployment"]["deploymentName"] = earlier
        return record

    def _last_successful(self, scope: DeploymentScope, name: str) -> str | None:
        """The newest Succeeded deployment of ``scope`` other than ``name``."""
        return next(
            (
                d["name"]
                for d in self.backend.store.list_deployments(scope.id)
                if d["name"].lower() != name.lower()
                and d["properties"]["provisioningState"] == "Succeeded"
            ),
            None,
        )

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
            self.masks.pop(record["id"].lower(), None)
            with self.lock:
                self.futures.pop(record["id"].lower(), None)

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
        # as ARM: a deployment without outputs has no such key; a succeeded one lists the
        # resources it deployed, none as [] (the REST specification's
        # PutDeploymentWithExternalInputs.json, 200), a failed one those it got to
        if deployed or state == "Succeeded":
            props["outputResources"] = [{"id": i} for i in dict.fromkeys(deployed)]
        if outputs:
            props["outputs"] = outputs
        if error is not None:
            props["error"] = self._mask(record["id"]).value(error)
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
        return redacted_outputs(outputs, self._mask(deployment_id))

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
            target_name = self._last_successful(scope, name)
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
                break
            time.sleep(0.01)
        # a deployment stack settles after its deployment ends (unmanage, managed resources)
        self.backend.stacks.wait_idle(max(0.0, deadline - time.monotonic()))


def check_location_unchanged(
    existing: dict[str, Any] | None, name: str, body: dict[str, Any]
) -> None:
    """Above resource groups a deployment name keeps its location: "You can't create a
    deployment in one location when there's an existing deployment with the same name in a
    different location" (Microsoft's "Subscription deployments with ARM templates")."""
    if existing is None or not existing.get("location") or not body.get("location"):
        return
    before, after = str(existing["location"]), str(body["location"])
    if before.replace(" ", "").lower() != after.replace(" ", "").lower():
        raise ArmHttpError(
            400,
            "InvalidDeploymentLocation",
            f"Invalid deployment location '{after}'. The deployment '{name}' already exists in "
            f"location '{before}'.",
        )


def _deployer() -> dict[str, str]:
    """``deployer()``'s object id: the principal whose token the request carries (the
    context's built-in principal outside a request: the engine alone, ``expand``)."""
    object_id = caller_object_id()
    return {"deployer_object_id": object_id} if object_id else {}
