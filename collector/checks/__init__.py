"""Check types by name. A `type:` in the inventory selects one; no plugin discovery.

Registering a name twice fails at import, so two modules can never silently
shadow each other.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from collector.checks.base import Check, CheckContext, CheckSpecBase, Outcome
from collector.checks.http import HttpCheck, HttpSpec
from collector.checks.icmp import IcmpCheck, IcmpSpec
from collector.checks.snmp import SnmpCheck, SnmpInterfaceCheck, SnmpInterfaceSpec, SnmpSpec
from collector.checks.ssh import SshCheck, SshConfigCheck, SshConfigSpec, SshSpec
from collector.checks.tcp import TcpCheck, TcpSpec

CHECKS: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    if cls.type_name in CHECKS:
        raise RuntimeError(f"check type {cls.type_name!r} registered twice")
    CHECKS[cls.type_name] = cls
    return cls


for _cls in (IcmpCheck, TcpCheck, HttpCheck, SnmpCheck, SnmpInterfaceCheck, SshCheck, SshConfigCheck):
    register(_cls)

CheckSpec = Annotated[IcmpSpec | TcpSpec | HttpSpec | SnmpSpec | SnmpInterfaceSpec | SshSpec | SshConfigSpec,
                      Field(discriminator="type")]

__all__ = ["CHECKS", "Check", "CheckContext", "CheckSpec", "CheckSpecBase", "Outcome", "register"]
