"""Which unit a frame comes from: the inventory's DAUs by MN, with their passwords and CRC policies.

A DAU is an asset of category `dau` with an `hj212` check (config/checks.py `Hj212Spec`); each of its
monitoring points sends under its own MN (the DAU's by default). The receiver looks every frame up here by
its MN: an MN that is no configured point's is counted (`unknown_mn`) and nothing of it is stored.

Rebuilt when the service reloads the inventory (it hands over a new mapping), so a DAU added with
`opsmon assets import` is received without a restart.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Unit:
    """One MN the receiver accepts: the DAU asset, its pseudo-check, the point it stands for."""

    asset_id: str
    check_id: str
    mn: str
    point: str
    credential: str
    crc: str  # strict or accept_modbus_le
    stale_after: float  # seconds of silence before the DAU is down
    relay: tuple[str, ...] = ()  # upstream platforms its accepted frames are forwarded to (relay.py)
    factors: tuple[str, ...] = ()  # the point's assessed factors: the history pull asks for their missing hours


class Units:
    """MN -> Unit, from the live inventory (`specs()`: asset specs by id, a new mapping at each reload)."""

    def __init__(self, specs: Callable[[], Mapping[str, Any]], passwords: Mapping[str, str],
                 stale_after: float = 3600.0) -> None:
        self.specs = specs
        self.stale_after = stale_after
        self.passwords = dict(passwords)
        self._seen: Mapping[str, Any] | None = None
        self._by_mn: dict[str, Unit] = {}

    def refresh(self) -> bool:
        """Rebuild the index if the inventory changed since the last call; True when it did."""
        current = self.specs()
        if current is self._seen:
            return False
        by_mn: dict[str, Unit] = {}
        for asset_id, spec in current.items():
            for check in getattr(spec, "checks", ()):
                if getattr(check, "type", None) != "hj212":
                    continue
                for mn, point in check.point_mns().items():
                    spec = check.points.get(point)
                    by_mn.setdefault(mn, Unit(asset_id, check.check_id, mn, point, check.credential, check.crc,
                                              check.stale_after or self.stale_after, tuple(check.relay),
                                              tuple(spec.factors) if spec is not None else ()))
        self._by_mn = by_mn
        self._seen = current
        return True

    def get(self, mn: str | None) -> Unit | None:
        return self._by_mn.get(mn) if mn is not None else None

    def __iter__(self) -> Any:
        return iter(self._by_mn.values())

    def __len__(self) -> int:
        return len(self._by_mn)

    def password(self, unit: Unit) -> str | None:
        """The unit's password (the PW of what the platform sends it), or None if its credential is not defined."""
        return self.passwords.get(unit.credential)

    def password_ok(self, unit: Unit, pw: str | None) -> bool | None:
        """Whether `pw` is the unit's password (compared in constant time); None: its credential is not defined."""
        expected = self.passwords.get(unit.credential)
        if expected is None:
            return None
        return pw is not None and hmac.compare_digest(pw.encode("utf-8"), expected.encode("utf-8"))
