"""Writing the rendered report to files, each with its SHA-256 (stored and listed by the delivery side)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.outputs.report.model import ReportData

FORMATS = ("pdf", "html", "xlsx", "json")
DEFAULT_FORMATS = ("pdf", "html", "xlsx")


def parse_formats(text: str) -> tuple[str, ...]:
    """'pdf,html' -> ('pdf', 'html'); InvalidInput naming the accepted formats otherwise."""
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise InvalidInput(f"--format {text!r}: give one or more of {', '.join(FORMATS)}, comma-separated")
    return wanted


def file_stem(data: ReportData) -> str:
    """opsmon-sla-2026Q3-zh: stable, so regenerating a period replaces its files."""
    label = re.sub(r"[^0-9A-Za-z_-]+", "_", data.period.label).strip("_")
    return f"opsmon-sla-{label}-{data.lang}"


def render(data: ReportData, fmt: str, html: str | None = None) -> bytes:
    """One format's bytes. `html` (already rendered) is reused for the PDF."""
    if fmt == "html":
        from opsmon.collector.outputs.report.html import render_html

        return (html if html is not None else render_html(data)).encode("utf-8")
    if fmt == "pdf":
        from opsmon.collector.outputs.report.pdf import render_pdf

        return render_pdf(data, html)
    if fmt == "xlsx":
        from opsmon.collector.outputs.report.xlsx import render_xlsx

        return render_xlsx(data)
    if fmt == "json":
        return (json.dumps(data.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    raise InvalidInput(f"unknown report format {fmt!r}")


def write_report(data: ReportData, formats: Iterable[str], out_dir: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Render each format into out_dir (created if needed); return [(path, sha256 hex)] in the order asked.

    Each file is written to a temporary name and renamed, so a reader (the API listing, a mail job)
    never sees half a report.
    """
    formats = tuple(formats)
    for f in formats:
        if f not in FORMATS:
            raise InvalidInput(f"unknown report format {f!r}: use {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html: str | None = None
    if "html" in formats or "pdf" in formats:
        from opsmon.collector.outputs.report.html import render_html

        html = render_html(data)
    written = []
    for f in formats:
        body = render(data, f, html)
        path = out / f"{file_stem(data)}.{f}"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append((path, hashlib.sha256(body).hexdigest()))
    return written
