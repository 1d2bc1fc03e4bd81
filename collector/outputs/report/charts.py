"""Charts drawn with matplotlib (Agg, no display) as PNG bytes, with Chinese labels.

PNG rather than SVG: matplotlib's SVG turns CJK text into paths (large) or needs the font in the
viewer; a PNG is the same everywhere and WeasyPrint embeds it as is. Output is deterministic for
equal inputs (no timestamp in the metadata), so the HTML is byte-identical when regenerated.
"""
from __future__ import annotations

import io
import logging
import warnings
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Noto Sans CJK JP", "Microsoft YaHei", "SimHei", "PingFang SC")


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def cjk_font() -> str | None:
    """The first CJK font matplotlib can use; registers Debian's fonts-noto-cjk if its cache predates them.

    None (with a warning) when there is none: charts are still drawn, Chinese labels show as boxes.
    """
    from matplotlib import font_manager

    def known() -> set[str]:
        return {f.name for f in font_manager.fontManager.ttflist}

    names = known()
    if not any(n in names for n in CJK_FONTS):
        # Fonts installed after matplotlib built its cache are not in it: add them by file.
        for path in font_manager.findSystemFonts():
            if "cjk" in path.lower() or "wqy" in path.lower() or "sourcehan" in path.lower():
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = known()
    for name in CJK_FONTS:
        if name in names:
            return name
    msg = ("no CJK font for matplotlib (install Debian's fonts-noto-cjk): Chinese chart labels will not render")
    warnings.warn(msg, RuntimeWarning, stacklevel=2)
    log.warning(msg)
    return None


def _rc() -> dict[str, Any]:
    """Agg backend and the CJK font, applied while a chart is built and saved."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    rc: dict[str, Any] = {"font.size": 8, "axes.unicode_minus": False}
    font = cjk_font()
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    return rc


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # not pyplot: no global state, safe in a scheduler thread

    fig = Figure(figsize=(width, height), dpi=110)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _ylim(values: list[float], threshold: float) -> tuple[float, float]:
    low = min([*values, threshold * 100]) if values else threshold * 100
    return max(0.0, low - max(1.0, (100 - low) * 0.25)), 100.0 + 0.2


def trend_chart(labels: list[str], values: list[float | None], threshold: float, title: str,
                threshold_label: str) -> bytes:
    """Availability per month (or day) as bars, the threshold as a dashed line; a missing month is a gap."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax = _figure(6.4, 1.9)
        shown = [v * 100 if v is not None else 0.0 for v in values]
        ax.bar(range(len(labels)), shown, color=["#2f6f9f" if v is not None else "#cccccc" for v in values],
               width=0.6)
        ax.axhline(threshold * 100, color="#c0392b", linestyle="--", linewidth=1, label=threshold_label)
        ax.set_xticks(range(len(labels)), labels, rotation=0 if len(labels) <= 12 else 90)
        ax.set_ylim(*_ylim([v * 100 for v in values if v is not None], threshold))
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(axis="y", linewidth=0.3)
        return _png(fig)


def sites_chart(sites: list[str], values: list[float | None], threshold: float, title: str,
                threshold_label: str) -> bytes:
    """Connectivity per site, worst at the top, so the prefecture that needs attention is seen first."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig, ax = _figure(6.4, max(1.6, 0.28 * len(sites) + 0.8))
        pos = list(range(len(sites)))[::-1]
        ax.barh(pos, [v * 100 if v is not None else 0.0 for v in values],
                color=["#2f6f9f" if v is not None and v >= threshold else "#c0392b" for v in values], height=0.6)
        ax.axvline(threshold * 100, color="#c0392b", linestyle="--", linewidth=1, label=threshold_label)
        ax.set_yticks(pos, sites)
        lo, hi = _ylim([v * 100 for v in values if v is not None], threshold)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("%")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(axis="x", linewidth=0.3)
        return _png(fig)
