"""Writing the rendered report to files, each with its SHA-256 (stored and listed by the delivery side)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.outputs.report.model import ReportData

if TYPE_CHECKING:
    from opsmon.collector.outputs.report.hj212_model import Hj212ReportData

    AnyReport = ReportData | Hj212ReportData

FORMATS = ("pdf", "html", "xlsx", "docx", "json")
DEFAULT_FORMATS = ("pdf", "html", "xlsx")


def parse_formats(text: str) -> tuple[str, ...]:
    """'pdf,html' -> ('pdf', 'html'); InvalidInput naming the accepted formats otherwise."""
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise InvalidInput(f"--format {text!r}: give one or more of {', '.join(FORMATS)}, comma-separated")
    return wanted


def _kind(data: AnyReport) -> str:
    """sla (the compliance report) or hj212 (the semi-monthly statistical analysis report)."""
    return getattr(data, "kind", "sla")


def file_stem(data: AnyReport) -> str:
    """opsmon-sla-2026Q3-zh, opsmon-hj212-2026-11-H1-zh: stable, so regenerating a period replaces its files."""
    label = re.sub(r"[^0-9A-Za-z_-]+", "_", data.period.label).strip("_")
    return f"opsmon-{_kind(data)}-{label}-{data.lang}"


def _html(data: AnyReport) -> str:
    if _kind(data) == "hj212":
        from opsmon.collector.outputs.report.hj212_html import render_hj212_html

        return render_hj212_html(data)  # type: ignore[arg-type]
    from opsmon.collector.outputs.report.html import render_html

    return render_html(data)  # type: ignore[arg-type]


def render(data: AnyReport, fmt: str, html: str | None = None) -> bytes:
    """One format's bytes. `html` (already rendered) is reused for the PDF."""
    if _kind(data) == "hj212" and fmt in ("html", "pdf", "xlsx"):
        if fmt == "xlsx":
            from opsmon.collector.outputs.report.hj212_xlsx import render_hj212_xlsx

            return render_hj212_xlsx(data)  # type: ignore[arg-type]
        html = html if html is not None else _html(data)
        if fmt == "html":
            return html.encode("utf-8")
        from opsmon.collector.outputs.report.pdf import render_pdf

        return render_pdf(data, html)  # type: ignore[arg-type]  # the PDF is the HTML's rendering
    if fmt == "html":
        from opsmon.collector.outputs.report.html import render_html

        return (html if html is not None else render_html(data)).encode("utf-8")
    if fmt == "pdf":
        from opsmon.collector.outputs.report.pdf import render_pdf

        return render_pdf(data, html)  # type: ignore[arg-type]
    if fmt == "xlsx":
        from opsmon.collector.outputs.report.xlsx import render_xlsx

        return render_xlsx(data)
    if fmt == "docx":
        if _kind(data) == "hj212":
            raise InvalidInput("the HJ 212 analysis report is PDF, HTML, XLSX or JSON; docx is the SLA report's")
        from opsmon.collector.outputs.report.word import render_docx

        return render_docx(data)  # type: ignore[arg-type]
    if fmt == "json":
        return (json.dumps(data.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    raise InvalidInput(f"unknown report format {fmt!r}")


def write_report(data: AnyReport, formats: Iterable[str], out_dir: str | os.PathLike[str]) -> list[tuple[Path, str]]:
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
        html = _html(data)
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
