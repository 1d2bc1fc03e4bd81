"""Two simulated HJ 212 data acquisition units for `make run`'s demo (loopback only).

They connect to the collector's HJ 212 receiver as real units do, send the last two days of hourly data
(what a unit answers to a history request) and then minute data every `--every` seconds and each hour's
value when it ends. The story they tell (docs/hj212.md, "The demo"):

- 某污水处理有限公司 (demo-dau-ww, point ww1: COD w01018, NH3-N w21003): every hour sent, but six hours
  marked M (maintenance) and three marked D (instrument fault): sent, not effective;
- 某热电有限公司 (demo-dau-gas, points gas1 and gas2: SO2 a21026, NOx a21002, dust a34013): gas1 sends
  everything; gas2 fell silent ten hours ago and stays silent.

Over the 48 hours sent: 应传 48 x 8 = 384, 实传 384 - 10 x 3 = 354, 有效 354 - (6 + 3) x 2 = 336, so the
effective transmission rate is 336/384 = 87.5 %, under the 90 % target, and `opsmon hj212 rates --by point`
shows why. It is a demo peer, not a general simulator: the tests drive the receiver with real frames.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from opsmon.collector.inputs.hj212.answers import qn, wrap

HISTORY_HOURS = 48
MAINTENANCE_HOURS = range(18, 24)  # of the history: flagged M
FAULT_HOURS = range(36, 39)  # flagged D
SILENT_FROM = 38  # gas2 sends nothing from this history hour on (the last ten)

# factor -> (low, high) of the demo's values, in the units the permits write (mg/L, mg/m3)
LEVELS = {"w01018": (18.0, 32.0), "w21003": (0.8, 2.4), "a21026": (25.0, 60.0), "a21002": (70.0, 120.0),
          "a34013": (4.0, 9.0)}


@dataclass(frozen=True)
class Point:
    point: str
    mn: str
    st: str  # 32: wastewater, 31: flue gas
    factors: tuple[str, ...]


@dataclass(frozen=True)
class DemoUnit:
    asset: str
    password: str
    points: tuple[Point, ...]


UNITS = (
    DemoUnit("demo-dau-ww", "123456", (Point("ww1", "DEMOWW000000001", "32", ("w01018", "w21003")),)),
    DemoUnit("demo-dau-gas", "654321", (Point("gas1", "DEMOGAS00000001", "31", ("a21026", "a21002", "a34013")),
                                        Point("gas2", "DEMOGAS00000002", "31", ("a21026", "a21002", "a34013")))),
)


def value(factor: str, k: int) -> float:
    """A plausible, repeatable value for the k-th interval (no randomness: a rerun sends the same data)."""
    low, high = LEVELS[factor]
    return round(low + (high - low) * ((k * 7919 + len(factor) * 104729) % 1000) / 1000, 2)


def flag_of(point: Point, history_hour: int | None) -> str | None:
    """The flag of a history hour (None: not sent); live data (history_hour None) is N, gas2 stays silent."""
    if point.point == "gas2" and (history_hour is None or history_hour >= SILENT_FROM):
        return None
    if point.point == "ww1" and history_hour is not None:
        if history_hour in MAINTENANCE_HOURS:
            return "M"
        if history_hour in FAULT_HOURS:
            return "D"
    return "N"


def frame(unit: DemoUnit, point: Point, cn: str, data_time: datetime, flag: str, sent: datetime, k: int) -> bytes:
    """One upload (2061 hourly or 2051 minute data) of a point's factors, answer wanted (Flag=5)."""
    cp = ";".join(f"{f}-Min={value(f, k) * 0.9:.2f},{f}-Avg={value(f, k):.2f},{f}-Max={value(f, k) * 1.1:.2f},"
                  f"{f}-Flag={flag}" for f in point.factors)
    return wrap(f"QN={qn(sent)};ST={point.st};CN={cn};PW={unit.password};MN={point.mn};Flag=5;"
                f"CP=&&DataTime={data_time.strftime('%Y%m%d%H%M%S')};{cp}&&")


def history(unit: DemoUnit, now: datetime) -> list[bytes]:
    """The last HISTORY_HOURS complete hours of hourly data (CN 2061), oldest first."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HISTORY_HOURS)
    out = []
    for h in range(HISTORY_HOURS):
        for point in unit.points:
            flag = flag_of(point, h)
            if flag is not None:
                out.append(frame(unit, point, "2061", first + timedelta(hours=h), flag, now, h))
    return out


async def drain(reader: asyncio.StreamReader) -> None:
    """Read the collector's answers (9014) and throw them away: the demo does not resend."""
    while await reader.read(4096):
        pass


async def run_unit(unit: DemoUnit, host: str, port: int, every: float, zone: ZoneInfo, stop: asyncio.Event) -> None:
    """Connect (again, after any loss), send the history, then live data until stopped."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)  # the collector is not listening yet
            continue
        answers = asyncio.create_task(drain(reader))
        try:
            for data in history(unit, datetime.now(zone)):
                writer.write(data)
                await writer.drain()
            hour = datetime.now(zone).replace(minute=0, second=0, microsecond=0)
            k = 0
            while not stop.is_set() and not answers.done():
                now = datetime.now(zone)
                for point in unit.points:
                    if flag_of(point, None) is not None:
                        minute = now.replace(second=0, microsecond=0)
                        writer.write(frame(unit, point, "2051", minute, "N", now, k))
                        if now.replace(minute=0, second=0, microsecond=0) > hour:  # an hour ended: its value
                            writer.write(frame(unit, point, "2061", hour, "N", now, k))
                hour = max(hour, now.replace(minute=0, second=0, microsecond=0))
                await writer.drain()
                k += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
        except OSError:
            pass
        finally:
            answers.cancel()
            writer.close()


async def simulate(host: str, port: int, every: float, timezone: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    zone = ZoneInfo(timezone)
    await asyncio.gather(*(run_unit(u, host, port, every, zone, stop) for u in UNITS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="two simulated HJ 212 units for the opsmon demo (loopback only)")
    parser.add_argument("--host", default="127.0.0.1", help="the collector's HJ 212 receiver")
    parser.add_argument("--port", type=int, default=9212)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between minute-data uploads")
    parser.add_argument("--timezone", default="Asia/Shanghai", help="the units' clock (DataTime)")
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the simulated units send to loopback (127.0.0.0/8) only")
    asyncio.run(simulate(args.host, args.port, args.every, args.timezone))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
