"""Check types by name. A `type:` in the inventory selects one; no plugin discovery.

Registering a name twice fails at import, so two modules can never silently
shadow each other.
"""
from __future__ import annotations

from opsmon.collector.config.checks import CheckSpec, CheckSpecBase
from opsmon.collector.inputs.checks.base import Check, CheckContext, Outcome
from opsmon.collector.inputs.checks.http import HttpCheck
from opsmon.collector.inputs.checks.icmp import IcmpCheck
from opsmon.collector.inputs.checks.presence import PresenceCheck
from opsmon.collector.inputs.checks.snmp import SnmpCheck, SnmpInterfaceCheck
from opsmon.collector.inputs.checks.ssh import SshCheck, SshConfigCheck
from opsmon.collector.inputs.checks.tcp import TcpCheck

CHECKS: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    if cls.type_name in CHECKS:
        raise RuntimeError(f"check type {cls.type_name!r} registered twice")
    CHECKS[cls.type_name] = cls
    return cls


for _cls in (IcmpCheck, TcpCheck, HttpCheck, SnmpCheck, SnmpInterfaceCheck, SshCheck, SshConfigCheck, PresenceCheck):
    register(_cls)


__all__ = ["CHECKS", "Check", "CheckContext", "CheckSpec", "CheckSpecBase", "Outcome", "register"]
