"""The bulletin archive on the JSON API (design.md "Reports, directory and duties").

    GET /api/v1/bulletins              every kept bulletin: period, version, built time, hashes
    GET /api/v1/bulletins/ID.docx      the file as it was kept (and sent)
    GET /api/v1/bulletins/ID.pdf

The routes hang on the case API's blueprint, so its authentication and its one error envelope
apply; each calls one function of intake.reports.archive, which checks the permission table
(the supervision office and the admins read).
"""
from __future__ import annotations

from io import BytesIO

from flask import jsonify, send_file

from dashboard.api import _who, bp
from intake.reports import archive
from web.services import get_db, get_settings

CONTENT_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "pdf": "application/pdf"}


@bp.get("/bulletins")
def list_bulletins():
    """List the kept bulletins, newest period first, each period's versions newest first."""
    kept = archive.list_kept_bulletins(get_db(), _who())
    tz = get_settings().timezone
    return jsonify({"bulletins": [archive.describe_bulletin(item, tz) for item in kept],
                    "count": len(kept)})


@bp.get("/bulletins/<int:bulletin_id>.<any(docx, pdf):fmt>")
def download_bulletin(bulletin_id: int, fmt: str):
    """Send a kept bulletin's DOCX or PDF, byte for byte as it was kept."""
    kept = archive.get_kept_bulletin(get_db(), _who(), bulletin_id)
    response = send_file(BytesIO(getattr(kept, fmt)), mimetype=CONTENT_TYPES[fmt],
                         as_attachment=True, max_age=0,
                         download_name=archive.bulletin_file_name(kept, fmt))
    response.headers["X-Content-Type-Options"] = "nosniff"
    # What the bytes hash to (hex), so a reader can check the file against the archive's list.
    response.headers["X-Content-SHA256"] = getattr(kept, f"{fmt}_sha256")
    return response
