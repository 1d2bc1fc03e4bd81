"""The SLA compliance report: a data model built from the SLA engine, rendered as HTML, PDF, XLSX and DOCX.

    data = build_report(store, config, parse_period("2026Q3", config.timezone), "zh")
    for path, sha256 in write_report(data, ("pdf", "html", "xlsx"), "out/"):
        ...

Optional dependencies (extra `report`): weasyprint (PDF), matplotlib (charts), openpyxl (XLSX),
python-docx (DOCX, the copy the office edits).
"""
from opsmon.collector.outputs.report.model import ReportData, build_report
from opsmon.collector.outputs.report.write import DEFAULT_FORMATS, FORMATS, parse_formats, render, write_report

__all__ = ["DEFAULT_FORMATS", "FORMATS", "ReportData", "build_report", "parse_formats", "render", "write_report"]
