"""Compute: virtual machines' write-only administrator password.

A virtual machine's ``properties.osProfile.adminPassword`` is set by a PUT and never returned:
the REST specification's example of a VM created with password authentication
(``VirtualMachine_Create_WithPasswordAuthentication``) answers an ``osProfile`` with
``adminUsername``, ``computerName``, ``secrets`` and ``windowsConfiguration`` and no password.
Nothing else of a VM is modelled (it gets ``provisioningState`` like any resource).
"""

from __future__ import annotations

from .model import Behavior

VIRTUAL_MACHINES = "Microsoft.Compute/virtualMachines"

BEHAVIORS = [
    Behavior(VIRTUAL_MACHINES, write_only=frozenset({"properties.osProfile.adminPassword"})),
]
