"""Render docs/config.md from the schema, so the reference cannot drift from validation.

    python -m opsmon.collector.config.docs > docs/config.md
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
between them).

| key | type | default | meaning |
|---|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    if annotation == "duration":
        return "duration"
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


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        annotation = field.annotation
        inner = typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, key + "."))
            continue
        if inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            rows.append(f"| `{key}` | list | `[]` | see below |")
            continue
        if any(getattr(m, "func", None) in (_duration, _positive_duration) for m in field.metadata):
            annotation = "duration"
        default = field.default
        if default is PydanticUndefined:
            shown = "required"
        elif annotation == "duration" and isinstance(default, (int, float)):
            shown = f"`{format_duration(default)}`"
        else:
            shown = f"`{default!r}`".replace("|", "\\|")
        meaning = (field.description or "").replace("|", "\\|")
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


if __name__ == "__main__":
    print(render(), end="")
