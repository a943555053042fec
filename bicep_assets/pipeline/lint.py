"""lint: compile the environment's template and check it before anything touches ARM."""

import hashlib
import json
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import OpExecutionContext

from ..armlocal.engine import JsonInputError, read_json_file
from ..armlocal.engine.template import declarations
from ..armlocal.engine.template_hash import template_hash
from ..environments import EnvironmentSpec, ManifestError, read_parameters_file
from ..failures import LogicFailure, failure_boundary
from ..models import CompiledTemplate, Diagnostic, SecureReference
from ..resources.arm import ArmClient
from ..resources.bicep import BicepCli, BicepError, BicepNotFoundError
from ..resources.environment import DeploymentEnvironment
from .custom_checks import missing_check_diagnostics
from .metadata import table
from .parameter_overrides import SecureOverrideError, check_parameter_overrides
from .provenance import SCOPE_KIND_TAG, SCOPE_TAG, launch_facts
from .scopes import schema_diagnostics
from .secrets import refuse_secure_overrides, run_secure_values
from .static_checks import static_checks


class LintConfig(dg.Config):
    """Run config of the lint step."""

    allow_warnings: bool = False
    parameter_overrides: dict[str, str] = {}  # the old CLI's --param NAME=VALUE


def _fail(message: str, **metadata: Any) -> LogicFailure:
    return LogicFailure(message, metadata=metadata)


def api_versions_of(template: dict[str, Any]) -> dict[str, str]:
    """Resource type (lowercase) → apiVersion, from the template and its nested templates."""
    found: dict[str, str] = {}
    for declaration in declarations(template, lenient=True):
        rtype, api = declaration.full_type, declaration.raw.get("apiVersion")
        if rtype and isinstance(api, str) and not rtype.startswith("["):
            found.setdefault(rtype.lower(), api)
        if declaration.inline_template is not None:
            for nested_type, nested_api in api_versions_of(declaration.inline_template).items():
                found.setdefault(nested_type, nested_api)
    return found


def _hash_parameters(parameters: dict[str, Any], secure: dict[str, SecureReference]) -> str:
    material = {"values": parameters, "secure": {k: v.describe() for k, v in secure.items()}}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compile_environment(
    spec: EnvironmentSpec, bicep: BicepCli, overrides: dict[str, str]
) -> CompiledTemplate:
    """The template as ARM JSON, the parameters (secure ones as references), diagnostics."""
    diagnostics: list[Diagnostic] = []
    template_file: Path = spec.template_file
    try:
        if spec.is_bicep:
            template = bicep.build(template_file)
            diagnostics.extend(bicep.lint(template_file))
        else:
            template = read_json_file(template_file, "template file")
    except (BicepNotFoundError, BicepError, JsonInputError) as exc:
        raise _fail(str(exc), template=str(template_file)) from None
    parameters: dict[str, Any] = {}
    try:
        if spec.parameters_file is not None:
            if spec.parameters_file.suffix.lower() == ".bicepparam":
                parameters.update(bicep.build_params(spec.parameters_file)[0])
            else:
                parameters.update(read_parameters_file(spec.parameters_file))
    except (BicepNotFoundError, BicepError, ManifestError) as exc:
        raise _fail(str(exc)) from None
    parameters.update({k: {"value": v} for k, v in spec.parameters.items()})
    try:
        converted = check_parameter_overrides(template, overrides)
    except SecureOverrideError as exc:  # the launch already stored it: say what to do now
        raise _fail(
            f"run config parameter_overrides: {exc} This run's config now holds the value: "
            "delete the run and rotate the secret."
        ) from None
    except ValueError as exc:
        raise _fail(f"run config parameter_overrides: {exc}") from None
    parameters.update({k: {"value": v} for k, v in converted.items()})
    secure = {name: ref.to_reference() for name, ref in spec.secure_parameters.items()}
    for name in secure:
        parameters.pop(name, None)
    diagnostics.extend(
        schema_diagnostics(template, spec.scope, source=str(template_file), is_bicep=spec.is_bicep)
    )
    diagnostics.extend(
        static_checks(template, parameters, secure_names=set(secure), source=str(template_file))
    )
    diagnostics.extend(missing_check_diagnostics(spec))
    return CompiledTemplate(
        environment=spec.name,
        template_path=str(spec.template),
        template=template,
        parameters=parameters,
        secure_parameters=secure,
        template_hash=template_hash(template),
        parameters_hash=_hash_parameters(parameters, secure),
        diagnostics=diagnostics,
        api_versions=api_versions_of(template),
    )


def diagnostics_table(diagnostics: list[Diagnostic]) -> dg.TableMetadataValue:
    return table(
        (d.model_dump() for d in diagnostics),
        {"severity": "string", "code": "string", "message": "string", "location": "string"},
    )


@dg.op(out=dg.Out(CompiledTemplate, io_manager_key="io_manager"))
def lint(
    context: OpExecutionContext,
    config: LintConfig,
    environment: DeploymentEnvironment,
    bicep: BicepCli,
    arm: ArmClient,
) -> dg.Output[CompiledTemplate]:
    """Record the run's launch facts; compile the environment's template and check it; errors
    (and warnings) stop the run."""
    with failure_boundary(context) as boundary:
        project_dir = Path(environment.manifest).resolve().parent.parent
        facts = launch_facts(dict(context.run.tags), project_dir, arm.target)
        context.instance.add_run_tags(context.run_id, facts.tags)
        for warning in facts.warnings:
            boundary.log.warning(warning)
        spec = environment.load()
        context.instance.add_run_tags(
            context.run_id, {SCOPE_KIND_TAG: spec.scope.kind, SCOPE_TAG: spec.scope.scope_id}
        )
        # a secure value too short to be masked, or one given in run config, stops the run
        # before the template is compiled or anything it holds is logged
        boundary.add_secrets(run_secure_values(spec))
        refuse_secure_overrides(spec, config.parameter_overrides)
        compiled = compile_environment(spec, bicep, config.parameter_overrides)
        context.instance.add_run_tags(
            context.run_id, {"bicep_assets/template_hash": compiled.template_hash}
        )
        errors = [d for d in compiled.diagnostics if d.severity == "error"]
        warnings = [d for d in compiled.diagnostics if d.severity == "warning"]
        metadata = {
            "template": compiled.template_path,
            "template_hash": compiled.template_hash,
            "parameters_hash": compiled.parameters_hash,
            "diagnostics": diagnostics_table(compiled.diagnostics),
            **{tag.split("/", 1)[1]: value for tag, value in facts.tags.items()},
        }
        for finding in compiled.diagnostics:
            boundary.log.info(
                f"{finding.severity} {finding.code} {finding.location}: {finding.message}"
            )
        if errors or (warnings and not config.allow_warnings):
            kind = "error" if errors else "warning"
            listed = errors or warnings
            hint = "" if errors else " (set allow_warnings: true in the lint config to accept them)"
            raise LogicFailure(
                f"lint found {len(listed)} {kind}(s){hint}: "
                + "; ".join(f"{d.code} at {d.location}: {d.message}" for d in listed[:10]),
                arm_code=listed[0].code,
                arm_message=listed[0].message,
                metadata=metadata,
            )
        return boundary.output(compiled, metadata)
