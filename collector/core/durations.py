"""Human durations ("90s", "5m", "1h30m", "7d") used across config files, and as people read them.

The grammar is opsmon.agent.durations' (agent.toml reads durations with it too, and the agent may
not import the collector), re-exported here so collector code keeps one import path.
"""
from opsmon.agent.durations import UNITS, format_duration, parse_duration

__all__ = ["UNITS", "format_duration", "parse_duration", "say_duration"]

# Chinese units for a Chinese text: 3天19小时58分 (issue 21 item 6); English texts keep the compact grammar.
_ZH_UNITS = (("天", 86400), ("小时", 3600), ("分", 60), ("秒", 1))


def say_duration(seconds: float, lang: str, to_minute: bool = False) -> str:
    """A duration in a text of language `lang`: 3天19小时58分 in Chinese, 3d19h58m in English.

    The one place a duration is worded for a person (CLI, reports, notices); config files and their docs keep
    format_duration. `to_minute`: whole minutes once there is one (a notice's "25分 left"), seconds under that.
    """
    if to_minute and seconds >= 60:
        seconds = seconds // 60 * 60
    if lang != "zh":
        return format_duration(seconds)
    left = int(round(seconds))
    if left == 0:
        return "0秒"
    out = []
    for unit, size in _ZH_UNITS:
        if left >= size:
            out.append(f"{left // size}{unit}")
            left %= size
    return "".join(out)
