"""Automated provisioning: presets (declarative desired state), provision functions, virtual
parameters and the built-in bootstrap defaults, run after a session's tasks."""

from .engine import ProvisionOutcome, ProvisionRun
from .provisioner import Provisioner, ProvisioningSettings

__all__ = ["ProvisionOutcome", "ProvisionRun", "Provisioner", "ProvisioningSettings"]
