"""The ARM template language engine of the local ARM (no Dagster import).

Public surface::

    from bicep_assets.armlocal.engine import expand, DeploymentContext

    expansion = expand(template, {"name": {"value": "demo"}}, DeploymentContext())
    for resource in expansion.resources:          # in deployment order
        print(resource.id, resource.depends_on, resource.properties)
    expansion.evaluate_outputs(state)            # after deployment

Errors are :class:`TemplateError` (ARM ``code``, ``message``, ``details``; ``to_arm()``).

Importing any module of the engine runs this file first, and so loads Microsoft's function
library (``functions.library``): its category modules register their functions with the
registry the evaluator looks names up in, and may themselves use the evaluator.
"""

from .context import (
    DeploymentContext,
    EmptyState,
    ManagementGroup,
    ResourceGroup,
    ResourceState,
)
from .errors import ExpressionError, TemplateError
from .evaluator import EvalContext, evaluate_expression
from .expansion import expand
from .functions import library  # noqa: F401  (registers every template function)
from .json_input import (
    ArmJsonError,
    ArmJsonTooDeep,
    JsonInputError,
    parse_json,
    read_arm_json,
    read_json_file,
)
from .masking import MASK, MIN_SECRET_RUN, SecretMask
from .models import ExpandedResource, Expansion
from .scopes import context_for_level
from .template import deployment_scope

__all__ = [
    "MASK",
    "MIN_SECRET_RUN",
    "ArmJsonError",
    "ArmJsonTooDeep",
    "DeploymentContext",
    "EmptyState",
    "EvalContext",
    "ExpandedResource",
    "Expansion",
    "ExpressionError",
    "JsonInputError",
    "ManagementGroup",
    "ResourceGroup",
    "ResourceState",
    "SecretMask",
    "TemplateError",
    "context_for_level",
    "deployment_scope",
    "evaluate_expression",
    "expand",
    "parse_json",
    "read_arm_json",
    "read_json_file",
]
