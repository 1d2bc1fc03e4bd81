"""ReadBasics and collector.yaml's maintenance windows, for `opsmon maintenance list` (issue 25 item 2).

Apart from basics.py because building WindowSpec (core/maintenance.py) costs ~10 ms of a command's start
(python -X importtime), which `status`, `incidents list` and the other reads need not pay. Validated as the whole
schema validates them, so a bad window is refused in the same words (file, line, key and reason).
"""
from __future__ import annotations

from pydantic import Field, model_validator

from opsmon.collector.config.basics import WINDOWS, ReadBasics
from opsmon.collector.core.maintenance import WindowSpec, check_unique_ids


class WindowsBasics(ReadBasics):
    """ReadBasics and the file's maintenance windows (WindowSpec each; ids unique)."""

    maintenance: tuple[WindowSpec, ...] = Field((), description=WINDOWS)

    @model_validator(mode="after")
    def _unique_windows(self) -> WindowsBasics:
        check_unique_ids(self.maintenance)
        return self
