"""Strict YAML reading shared by every opsmon data file.

PyYAML silently keeps the last of two equal keys, which hides typos in a
hand-edited inventory. This reader rejects duplicates and remembers the line of
every key, so validation errors can point at the line to fix.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from opsmon.collector.core.errors import ConfigError, problems_error

KeyPath = tuple[Any, ...]


class YamlDoc:
    """A parsed YAML document plus the line number of each key path."""

    def __init__(self, file: str, data: Any, lines: dict[KeyPath, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines

    def where(self, path: KeyPath) -> str:
        """'file:line' for the deepest known prefix of path."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line:
                return f"{self.file}:{line}"
        return self.file

    def validate(self, model: type[BaseModel], context: dict[str, Any] | None = None) -> Any:
        """Validate into model; its errors become a ConfigError (ConfigProblems if several) naming key and line."""
        try:
            return model.model_validate(self.data, context=context)
        except ValidationError as exc:
            raise validation_to_config_error(exc, self) from None


def keypath_text(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_to_config_error(exc: ValidationError, doc: YamlDoc, prefix: KeyPath = ()) -> ConfigError:
    """Every error pydantic found in the document, each naming its line and key: one ConfigError, or several
    behind a count (ConfigProblems), so a file with three mistakes is fixed in one pass, not three."""
    return problems_error(config_errors(exc, doc, prefix), doc.file)


def config_errors(exc: ValidationError, doc: YamlDoc, prefix: KeyPath = ()) -> list[ConfigError]:
    """Every problem of a validation, each naming file:line, key path and reason (for a reload that reports all)."""
    out = []
    for error in exc.errors():
        loc = prefix + _data_path(doc.data, error["loc"])
        out.append(ConfigError(doc.where(loc), keypath_text(loc) or "(top level)", _reason(error, loc)))
    return out


def _data_path(data: Any, loc: tuple[Any, ...]) -> KeyPath:
    """Drop pydantic's union tags (e.g. the check type) that are not keys in the file."""
    out: list[Any] = []
    for part in loc:
        if isinstance(data, dict) and part not in data and part == data.get("type"):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(out)


# Keys whose value is a secret (SNMP communities and keys, SSH passwords and passphrases, tokens): an error about
# them must not quote the value, since config errors reach stderr and the journal.
_SECRET_KEYS = ("community", "auth_key", "priv_key", "password", "passphrase", "secret", "token")
_CREDENTIAL_MAPS = ("credentials", "snmp_credentials", "ssh_credentials")


def _secret_at(loc: KeyPath) -> bool:
    """Whether the value at `loc` is, or may be, a secret: a secret key, or a whole credentials entry written as a
    scalar (`c1: s3cr3t` where a mapping was due, a slip that puts the community where its entry's name goes)."""
    keys = [part.lower() for part in loc if isinstance(part, str)]
    if not keys:
        return False
    if len(keys) >= 2 and keys[-2] in _CREDENTIAL_MAPS:
        return True
    return any(word in keys[-1] for word in _SECRET_KEYS)


def _reason(error: dict[str, Any], loc: KeyPath = ()) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = error["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead):]
    if ("input" in error and kind not in ("value_error",) and not isinstance(error["input"], (dict, list))
            and not _secret_at(loc)):
        msg += f" (got {error['input']!r})"
    return msg


def read_yaml(path: str | Path) -> YamlDoc:
    """Parse one YAML file strictly: syntax errors and duplicate keys raise ConfigError."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "", f"cannot read: {exc}") from None
    # libyaml's parser where installed (twice as fast on large inventories); same nodes and marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    lines: dict[KeyPath, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(file, None, lines)

        def build(n: yaml.Node, path: KeyPath) -> Any:
            if isinstance(n, yaml.MappingNode):
                loader.flatten_mapping(n)
                out: dict[Any, Any] = {}
                for key_node, value_node in n.value:
                    key = loader.construct_object(key_node, deep=True)
                    line = key_node.start_mark.line + 1
                    if not isinstance(key, (str, int, float, bool)) or key is None:
                        raise ConfigError(f"{file}:{line}", keypath_text(path), "mapping keys must be plain scalars")
                    if key in out:
                        raise ConfigError(f"{file}:{line}", keypath_text(path + (key,)),
                                          f"duplicate key (first at line {lines[path + (key,)]})")
                    lines[path + (key,)] = line
                    out[key] = build(value_node, path + (key,))
                return out
            if isinstance(n, yaml.SequenceNode):
                items = []
                for i, item in enumerate(n.value):
                    lines[path + (i,)] = item.start_mark.line + 1
                    items.append(build(item, path + (i,)))
                return items
            try:
                return loader.construct_object(n, deep=True)
            except ValueError:
                # A scalar that looks like a timestamp but is none (2027-13-01) stays its text, so the
                # model refusing it names its file, line and key instead of a crash.
                return n.value

        data = build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise ConfigError(where, "", f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return YamlDoc(file, data, lines)
