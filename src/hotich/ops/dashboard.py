"""The campaign dashboard: a small FastAPI app over ``hotich.ops.progress``, with the
incidents page (``/incidents``, ``/api/incidents``: ``hotich.ops.incidents``) and each
district's quality history (``/quality/<district>``: ``hotich.ops.quality_page``).

Mounted in Airflow's api-server by ``plugins/hotich_plugin.py`` at ``/hotich/`` (a
"Campaign progress" entry in the UI's navigation), or served on its own:

    python -m hotich.ops.dashboard [--port 8801]     (127.0.0.1 only)

Airflow does not put its login in front of plugin apps: the plugin does, with Airflow's own
login and auth manager (``hotich.airflow.access``); served on its own, the app answers on
127.0.0.1 only, for whoever can reach the machine. The app shows aggregates
(counts per district, phase and reason code, run ids) and the open rejected workbook
files (file names and problems, which never quote a cell), never a name or a personal ID.
"""

from __future__ import annotations

import html
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from hotich.config import ConfigError, Settings, load_districts
from hotich.ops.incidents import error_line
from hotich.ops.progress import ProgressUnavailable, read_progress, render_html

log = logging.getLogger(__name__)


def create_app(
    civil_status_uri: Callable[[], str],
    settings: Callable[[], Settings] = Settings.from_env,
    dependencies: Sequence[Any] = (),
    desk: Any = None,
) -> FastAPI:
    """The dashboard app; the database URI and the settings are resolved per request
    (a connection added after the api-server started is picked up). ``dependencies`` run
    before every route: in Airflow's api-server, its login and auth manager
    (``hotich.airflow.access``). ``desk``: the review desk's
    :class:`hotich.ops.desk_page.DeskDeps`, served under ``/desk/``."""
    app = FastAPI(
        title="hotich campaign progress",
        docs_url=None,
        redoc_url=None,
        dependencies=list(dependencies),
    )

    def progress() -> dict[str, Any] | JSONResponse:
        try:
            uri = civil_status_uri()
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        try:
            return read_progress(uri, settings())
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=500)
        except ProgressUnavailable as exc:
            log.error("dashboard: %s", exc)
            return JSONResponse({"error": str(exc)}, status_code=503)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        result = progress()
        if isinstance(result, JSONResponse):
            body = bytes(result.body).decode()
            return HTMLResponse(f"<!doctype html><meta charset='utf-8'><pre>{html.escape(body)}</pre>",
                                status_code=result.status_code)  # fmt: skip
        return HTMLResponse(render_html(result))

    @app.get("/api/progress")
    def api() -> Any:
        return progress()

    @app.get("/reports/", response_class=HTMLResponse)
    def reports_index() -> HTMLResponse:
        """The latest report sent back to each district, and the province's."""
        from hotich.feedback.outbox import PROVINCE, latest_report

        s = settings()
        rows = [(PROVINCE, "Toàn tỉnh")] + [
            (d.code, d.label) for d in load_districts(s.districts_file)
        ]
        items = "".join(
            f"<li><a href='{html.escape(code)}'>{html.escape(label)}</a></li>"
            if latest_report(s.data_dir, code) else f"<li>{html.escape(label)}: —</li>"
            for code, label in rows
        )  # fmt: skip
        return HTMLResponse("<!doctype html><html lang='vi'><meta charset='utf-8'>"
                            f"<title>Báo cáo gửi đơn vị</title><h1>Báo cáo gửi đơn vị</h1><ul>{items}</ul>")  # fmt: skip

    @app.get("/reports/{code}", response_class=HTMLResponse)
    def report_page(code: str) -> HTMLResponse:
        """A district's (or the province's: ``_province``) latest report (counts only)."""
        from hotich.feedback.outbox import PROVINCE, latest_report

        s = settings()
        known = {PROVINCE} | {d.code for d in load_districts(s.districts_file)}
        path = latest_report(s.data_dir, code) if code in known else None
        if path is None:
            return HTMLResponse("<!doctype html><meta charset='utf-8'><p>Chưa có báo cáo.</p>",
                                status_code=404)  # fmt: skip
        return HTMLResponse(path.read_text(encoding="utf-8"))

    def incidents() -> list[dict[str, Any]] | JSONResponse:
        from hotich.ops.incidents import page_rows

        try:
            return page_rows(civil_status_uri(), settings().sql_dir)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except Exception as exc:  # noqa: BLE001 - the database down, or V007 not applied
            log.error("incidents page: %s", error_line(exc))
            return JSONResponse({"error": error_line(exc)}, status_code=503)

    @app.get("/incidents", response_class=HTMLResponse)
    def incidents_page(request: Request) -> HTMLResponse:
        from hotich.ops.incidents import render_page

        rows = incidents()
        if isinstance(rows, JSONResponse):
            body = bytes(rows.body).decode()
            return HTMLResponse(f"<!doctype html><meta charset='utf-8'><pre>{html.escape(body)}</pre>",
                                status_code=rows.status_code)  # fmt: skip
        root = str(request.url_for("page"))
        return HTMLResponse(render_page(rows, settings().templates_dir, root))

    @app.get("/api/incidents")
    def incidents_api() -> Any:
        rows = incidents()
        if isinstance(rows, JSONResponse):
            return rows
        return JSONResponse(json.loads(json.dumps(rows, default=str)))

    @app.get("/quality/{district_code}", response_class=HTMLResponse)
    def quality_page(request: Request, district_code: str) -> HTMLResponse:
        from hotich.ops import quality_page as qp

        if not district_code.isdigit() or len(district_code) > 10:
            return HTMLResponse("<!doctype html><meta charset='utf-8'><p>no such district</p>",
                                status_code=404)  # fmt: skip
        try:
            found = qp.read_history(civil_status_uri(), settings().sql_dir, district_code)
        except Exception as exc:  # noqa: BLE001 - the database down, or V007 not applied
            log.error("quality page: %s", error_line(exc))
            return HTMLResponse(f"<!doctype html><meta charset='utf-8'><pre>"
                                f"{html.escape(error_line(exc))}</pre>", status_code=503)  # fmt: skip
        root = str(request.url_for("page"))
        return HTMLResponse(qp.render(district_code, found, settings().templates_dir, root))

    if desk is not None:
        from hotich.ops.desk_page import router

        app.include_router(router(desk), prefix="/desk")
    return app


def main(argv: list[str]) -> int:
    """Serve the dashboard alone on 127.0.0.1 (default port 8801)."""
    import uvicorn

    from hotich.connections import civil_status_uri

    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8801
    app = create_app(lambda: civil_status_uri(Settings.from_env()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
