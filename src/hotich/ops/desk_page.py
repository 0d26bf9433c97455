"""The review desk's pages: the waiting records per district, one record beside what the
population register holds, and the officer's decision (docs/access.md, docs/ledger.md).

A FastAPI router over :mod:`hotich.desk`, mounted by the plugin under the campaign
dashboard at ``/hotich/desk/``, behind Airflow's login (every route reads; the decision
also needs a user who may change what the DAG loads, and this site's form token:
:mod:`hotich.airflow.access`). Templates are on disk (``include/templates/desk``), Jinja2
with autoescape. These pages show personal data: only signed-in users who may read the
daily DAG reach them, and every list, view and decision is written to
``recon.access_log``.
"""

# No "from __future__ import annotations": FastAPI reads the routes' Annotated dependencies,
# which name this module's closures, from the live annotations.
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hotich import desk
from hotich.config import Settings, load_districts
from hotich.db import pg_connect
from hotich.decisions import Decision, DecisionRefused, Proposed
from hotich.model import ALL_CODES, mask_ids
from hotich.names import fold_keys

log = logging.getLogger(__name__)

ROLES = {"subject": "Người được đăng ký", "husband": "Chồng", "wife": "Vợ"}
RECORD_TYPES = {"birth": "Khai sinh", "death": "Khai tử", "marriage": "Kết hôn"}
KINDS = {
    "given_id_in_review": "số định danh ghi trong hồ sơ chưa được xác nhận",
    "link_ambiguous": "nhiều người trong cơ sở dữ liệu phù hợp như nhau",
    "link_none": "không ai trong cơ sở dữ liệu phù hợp",
}
STATUSES = {"loaded": "đã nạp", "review": "chờ xét duyệt", "quarantined": "trả về đơn vị"}
DECISIONS = {
    "link": "Gắn với người",
    "confirm": "Xác nhận số định danh ghi trong hồ sơ",
    "no_link": "Không gắn với ai",
    "return": "Trả lại đơn vị để sửa",
}
LIFE = {"con_song": "còn sống", "da_chet": "đã chết"}
OUTCOMES = {"applied": "đã áp dụng", "stale": "không áp dụng: hồ sơ đã thay đổi"}
LEVELS = {"exact": "khớp", "folded": "khớp khi bỏ dấu", "slip": "lệch một ký tự",
          "agrees": "khớp", "swapped": "đảo ngày và tháng"}  # fmt: skip


def _why(c: pd.Series, best: int) -> str:
    """Why a candidate fits or not, in the officer's words; ``best``: how many candidates
    hold the best rank (more than one is the tie of ``LINK_AMBIGUOUS``)."""
    if c["excluded"]:
        return "bị loại: hồ sơ mâu thuẫn (cha mẹ, tình trạng sống/chết hoặc ngày mất)"
    if c["best"] and best == 1:
        return "phù hợp nhất, không có ứng viên nào ngang hạng"
    if c["best"]:
        how = (
            "các ứng viên ngang hạng đều được cha mẹ trong hồ sơ xác nhận"
            if c["corroborated"]
            else "hồ sơ không có thông tin cha mẹ phân biệt được"
        )
        return (
            f"ngang hạng với {best - 1} ứng viên khác: tên {LEVELS.get(c['name_level'], '')},"
            f" ngày sinh {LEVELS.get(c['date_level'], '')}, {how}; quy tắc không tự chọn"
        )
    if c["fits"]:
        return "phù hợp nhưng kém hơn ứng viên tốt nhất"
    if c["name_level"] is None:
        return "tên không khớp"
    if c["date_level"] is None:
        return "ngày sinh không khớp"
    return "chỉ khớp tên và ngày sinh gần đúng, không có thông tin xác nhận thêm"


def _dob_text(person: pd.Series) -> str:
    """The person's date of birth as the record gives it (a year alone when only that)."""
    dob, year = person["dob"], person.get("dob_year")
    if not pd.isna(dob):
        return str(dob.strftime("%Y-%m-%d"))
    return "" if year is None or pd.isna(year) else str(int(year))


def _compare(person: pd.Series, citizen: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Field by field: label, the record's value, the register's, whether they differ."""

    def text(v: Any) -> str:
        return "" if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT else str(v)

    mine_dob = _dob_text(person)
    name, reg_name = text(person["full_name"]), text(citizen.get("ho_ten"))
    folded = [str(x) for x in fold_keys(pd.Series([name, reg_name]))]
    rows = [
        ("Họ tên (như ghi)", name, reg_name, name != reg_name),
        ("Họ tên (bỏ dấu)", folded[0], folded[1], folded[0] != folded[1]),
        ("Ngày sinh", mine_dob, text(citizen.get("ngay_sinh")),
         not text(citizen.get("ngay_sinh")).startswith(mine_dob)),
        ("Giới tính", text(person["sex"]), text(citizen.get("gioi_tinh")),
         text(person["sex"]) != text(citizen.get("gioi_tinh"))),
    ]  # fmt: skip
    for label, col, reg_col in (
        ("Mẹ", "mother_name", "ho_ten_me"),
        ("Cha", "father_name", "ho_ten_cha"),
    ):
        mine, theirs = text(person.get(col)), text(citizen.get(reg_col))
        if mine or theirs:
            rows.append((label, mine, theirs, bool(mine and theirs and mine != theirs)))
    rows.append(
        (
            "Tình trạng",
            "",
            text(citizen.get("trang_thai")) + " " + text(citizen.get("ngay_chet")),
            False,
        )
    )
    return rows


@dataclass(frozen=True)
class DeskDeps:
    """What the desk's routes need from their host: the database, the register, the
    signed-in user's name, and the checks of a state-changing request."""

    civil_status_uri: Callable[[], str]
    register: Callable[[], Any]  # a context manager giving a RegisterLookup
    user_name: Callable[..., str]  # a FastAPI dependency
    may_change: Callable[..., bool]  # a FastAPI dependency: may the user decide
    require_changer: Callable[..., Any]  # a FastAPI dependency: 403 unless the user may decide
    check_same_site: Callable[[Request, str | None], None]
    form_token: Callable[[Request], str]
    settings: Callable[[], Settings] = Settings.from_env


def router(deps: DeskDeps) -> APIRouter:
    """The desk's routes (mount under ``/desk``)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    r = APIRouter()
    envs: dict[str, Environment] = {}

    def render(request: Request, name: str, **values: Any) -> HTMLResponse:
        settings = deps.settings()
        key = str(settings.templates_dir)
        if key not in envs:
            envs[key] = Environment(
                loader=FileSystemLoader(settings.templates_dir / "desk"),
                autoescape=select_autoescape(["html"]),
            )
        root = str(request.url_for("desk_home"))
        base = dict(root=root if root.endswith("/") else root + "/", roles=ROLES,
                    record_types_map=RECORD_TYPES, kinds=KINDS, statuses=STATUSES,
                    decisions=DECISIONS, outcomes=OUTCOMES, levels=LEVELS, life=LIFE,
                    message=request.query_params.get("message"),
                    error=request.query_params.get("error"))  # fmt: skip
        return HTMLResponse(envs[key].get_template(name).render(**base, **values))

    def names() -> dict[str, str]:
        try:
            return {d.code: d.name for d in load_districts(deps.settings().districts_file)}
        except Exception:  # noqa: BLE001 - names are a courtesy on the page
            return {}

    def db():
        return pg_connect(deps.civil_status_uri())

    @r.get("/", response_class=HTMLResponse, name="desk_home")
    def home(request: Request, who: Annotated[str, Depends(deps.user_name)]) -> HTMLResponse:
        conn = db()
        try:
            with conn, conn.cursor() as cur:
                frame = desk.districts(cur, deps.settings().sql_dir)
        finally:
            conn.close()
        return render(request, "districts.html", who=who, names=names(),
                      districts=frame.itertuples(index=False))  # fmt: skip

    @r.get("/record/{source_key:path}", response_class=HTMLResponse)
    def record(
        request: Request,
        source_key: str,
        who: Annotated[str, Depends(deps.user_name)],
        may_decide: Annotated[bool, Depends(deps.may_change)],
    ) -> HTMLResponse:
        if source_key.endswith("/decide"):
            raise HTTPException(405, "a decision is sent by POST")
        settings = deps.settings()
        conn = db()
        try:
            with conn, conn.cursor() as cur:
                view = desk.record_view(cur, settings.sql_dir, source_key, who)
        finally:
            conn.close()
        if view is None:
            raise HTTPException(404, "this record waits for no decision")
        persons = []
        with deps.register() as register:
            for _, p in view.persons.iterrows():
                side = desk.register_side(p, register)
                cands = side["candidates"]
                if len(cands):
                    best = int(cands["best"].sum())  # more than one: the tie
                    cands = cands.assign(why=[_why(c, best) for _, c in cands.iterrows()])
                persons.append({
                    **p.to_dict(),
                    "w_reasons": list(p["w_reasons"]) if isinstance(p["w_reasons"], list) else [],
                    "dob_text": _dob_text(p),
                    "citizen": side["citizen"],
                    "not_found": side["not_found"],
                    "fields": _compare(p, side["citizen"]) if side["citizen"] else [],
                    "candidates": cands.to_dict("records") if len(cands) else [],
                })  # fmt: skip
        return render(request, "record.html", who=who, view=view, persons=persons,
                      history=view.decisions.to_dict("records"), may_decide=may_decide,
                      csrf_token=deps.form_token(request))  # fmt: skip

    @r.post("/record/{source_key:path}/decide")
    def decide(
        request: Request,
        source_key: str,
        role: Annotated[str, Form()],
        content_hash: Annotated[str, Form()],
        who: Annotated[str, Depends(deps.user_name)],
        _changer: Annotated[Any, Depends(deps.require_changer)],
        choice: Annotated[str, Form()] = "",
        personal_id: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        deps.check_same_site(request, csrf_token)
        made, _, chosen = choice.partition(":")
        chosen = chosen or personal_id.strip()
        back = str(request.url_for("desk_home")).rstrip("/") + "/record/" + quote(source_key)
        try:
            proposed = Proposed(Decision(made), reason, chosen if made == "link" else None, note)
        except ValueError:
            return RedirectResponse(back + "?" + urlencode({"error": "Chọn một quyết định."}), 303)
        settings = deps.settings()
        conn = db()
        try:
            with deps.register() as register, conn, conn.cursor() as cur:
                view = desk.record_view(cur, settings.sql_dir, source_key, who)
                person = None if view is None else view.persons[view.persons["role"] == role]
                snapshot: dict[str, Any] = {}
                if person is not None and len(person):
                    side = desk.register_side(person.iloc[0], register)
                    snapshot = {"citizen": side["citizen"], "not_found": side["not_found"],
                                "candidates": side["candidates"].to_dict("records")}  # fmt: skip
                decision_id = desk.decide(cur, source_key=source_key, role=role, proposed=proposed,
                                          who=who, content_hash=content_hash,
                                          register_snapshot=snapshot)  # fmt: skip
        except DecisionRefused as refused:
            return RedirectResponse(
                back + "?" + urlencode({"error": f"Không ghi được: {refused}"}), 303
            )
        finally:
            conn.close()
        log.info("desk: %s decided %s on %s (%s), decision %d", who, made,
                 mask_ids(source_key), role, decision_id)  # fmt: skip
        message = "Đã ghi quyết định; lần chạy tới sẽ áp dụng."
        return RedirectResponse(back + "?" + urlencode({"message": message}), 303)

    @r.get("/{district_code}", response_class=HTMLResponse)
    def page(
        request: Request,
        district_code: str,
        who: Annotated[str, Depends(deps.user_name)],
        reason: str = "",
        record_type: str = "",
        days: str = "",
        after: str = "",
    ) -> HTMLResponse:
        after_key, _, after_role = after.partition("|")
        flt = desk.PageFilter(
            district_code=district_code,
            reason=reason if reason in ALL_CODES else None,
            record_type=record_type if record_type in RECORD_TYPES else None,
            waiting_days=int(days) if days.isdigit() else None,
            after_key=after_key,
            after_role=after_role,
        )
        conn = db()
        try:
            with conn, conn.cursor() as cur:
                rows = desk.waiting_page(cur, deps.settings().sql_dir, flt, who)
        finally:
            conn.close()
        next_url = None
        if len(rows) == desk.PAGE_SIZE:
            last = rows.iloc[-1]
            query = {
                k: v
                for k, v in {"reason": reason, "record_type": record_type, "days": days}.items()
                if v
            }
            next_url = "?" + urlencode({**query, "after": f"{last['source_key']}|{last['role']}"})
        review_codes = sorted(c for c in ALL_CODES if c in {"ID_NOT_FOUND", "NAME_MISMATCH",
                              "DOB_MISMATCH", "SEX_MISMATCH", "LINK_AMBIGUOUS", "LINK_NONE"})  # fmt: skip
        return render(request, "page.html", who=who, flt=flt, rows=rows.to_dict("records"),
                      district_name=names().get(district_code, ""), next_url=next_url,
                      reasons=[(c, c) for c in review_codes],
                      record_types=list(RECORD_TYPES.items()))  # fmt: skip

    return r


def register_from_settings(settings: Callable[[], Settings] = Settings.from_env):
    """A factory of register clients from the ``population_api`` connection."""
    from hotich.connections import conn_uri
    from hotich.register.client import PopulationClient

    def make():
        s = settings()
        return PopulationClient.from_uri(conn_uri(s.register.conn_id), s.register)

    return make
