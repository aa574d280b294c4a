"""Serving files that users uploaded (BPMN, DMN) or that are drawn from them (SVG).

A browser must never run what an uploaded file holds: an XHTML ``<script>`` inside a
BPMN ``<documentation>`` runs when the XML is opened inline as ``application/xml``.
So raw files go out as downloads, never sniffed, under a policy that forbids scripts,
and the SVG drawn server-side gets the same policy (it is shown as an image).
"""

from __future__ import annotations

import csv

from django.http import FileResponse, HttpResponse

# No script, no plugin, no form, no frame; sandboxed even when opened directly.
USER_FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _harden(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = USER_FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def download_response(content: str | bytes, *, filename: str, content_type: str = "application/xml") -> HttpResponse:
    """A user-supplied file as a download (``Content-Disposition: attachment``)."""
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)[:150] or "file"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return _harden(response)


def stored_file_response(stored, *, filename: str, content_type: str) -> FileResponse:
    """A stored upload (a task attachment) streamed as a download, under the same policy."""
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)[:150] or "file"
    response = FileResponse(stored.open("rb"), as_attachment=True, filename=safe_name, content_type=content_type)
    return _harden(response)


def drawn_response(svg: str) -> HttpResponse:
    """An SVG drawn from a user's file, shown inline as an image but unable to run anything."""
    return _harden(HttpResponse(svg, content_type="image/svg+xml"))


def csv_response(filename: str, rows: list[dict]) -> HttpResponse:
    """Rows as a CSV download, one column per key of the first row."""
    response = _harden(HttpResponse(content_type="text/csv"))
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    if rows:
        writer = csv.DictWriter(response, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return response


def csv_cell(value) -> str:
    """A value as a spreadsheet reads it: true/false, empty for none, numbers in fixed point
    with at most three decimals (seconds to the millisecond, rates to a tenth of a percent)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
