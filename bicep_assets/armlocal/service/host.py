"""What the deployment runner needs of the backend that hosts it, and how a local ARM behaves.

The runner (``deployments.py``, ``steps.py``, ``records.py``) works on a :class:`ServiceHost` — the
store, the configuration, the fault plan and the service context — rather than on
:class:`~bicep_assets.armlocal.service.backend.ArmBackend` itself, so the backend can own a
runner without the two modules importing each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..engine.context import DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from ..state.store import ArmStore
from . import behaviors
from .faults import FaultPlan


@dataclass
class LocalArmConfig:
    """How a local ARM behaves; every field has a default that suits tests and demos."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    tenant_id: str = DEFAULT_TENANT
    subscription_id: str = DEFAULT_SUBSCRIPTION
    retry_after: int = 1  # seconds the SDK is told to wait between polls (an integer)
    resource_delay_s: float = 0.0  # how long each resource takes to deploy
    sites_base: str = ""  # host:port/sites, set by the server once it listens

    def __post_init__(self) -> None:
        if not (isinstance(self.retry_after, int) and self.retry_after >= 0):
            raise ValueError(f"retry_after must be a whole number ≥ 0, not {self.retry_after!r}")
        if not 0 <= self.resource_delay_s < float("inf"):  # also refuses nan
            raise ValueError(f"resource_delay_s must be ≥ 0 seconds, not {self.resource_delay_s!r}")


class ServiceHost(Protocol):
    """The part of the backend a running deployment uses."""

    store: ArmStore
    config: LocalArmConfig
    faults: FaultPlan
    management_groups: Any  # service.management_groups.ManagementGroups
    stacks: Any  # service.stacks.DeploymentStacks

    def service_context(self) -> behaviors.ServiceContext: ...
