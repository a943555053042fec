"""The local Azure Resource Manager: a library with no Dagster import.

Its rooms, each importing only the ones listed before it:

- ``engine/`` — the ARM template language: expressions, functions, parameters, expansion;
- ``state/`` — the SQLite store: resource groups, resources, deployment history, which
  process owns unfinished work (and whether a process still runs: :func:`process_liveness`,
  which the Dagster side uses too), and recovery of work whose process died;
- ``service/`` — the backend: one method per ARM operation, the deployment runner, what-if,
  the behaviours of resource providers, fault injection;
- ``http/`` — the HTTPS service: routes, ARM's REST conventions, the server, and the
  connection from which the official SDK clients are built;
- ``cli/`` — ``bicep-assets emulator serve`` and ``bicep-assets arm …``.

Code outside ``armlocal`` imports what it needs from here (or from ``armlocal.engine``).
"""

from .cli.commands import add_arm_commands, add_emulator_commands, run_arm, run_emulator
from .cli.parameter_args import ParameterArgumentError, parse_parameter_args
from .cli.whatif_render import SYMBOLS as CHANGE_SYMBOLS
from .cli.whatif_render import render_what_if
from .http.client import LocalArmConnection, StaticTokenCredential
from .http.server import LocalArm
from .http.tempdirs import remove_orphaned_temp_dirs
from .service.behaviors import write_only_paths
from .service.faults import FaultPlan, FaultPlanSpec, FaultRule
from .service.host import LocalArmConfig
from .service.preflight import expanded_resource_errors, group_location_error, preflight_error
from .service.records import local_secret_values
from .service.whatif import read_only_matcher, what_if
from .state.owners import ProcessIdentity, process_liveness
from .state.store import ArmStore, ArmStoreError

__all__ = [
    "CHANGE_SYMBOLS",
    "ArmStore",
    "ArmStoreError",
    "FaultPlan",
    "FaultPlanSpec",
    "FaultRule",
    "LocalArm",
    "LocalArmConfig",
    "LocalArmConnection",
    "ParameterArgumentError",
    "ProcessIdentity",
    "StaticTokenCredential",
    "add_arm_commands",
    "add_emulator_commands",
    "expanded_resource_errors",
    "group_location_error",
    "local_secret_values",
    "parse_parameter_args",
    "preflight_error",
    "process_liveness",
    "read_only_matcher",
    "remove_orphaned_temp_dirs",
    "render_what_if",
    "run_arm",
    "run_emulator",
    "what_if",
    "write_only_paths",
]
