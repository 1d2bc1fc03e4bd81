"""The config file's maintenance windows checked against the inventory.

A site or a tag exists while an asset carries it (there is no separate list of sites or tags). The rule,
the same for `opsmon check-config` and at start (`opsmon serve`):

- a name no asset has ever carried (live or removed; in the inventory files or the database) is an error:
  it is a typo, and a window that silently covers nothing lets the pages out during the work;
- a name only removed assets carry is a warning: removing the last asset of a site (API or CLI) must not
  stop the collector from starting over a window that now covers nothing.

While the collector runs, the inventory can change under the windows (API, CLI, file import); a window
left naming what no live asset carries is a warning at that reload (`Service._reload`), never a stop.
"""
from __future__ import annotations

from collections.abc import Iterable

from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.config.yamlfile import read_yaml
from opsmon.collector.core.errors import ConfigError, ConfigProblems
from opsmon.collector.core.maintenance import UNKNOWN, Names, WindowSpec


def check_window_names(config: CollectorConfig, ever: Names, live: Names) -> list[str]:
    """Raise ConfigProblems naming file, line, key and name of every name `ever` lacks (all at once);
    return a warning per name only removed assets carry (in `ever`, not in `live`)."""
    problems: list[ConfigError] = []
    warnings: list[str] = []
    doc = None
    for i, spec in enumerate(config.maintenance):
        for field, j, name in ever.unknown(spec):
            if doc is None:
                doc = read_yaml(config.source_file) if config.source_file else None
            where = doc.where(("maintenance", i, field, j)) if doc is not None else config.source_file
            problems.append(ConfigError(where, f"maintenance[{i}].{field}[{j}]", UNKNOWN[field].format(name)))
        for field, j, name in live.unknown(spec):
            if name in getattr(ever, field):
                warnings.append(f"maintenance[{i}].{field}[{j}] of window {spec.id!r}: {name!r} is on no live asset "
                                "(only on removed ones); the window covers nothing there")
    if problems:
        many = len(problems)
        raise ConfigProblems(f"{many} maintenance window name{'s are' if many > 1 else ' is'} unknown", problems)
    return warnings


def stale_window_names(specs: Iterable[WindowSpec], live: Names) -> list[str]:
    """At an inventory reload: what windows name that no live asset carries (logged as a warning)."""
    return [f"{spec.id}: {UNKNOWN[field].format(name)}" for spec in specs for field, _j, name in live.unknown(spec)]
