"""Trap maps: what a trap OID means, as data (issue 23 item 4).

A map is a YAML file of packs' traps (the bundled ones live beside this module in `trap-maps/`; more
come from `snmp.traps.maps`, whose entries replace bundled ones with the same OID). Each entry names
the trap as its MIB does, gives its severity and a summary in Chinese and English, and says what the
trap does:

- `event` (the default): stored as an event, listed, nothing else;
- `hardware`: a hardware fault of the asset's `component` (read from the varbind under
  `component_from`, e.g. entPhysicalName, else the trap's name): an incident with the hardware
  response clock, which stays open until the trap that `clears` it arrives (or an operator resolves it);
- `security`: a security incident of the asset (issue 23 item 1), de-duplicated per trap and component.

An entry with `clears: NAME` is the recovery of trap NAME of the same file: it resolves that trap's
incident for the same component. Every OID says its source (the MIB module and where it was read).

`same_fault` maps a component the varbind names to the component the SNMP profiles name for the same fault
(one fault, one incident, whether a poll or a trap says it: upsTrapAlarmEntryAdded's upsAlarmOnBattery is
the profiles' `UPS power input`; `*` maps any other value, so Huawei's hwFanFail for "FAN 2" is the profiles'
`fan`); a recovery trap uses the map of the trap it clears.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from opsmon.collector.config.snmp_profiles import Text, _oid
from opsmon.collector.config.yamlfile import read_yaml
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.fields import FROZEN

BUNDLED = Path(__file__).with_name("trap-maps")
Action = Literal["event", "hardware", "security"]


class TrapEntry(BaseModel):
    model_config = FROZEN
    oid: str
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    severity: Literal["info", "warning", "minor", "major", "critical"] = "info"
    action: Action = "event"
    clears: str | None = Field(None, description="The name of the trap (same file) this one is the recovery of")
    component_from: str | None = Field(None, description="OID prefix of the varbind naming the component")
    same_fault: dict[str, str] = Field(default_factory=dict, description=(
        "The varbind's value -> the component the SNMP profiles name for the same fault (one incident whether "
        "polled or trapped); on the raising trap, its recovery uses it too. The key `*` takes every value not "
        "listed: a part the trap names by an index the polled table does not use (Huawei's entPhysicalName "
        "against hwFanStatusTable's slot.number) is the device's part the profile names with `device_index: 0`"))
    summary: Text

    @field_validator("oid", "component_from")
    @classmethod
    def _numeric(cls, value: str | None) -> str | None:
        return None if value is None else _oid(value)


class TrapMapFile(BaseModel):
    model_config = FROZEN
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    source: str = Field(min_length=1, description="Where the OIDs were read: MIB modules, files, versions")
    traps: tuple[TrapEntry, ...]

    @model_validator(mode="after")
    def _clears_known(self) -> TrapMapFile:
        names = {t.name: t for t in self.traps}
        for t in self.traps:
            if t.clears is not None:
                raised = names.get(t.clears)
                if raised is None:
                    raise ValueError(f"{t.name}: clears {t.clears!r}, which this file does not name")
                if raised.action == "event":
                    raise ValueError(f"{t.name}: clears {t.clears!r}, whose action is event (nothing to clear)")
        return self


class TrapMap:
    """Every known trap by OID; `cleared_by` gives the entry a recovery trap clears."""

    def __init__(self, files: list[TrapMapFile]) -> None:
        self.by_oid: dict[tuple[int, ...], TrapEntry] = {}
        self.cleared: dict[tuple[int, ...], TrapEntry] = {}  # recovery OID -> the entry it clears
        for f in files:
            names = {t.name: t for t in f.traps}
            for t in f.traps:
                key = tuple(int(p) for p in t.oid.split("."))
                self.by_oid[key] = t
                if t.clears is not None:
                    self.cleared[key] = names[t.clears]
                else:
                    self.cleared.pop(key, None)

    def get(self, oid: tuple[int, ...]) -> TrapEntry | None:
        return self.by_oid.get(oid)


def load_trap_maps(extra: tuple[Path, ...] = ()) -> TrapMap:
    """The bundled maps, then the operator's files in order (a later entry replaces an earlier one's OID)."""
    files: list[TrapMapFile] = []
    bundled = sorted(BUNDLED.glob("*.yaml"))
    if not bundled:  # a package built without its data: every trap would be an unnamed vendor trap
        raise ConfigError(str(BUNDLED), "", "the bundled trap maps are missing (an incomplete install)")
    for path in bundled:
        files.append(read_yaml(path).validate(TrapMapFile))
    for path in extra:
        if not path.is_file():
            raise ConfigError(str(path), "snmp.traps.maps", "file not found")
        files.append(read_yaml(path).validate(TrapMapFile))
    return TrapMap(files)
