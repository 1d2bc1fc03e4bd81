"""Render docs/config.md and docs/inventory.md from their models, so the references cannot drift from validation.

    python -m opsmon.collector.config.docs > docs/config.md
    python -m opsmon.collector.config.docs inventory > docs/inventory.md
"""
from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.core.durations import format_duration
from opsmon.collector.core.fields import _duration, _positive_duration

INTRO = """# collector.yaml reference

Generated from `collector/config/schema.py` by `python -m opsmon.collector.config.docs`; a test fails
when this file and the schema disagree. Durations are written like `30s`, `5m`, `1h30m`, `7d`.
Relative paths are taken from the folder of the config file; `~` is expanded.
Unknown keys are errors, so a typo never goes unnoticed. `opsmon check-config` (and `opsmon serve`,
which refuses a bad configuration) lists every problem of every file at once, one a line:
`file:line: key: reason` (collector.yaml, the files it names, the inventory files, the references
between them). Secrets (`*_env`, `*_file`) are read only by the commands that use them (`serve`,
`check-config`, which name a variable that is not set): `status`, `sla`, `report` and the other read-only
commands run without them. The inventory files' format is in docs/inventory.md.

| key | type | default | meaning |
|---|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):  # "duration", "duration (optional)"
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return "timestamp" if args[0] is datetime else _type_name(args[0])
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if typing.get_origin(annotation) is tuple:
        return f"list of {_type_name(args[0])}"
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return _type_name(rest[0]) + " (optional)"
    text = getattr(annotation, "__name__", None) or str(annotation)
    text = str(annotation) if text.startswith("Annotated") else text
    for noise in ("typing.", "opsmon.collector.core.maintenance.", "opsmon.collector.config.schema.",
                  "<class '", "'>"):
        text = text.replace(noise, "")
    if "Annotated[float" in text:
        return "duration"
    return text.replace("NoneType", "null")


def _escape(text: str | None) -> str:
    return (text or "").replace("|", "\\|")


def _rows(model: type[BaseModel], prefix: str, below: tuple[str, ...] = ()) -> list[str]:
    """One table row per field (nested models flattened with dotted keys); the fields in `below` say "see below"."""
    rows = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        if name in below:
            rows.append(f"| `{prefix}{name}` | list | `[]` | {_escape(field.description)} |")
            continue
        key = f"{prefix}{name}"
        annotation = field.annotation
        inner = typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, key + "."))
            continue
        if inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            optional = type(None) in inner  # `number: NumberRule | None`, not a list
            rows.append(f"| `{key}` | {'mapping (optional)' if optional else 'list'} | `{None if optional else []}` | "
                        f"{_escape(field.description) if optional else 'see below'} |")
            continue
        optional = type(None) in inner
        metadata = [*field.metadata, *(m for a in inner for m in getattr(a, "__metadata__", ()) if optional)]
        if any(getattr(m, "func", None) in (_duration, _positive_duration) for m in metadata):
            annotation = "duration (optional)" if optional else "duration"
        default = field.default
        if field.default_factory is not None:
            shown = f"`{field.default_factory()!r}`"  # type: ignore[call-arg]
        elif default is PydanticUndefined:
            shown = "required"
        elif str(annotation).startswith("duration") and isinstance(default, (int, float)):
            shown = f"`{format_duration(default)}`"
        else:
            shown = f"`{default!r}`".replace("|", "\\|")
        meaning = _escape(field.description)
        rows.append(f"| `{key}` | {_type_name(annotation).replace('|', 'or')} | {shown} | {meaning} |")
    return rows


def render() -> str:
    from opsmon.collector.core.maintenance import WindowSpec

    out = INTRO + "\n".join(_rows(CollectorConfig, "")) + "\n"
    out += "\n## maintenance[] (each window)\n\n" + WindowSpec.__doc__.strip().replace("\n    ", "\n") + "\n\n"
    out += "| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(_rows(WindowSpec, "")) + "\n"
    out += ("\nIn `cron`, write days of the week as names (`sun`, `mon-fri`): numbers mean different days "
            "in different cron dialects, so opsmon refuses them.\n")
    return out


INVENTORY_INTRO = """# Inventory file reference

Generated from the inventory's models (`collector/config/inventory.py`, `collector/config/checks.py`) by
`python -m opsmon.collector.config.docs inventory`; a test fails when this file and the models disagree.

An inventory file is YAML with one key, `assets:`, a list of assets; collector.yaml names the files under
`inventory.files` and `opsmon serve` imports them at start (or `opsmon assets import FILE`). Unknown keys
are errors. `opsmon check-config` checks the files and the references between them (credentials, profiles,
parents, uplink devices) and names file, line, key and reason; `opsmon check-config --probe` then tries
each check once against its real target and prints, per asset and check, `ok` or the reason.

```yaml
assets:
  - {id: core-sw, name: 核心交换机, category: network, address: 10.0.0.1,
     checks: [{type: snmp, credential: v2}]}
  - {id: wan-kashgar, name: 喀什专线, category: link, parent: core-sw,
     checks: [{type: snmp_interface, device: core-sw, interface: GigabitEthernet0/0/1}]}
  - {id: portal, category: system, address: portal.example.org,
     checks: [{type: http, url: "https://portal.example.org/"}, {type: tcp, port: 443}]}
  - {id: pc-fin-07, name: 财务科7号机, category: computer, address: 10.0.20.57, parent: core-sw,
     checks: [{type: presence, mac: "001a.2b3c.4d5e", switches: [core-sw]}]}
```

## assets[] (each asset)

| key | type | default | meaning |
|---|---|---|---|
"""
TABLE = "| key | type | default | meaning |\n|---|---|---|---|\n"


def _doc(model: type[BaseModel]) -> str:
    return (model.__doc__ or "").strip().replace("\n    ", "\n")


def render_inventory() -> str:
    from opsmon.collector.config import checks
    from opsmon.collector.config.inventory import AssetSpec

    out = INVENTORY_INTRO + "\n".join(_rows(AssetSpec, "", below=("checks",))) + "\n"
    out += ("\n## checks[] (each check)\n\nEvery check takes these keys; its `type` chooses the others, below.\n\n"
            + TABLE + "\n".join(_rows(checks.CheckSpecBase, "")) + "\n")
    base = checks.CheckSpecBase.model_fields
    for spec in typing.get_args(typing.get_args(checks.CheckSpec)[0]):
        kind = typing.get_args(spec.model_fields["type"].annotation)[0]
        # Its own keys, and the common ones it gives another default or meaning (e.g. snmp's timeout).
        own = [name for name, f in spec.model_fields.items() if name != "type" and (
            name not in base or (f.default, f.description) != (base[name].default, base[name].description))]
        rows = [r for r in _rows(spec, "") if r.split("`")[1] in own]
        out += f"\n### type: {kind}\n\n{_doc(spec)}\n\n" + TABLE + "\n".join(rows) + "\n"
    for part, where in ((checks.NumberRule, "ssh: number"), (checks.PointSpec, "hj212: points.<id>"),
                        (checks.FactorSpec, "hj212: points.<id>.factors.<code>")):
        out += f"\n### {where}\n\n{_doc(part)}\n\n" + TABLE + "\n".join(_rows(part, "")) + "\n"
    return out


if __name__ == "__main__":
    import sys

    print(render_inventory() if sys.argv[1:] == ["inventory"] else render(), end="")
