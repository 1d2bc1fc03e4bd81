"""One poll of one device: scalars and table columns by its profiles, read into typed rows,
rates computed against the previous poll, hardware faults evaluated.

Cost control (a 48-port switch's full ifTable + ifXTable is ~1,900 varbinds):
only `refresh: poll` columns are walked every cycle; `static` ones (names, speeds,
aliases) are read on the first poll, every `static_refresh`, after a reboot and
when a new row appears. All columns of all tables advance together in one GETBULK
walk, so round trips are few.

A poll that fails part-way changes nothing: rows, counters and rates are only
replaced when the whole poll answered, so a device that stops mid-walk can never
produce a half-table or a bogus rate.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

from opsmon.collector.config.snmp_profiles import COUNTERS, Fault, Field_, Profile, Table, parse_oid, under
from opsmon.collector.inputs.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    SnmpClient,
    Target,
    Value,
    get_next,
    walk_columns,
)
from opsmon.collector.inputs.snmp.counters import Sample, counter_rate, rebooted

SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
GET_CHUNK = 30
RENDERED = frozenset(("string", "hex", "oid"))  # the field types render() changes


def render(field_: Field_, value: Value) -> Any:
    """A raw value as the profile's type says: text for strings, dotted text for OIDs, hex for MACs."""
    if field_.type == "string":
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        return text.rstrip("\x00")
    if field_.type == "hex":
        return value.hex(":") if isinstance(value, bytes) else str(value)
    if field_.type == "oid":
        dotted = ".".join(map(str, value)) if isinstance(value, tuple) else str(value)
        return field_.values.get(dotted, dotted)
    if isinstance(value, int):
        return value
    raise ValueError(f"{field_.name}: expected a number, got {type(value).__name__}")


def index_text(index: tuple[int, ...]) -> str:
    return ".".join(map(str, index))


@dataclass
class Poll:
    """What one complete poll read (rows hold rendered values)."""

    at: float
    uptime: int | None
    scalars: dict[str, Any]
    tables: dict[str, dict[str, dict[str, Any]]]
    raw_counters: dict[tuple[str, str, str], int]  # (table, index, column) -> raw counter
    varbinds: int
    read_at: dict[tuple[str, str, str], float] = field(default_factory=dict)  # when each counter arrived
    absent: list[str] = field(default_factory=list)  # fields the device lacks, e.g. "sysLocation (noSuchObject)"


@dataclass
class DeviceState:
    """What the collector remembers about a device between polls."""

    asset_id: str
    profiles: tuple[Profile, ...] = ()
    static_at: float | None = None
    last: Poll | None = None
    rates: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # table -> index -> metric -> rate
    samples: dict[tuple[str, str, str], Sample] = field(default_factory=dict)  # (table, index, metric/source)
    promoted: set[tuple[str, str]] = field(default_factory=set)  # (table, fallback column) read every poll
    faults: list[tuple[str, str, str]] = field(default_factory=list)  # (component, problem en, problem zh)
    discarded: dict[str, int] = field(default_factory=dict)
    error: str = ""
    absent: set[str] = field(default_factory=set)  # absent fields already logged
    duration: float = 0.0
    answered: bool = False
    generation: int = 0  # +1 at every poll, answered or not: /metrics re-encodes a device only when it moved


async def detect(client: SnmpClient, target: Target, candidates: list[Profile]) -> tuple[Profile, ...]:
    """The profiles that apply: `always`, a sysObjectID prefix, or a subtree that has data."""
    chosen = [p for p in candidates if p.detect.always]
    rest = [p for p in candidates if not p.detect.always]
    if not rest:
        return tuple(chosen)
    sys_oid = ""
    if any(p.detect.sys_object_id for p in rest):
        got = await client.get(target, [SYS_OBJECT_ID])
        value = got[0][1] if got else None
        sys_oid = ".".join(map(str, value)) if isinstance(value, tuple) else ""
    probes = [p for p in rest if p.detect.oid]
    answers: dict[str, bool] = {}
    if probes:
        oids = [parse_oid(p.detect.oid or "") for p in probes]
        got = await get_next(client, target, oids)
        for p, asked, (oid, value) in zip(probes, oids, got, strict=False):
            # The answer must lie inside the subtree and hold data: an agent whose MIB ends early answers the
            # asked OID itself with endOfMibView, which is no match (issue 21: a switch was detected as a UPS).
            answers[p.name] = (oid[:len(asked)] == asked and len(oid) > len(asked)
                               and value not in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))
    for p in rest:
        by_id = any(under(sys_oid, prefix) for prefix in p.detect.sys_object_id) if sys_oid else False
        if by_id or answers.get(p.name):
            chosen.append(p)
    return tuple(chosen)


async def poll_device(client: SnmpClient, target: Target, state: DeviceState, static_due: bool,
                      varbinds_per_request: int) -> Poll:
    """Read scalars then every table's columns; raises on any failure (the caller keeps the old state)."""
    profiles = state.profiles
    scalar_fields = [f for p in profiles for f in p.scalars if static_due or f.refresh == "poll"]
    if not any(f.oid_tuple == SYS_UPTIME for f in scalar_fields):
        scalar_fields.append(Field_(name="sysUpTime", oid="1.3.6.1.2.1.1.3.0", type="timeticks"))
    scalars: dict[str, Any] = {}
    varbinds = 0
    uptime: int | None = None
    absent: list[str] = []
    for start in range(0, len(scalar_fields), GET_CHUNK):
        chunk = scalar_fields[start:start + GET_CHUNK]
        got = await client.get(target, [f.oid_tuple for f in chunk])
        varbinds += len(got)
        for f, (_oid, value) in zip(chunk, got, strict=False):
            if value is NO_SUCH_OBJECT or value is NO_SUCH_INSTANCE or not isinstance(value, int | bytes | tuple):
                absent.append(f"{f.name} ({value!r})")
                continue
            try:
                scalars[f.name] = render(f, value)
            except ValueError:
                continue  # wrong type for the profile: absent, never stored as something else
            if f.oid_tuple == SYS_UPTIME and isinstance(value, int):
                uptime = value
    at = time.time()
    tables = [(p, t) for p in profiles for t in p.tables]
    columns: dict[tuple[int, ...], tuple[Table, Field_]] = {}
    for _p, table in tables:
        for col in table.columns:
            if static_due or col.refresh == "poll" or (table.name, col.name) in state.promoted:
                columns[col.oid_tuple] = (table, col)
    rows: dict[str, dict[str, dict[str, Any]]] = {t.name: {} for _p, t in tables}
    raw: dict[tuple[str, str, str], int] = {}
    read_at: dict[tuple[str, str, str], float] = {}
    if columns:
        stamps: dict[tuple[int, ...], dict[tuple[int, ...], float]] = {}
        walked = await walk_columns(client, target, list(columns), varbinds_per_request, stamps)
        at = time.time()
        texts: dict[tuple[int, ...], str] = {}  # index -> its text, once per walk, not once per column
        for col_oid, values in walked.items():
            table, col = columns[col_oid]
            varbinds += len(values)
            table_rows, name, tname = rows[table.name], col.name, table.name
            counter = col.type in COUNTERS
            as_is = col.type not in RENDERED  # render() returns an int of such a column unchanged
            arrived = stamps.get(col_oid, {})
            for index, value in values.items():
                idx = texts.get(index)
                if idx is None:
                    idx = texts[index] = index_text(index)
                if not (as_is and type(value) is int):
                    try:
                        rendered = render(col, value)
                    except ValueError:
                        continue  # a value of the wrong type is skipped, never stored as something else
                else:
                    rendered = value
                row = table_rows.get(idx)
                if row is None:
                    row = table_rows[idx] = {}
                row[name] = rendered
                if counter and isinstance(value, int):
                    key = (tname, idx, name)
                    raw[key] = value
                    read_at[key] = arrived.get(index, at)
        # a table or column whose walk ended at once (noSuchObject, endOfMibView, the next subtree): no such data
        for name, table in {t.name: t for t, _c in columns.values()}.items():
            if not rows[name]:
                if not table.empty_ok:
                    absent.append(f"{name} (no rows)")
            else:
                absent.extend(f"{c.name} (no rows)" for c_oid, (t, c) in columns.items()
                              if t.name == name and not walked.get(c_oid))
    return Poll(at, uptime, scalars, rows, raw, varbinds, read_at, absent)


def merge_static(state: DeviceState, poll: Poll, static_read: bool) -> bool:
    """Carry static columns and scalars over from the last poll; True when a row appeared that lacks them."""
    if static_read or state.last is None:
        return False
    new_rows = False
    for name, value in state.last.scalars.items():
        poll.scalars.setdefault(name, value)
    for table, rows in poll.tables.items():
        old = state.last.tables.get(table, {})
        for idx, row in rows.items():
            prev = old.get(idx)
            if prev is None:
                new_rows = True
                continue
            # row.setdefault(key, value) for each of prev's items, in C: the row's keys first, then prev's
            # others in prev's order, the row's values winning
            rows[idx] = {**row, **prev, **row}
    return new_rows


def compute_rates(state: DeviceState, poll: Poll) -> None:
    """Rates for every rate rule of every table, against the samples of the previous poll."""
    elapsed = poll.at - state.last.at if state.last else 0.0
    if state.last is not None and rebooted(state.last.uptime, poll.uptime, elapsed):
        state.samples.clear()
        state.discarded["reboot"] = state.discarded.get("reboot", 0) + 1
    samples: dict[tuple[str, str, str], Sample] = {}
    rates: dict[str, dict[str, dict[str, float]]] = {}
    for profile in state.profiles:
        for table in profile.tables:
            bits_of = {c.name: (64 if c.type == "counter64" else 32) for c in table.columns}
            present = {c for (t, _i, c) in poll.raw_counters if t == table.name}
            for rule in table.rates:
                source = rule.counter if rule.counter in present else rule.fallback
                if rule.fallback and rule.counter not in present and poll.tables.get(table.name):
                    state.promoted.add((table.name, rule.fallback))
                if source is None:
                    continue
                # per rule, not per row (a 48-port switch: 6 rules x 48 rows a poll, issue 25)
                name, metric, scale, bits = table.name, rule.metric, rule.scale, bits_of[source]
                tag = f"{metric}/{source}"  # a switch of source starts afresh
                ceiling_col = rule.ceiling.column if rule.ceiling is not None else None
                ceiling_scale = rule.ceiling.scale if rule.ceiling is not None else 0.0
                raw, read_at, old, uptime, poll_at = (poll.raw_counters, poll.read_at, state.samples, poll.uptime,
                                                      poll.at)
                new_sample = tuple.__new__  # Sample(value, at, uptime) without NamedTuple's Python-level __new__
                out: dict[str, dict[str, float]] | None = None
                for idx, row in poll.tables.get(name, {}).items():
                    where = (name, idx, source)
                    value = raw.get(where)
                    if value is None:
                        continue
                    key = (name, idx, tag)
                    at = read_at.get(where, poll_at)
                    cur = samples[key] = new_sample(Sample, (value, at, uptime))
                    prev = old.get(key)
                    if prev is None:
                        continue
                    elapsed = at - prev.at
                    if (elapsed > 0 and value >= prev.value
                            and (uptime is None or prev.uptime is None or uptime >= prev.uptime)):
                        rate = (value - prev.value) / elapsed  # counter_rate's plain delta, without the call
                    else:
                        ceiling = None
                        if ceiling_col is not None:
                            speed = row.get(ceiling_col)
                            if isinstance(speed, int) and speed > 0:
                                ceiling = speed * ceiling_scale / scale
                        rate, why = counter_rate(prev, cur, bits, ceiling)
                        if rate is None:
                            state.discarded[why] = state.discarded.get(why, 0) + 1
                            continue
                    if out is None:
                        out = rates.setdefault(name, {})
                    per_row = out.get(idx)
                    if per_row is None:
                        per_row = out[idx] = {}
                    per_row[metric] = rate * scale
    state.samples = samples
    state.rates = rates


def evaluate_faults(profiles: tuple[Profile, ...], poll: Poll) -> list[tuple[str, str, str]]:
    """(component, problem en, problem zh) for every fault condition that holds now, one per component.

    A fault seen through several MIB tables (a paper jam in hrPrinterDetectedErrorState and in prtAlertTable; a
    UPS on battery in HUAWEI-UPS-MIB and in RFC 1628's alarm table) names one component, so it is one observation
    with both problems, and one incident (the incident engine keys hardware faults by asset and component): the
    profiles say which (`device_index`, `same_fault`)."""
    out: list[tuple[str, str, str]] = []

    def hit(fault: Fault, values: dict[str, Any]) -> None:
        value = values.get(fault.column)
        if value is None or (fault.unless is not None and values.get(fault.unless.column) in fault.unless.values):
            return
        if any(name and name not in values for _t, name, _s, _c in Formatter().parse(fault.component)):
            # A row that appeared since the last static read lacks its name (entPhysicalName, hrDeviceDescr):
            # the next poll reads it, and judges the row then; a fault named "?" would be a part of its own.
            return
        if fault.present:
            ok = True
        elif fault.equals is not None:
            ok = isinstance(value, int) and value in fault.equals
        else:
            octets = bytes.fromhex(value.replace(":", "")) if isinstance(value, str) else b""
            ok = any(b // 8 < len(octets) and octets[b // 8] & (0x80 >> (b % 8)) for b in fault.bits or ())
        if ok:
            fmt = _Fmt(values)
            out.append((fault.component.format_map(fmt)[:100], fault.problem.en.format_map(fmt)[:500],
                        fault.problem.zh.format_map(fmt)[:500]))

    for profile in profiles:
        for fault in profile.scalar_faults:
            hit(fault, poll.scalars)
        for table in profile.tables:
            for idx, row in poll.tables.get(table.name, {}).items():
                for fault in table.faults:
                    before = len(out)
                    hit(fault, row)
                    if len(out) == before:
                        continue
                    comp, en, zh = out[-1]
                    same, index = fault.same_fault, fault.device_index
                    shared = same.components.get(str(row.get(same.column))) if same else None
                    if same is not None and shared is not None:  # the component another table names for it
                        comp, index = shared, same.device_index
                    elif "{" in fault.component:  # named by the row's own columns
                        continue
                    part = idx if index is None else ".".join(idx.split(".")[:index])
                    out[-1] = (f"{comp} {part}" if part else comp, en, zh)  # one observation per row or device
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for comp, en, zh in out:
        ens, zhs = merged.setdefault(comp, ([], []))
        if en not in ens:
            ens.append(en)
            zhs.append(zh)
    return [(comp, "; ".join(ens)[:500], "；".join(zhs)[:500]) for comp, (ens, zhs) in merged.items()]


class _Fmt(dict):
    def __missing__(self, key: str) -> str:
        return "?"
