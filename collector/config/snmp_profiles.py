"""SNMP profiles: which OIDs to read from a device and how to read them, as data.

A profile is a YAML file (the bundled ones live beside this module; more come from
`snmp.profile_dirs`). It names scalars and tables of columns, each with a type
that says how to read the value, whether it is exported as a Prometheus metric
(under the snmp_exporter name, so existing dashboards work), whether it changes
rarely (`refresh: static`, read again only every `snmp.static_refresh`, after a
reboot or when rows appear), rates computed from counters, and hardware fault
rules. Adding a device family means writing a file, not code.

Detection: a profile applies to a device when the device's sysObjectID lies under
one of `detect.sys_object_id` (the vendor packs: the vendor's enterprise number), or
when `detect.oid` answers, or always.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from opsmon.collector.config.yamlfile import read_yaml
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.fields import FROZEN

BUNDLED = Path(__file__).with_name("snmp-profiles")
OID_RE = re.compile(r"^\.?[0-2](\.\d{1,10}){1,127}$")
ColumnType = Literal["string", "gauge", "enum", "counter32", "counter64", "timeticks", "oid", "hex"]
COUNTERS = ("counter32", "counter64")


def parse_oid(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.strip(".").split("."))


def _oid(value: str) -> str:
    if not isinstance(value, str) or not OID_RE.match(value):
        raise ValueError(f"{value!r} is not a numeric OID such as 1.3.6.1.2.1.1.3.0")
    return value.strip(".")


class Text(BaseModel):
    """A user-visible text in both languages."""

    model_config = FROZEN
    en: str = Field(min_length=1, max_length=300)
    zh: str = Field(min_length=1, max_length=300)


class Field_(BaseModel):
    """One scalar or column: where it is, what type it is, and what to do with it."""

    model_config = FROZEN
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    oid: str
    type: ColumnType
    metric: bool = Field(False, description="Export under `name` (a counter for counter types, else a gauge)")
    refresh: Literal["poll", "static"] = "poll"
    help: str = ""
    values: dict[str, str] = Field(default_factory=dict, description="Names shown for raw values (enum, oid)")
    source: str = Field("", max_length=200, description=(
        "Where the OID is defined: MIB module and object name (e.g. HUAWEI-ENTITY-EXTENT-MIB hwEntityCpuUsage); "
        "the vendor packs give one for every field, so a reader can check it against the vendor's MIB"))

    @field_validator("oid")
    @classmethod
    def _check_oid(cls, value: str) -> str:
        return _oid(value)

    @property
    def oid_tuple(self) -> tuple[int, ...]:
        return parse_oid(self.oid)


class Ceiling(BaseModel):
    """The highest believable rate: a column's value times a scale (e.g. ifHighSpeed Mbit/s -> bytes/s)."""

    model_config = FROZEN
    column: str
    scale: float = Field(gt=0)


class Rate(BaseModel):
    """A per-second rate computed from a counter column (with fallback), exported as `metric`."""

    model_config = FROZEN
    metric: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    counter: str
    fallback: str | None = Field(None, description="A column read when `counter` is absent (e.g. 32-bit octets)")
    scale: float = Field(1.0, gt=0, description="Multiplier on the rate, e.g. 8 for octets -> bits")
    ceiling: Ceiling | None = None
    help: str = ""


class Unless(BaseModel):
    """An exception to a fault rule: another column of the row holds one of these (rendered) values."""

    model_config = FROZEN
    column: str
    values: tuple[str | int, ...] = Field(min_length=1)


class SameFault(BaseModel):
    """A table fault that another table (of this profile or another) also reports: by the value of one of the row's
    columns, the component that table names, so the fault seen through both is one fault and one incident (an RFC
    1628 alarm row upsAlarmOnBattery is HUAWEI-UPS-MIB's on-battery supply method; a HOST-RESOURCES device row of
    type printer is hrPrinterTable's row of the same hrDeviceIndex)."""

    model_config = FROZEN
    column: str = Field(description="The row's column whose (rendered) value says which fault it is")
    components: dict[str, str] = Field(min_length=1, description=(
        "Rendered value -> the component the other table names; values not listed keep the fault's own component"))
    device_index: int = Field(0, ge=0, le=8, description=(
        "0: the whole device (the row is an alarm, not a part: no row index in the name); N: the row index's first "
        "N parts name the part, as the other table's row index does (`printer 1`)"))


class Fault(BaseModel):
    """A hardware fault condition on a scalar or column value."""

    model_config = FROZEN
    column: str
    unless: Unless | None = None
    equals: tuple[int, ...] | None = Field(None, description="Fault when the value is one of these")
    bits: tuple[int, ...] | None = Field(None, description="Fault when any of these bits (0 = MSB of octet 0) is set")
    present: bool = Field(False, description="Fault for every row that has a value (a table of active alarms)")
    component: str = Field(description="Names the part; {column} placeholders take values from the same row")
    device_index: int | None = Field(None, ge=0, le=8, description=(
        "A table fault: the row index's first N parts name the device (prtAlertTable 1.4 is device 1), so its "
        "component is 'COMPONENT 1' like another table's row 1: faults naming one component are one fault. 0: the "
        "whole device, no index (a UPS whose RFC 1628 scalars name no rack)"))
    same_fault: SameFault | None = Field(None, description=(
        "A table fault: the component another table names for the same fault, by a column's value"))
    problem: Text

    @model_validator(mode="after")
    def _one(self) -> Fault:
        if (self.equals is not None) + (self.bits is not None) + self.present != 1:
            raise ValueError("give exactly one of equals, bits or present: true")
        return self


class Table(BaseModel):
    model_config = FROZEN
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    index_label: str = Field("index", description="Label name carrying the row index (e.g. ifIndex)")
    labels: tuple[str, ...] = Field((), description="Columns whose values become labels of every metric of the row")
    info: bool = Field(False, description=(
        "Put `labels` on one `opsmon_snmp_<name>_info` series per row (value 1) instead of on every metric of the "
        "row; queries join it with `* on (asset, <index_label>) group_left (...)`. A 48-port switch's page is then "
        "about a third as long (issue 25)"))
    columns: tuple[Field_, ...] = Field(min_length=1)
    rates: tuple[Rate, ...] = ()
    faults: tuple[Fault, ...] = ()
    empty_ok: bool = Field(False, description="An empty table is normal (an alarm table without alarms): not logged "
                                              "as data the device lacks")

    @model_validator(mode="after")
    def _refs(self) -> Table:
        names = {c.name for c in self.columns}
        refs = list(self.labels) + [f.column for f in self.faults] + [f.unless.column for f in self.faults
                                                                      if f.unless]
        refs += [f.same_fault.column for f in self.faults if f.same_fault]
        for r in self.rates:
            refs += [r.counter] + ([r.fallback] if r.fallback else []) + ([r.ceiling.column] if r.ceiling else [])
        for ref in refs:
            if ref not in names:
                raise ValueError(f"table {self.name!r} refers to column {ref!r}, which it does not define")
        for r in self.rates:
            for col in (r.counter, r.fallback):
                if col and next(c for c in self.columns if c.name == col).type not in COUNTERS:
                    raise ValueError(f"rate {r.metric!r}: column {col!r} is not a counter")
        return self


class Detect(BaseModel):
    model_config = FROZEN
    always: bool = False
    sys_object_id: tuple[str, ...] = Field((), description=(
        "sysObjectID prefixes, whole arcs: 1.3.6.1.4.1.2011 (Huawei's enterprise) matches 1.3.6.1.4.1.2011.2.23.1, "
        "never 1.3.6.1.4.1.20110.1"))
    oid: str | None = Field(None, description="Applies when a GET of this OID returns a value")


class Profile(BaseModel):
    model_config = FROZEN
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    description: str = ""
    detect: Detect = Detect()
    scalars: tuple[Field_, ...] = ()
    scalar_faults: tuple[Fault, ...] = ()
    tables: tuple[Table, ...] = ()

    @model_validator(mode="after")
    def _names(self) -> Profile:
        names = {s.name for s in self.scalars}
        for f in self.scalar_faults:
            if f.column not in names:
                raise ValueError(f"scalar_faults refers to {f.column!r}, which scalars do not define")
        return self


def under(oid: str, prefix: str) -> bool:
    """True when dotted `oid` is `prefix` or lies below it (whole arcs: 2011 is not a prefix of 20110)."""
    prefix = prefix.strip(".")
    return oid == prefix or oid.startswith(prefix + ".")


def load_profiles(extra_dirs: tuple[Path, ...] = ()) -> dict[str, Profile]:
    """The bundled profiles, then those of `extra_dirs` (a same-named file replaces a bundled one)."""
    out: dict[str, Profile] = {}
    for folder in (BUNDLED, *extra_dirs):
        if not folder.is_dir():
            raise ConfigError(str(folder), "snmp.profile_dirs", "not a folder")
        for path in sorted(folder.glob("*.yaml")):
            profile: Profile = read_yaml(path).validate(Profile)
            if profile.name != path.stem:
                raise ConfigError(str(path), "name", f"must equal the file name {path.stem!r}")
            out[profile.name] = profile
    return out
