"""The PDF: WeasyPrint's rendering of the report's HTML (its print CSS does the paging).

WeasyPrint is a well-kept pure-Python layout engine (with Pango for text): Chinese text renders
with Debian's fonts-noto-cjk, rows are never split across pages and table headers repeat. Its time grows
with the number of table cells (style, line layout and drawing of each), not with fonts or charts: the long
tables' CSS in html.py and security_html.py is kept cheap for it (docs/report.md, "Speed").
"""
from __future__ import annotations

import logging

from opsmon.collector.core.errors import OpsmonError
from opsmon.collector.outputs.report.html import render_html
from opsmon.collector.outputs.report.model import ReportData


def available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: the package is there but Pango is not
        return False
    return True


def render_pdf(data: ReportData, html: str | None = None) -> bytes:
    """PDF bytes; pass the already rendered `html` to avoid drawing the charts twice."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise OpsmonError(f"PDF output needs WeasyPrint and Pango (pip install 'opsmon[report]'; Debian "
                          f"libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk): {exc}") from None
    # WeasyPrint logs every CSS property it ignores at WARNING; those are expected (browser-only CSS).
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html if html is not None else render_html(data), base_url=None)
    return document.write_pdf()
