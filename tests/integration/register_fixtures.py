"""Helpers shared by the population register tests: a small hand-made register and a
simulator served over real HTTP on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

from hotich_dev.simulator import BackgroundServer, RegisterIndex, create_app

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "include" / "contracts" / "population-api.yaml"
CLIENT_ID, CLIENT_SECRET = "hotich-test", "s3cr:et/with@odd&chars"


def person(
    pid: str,
    name: str,
    sex: str,
    dob: date,
    *,
    father: str | None = None,
    mother: str | None = None,
    dead: date | None = None,
) -> dict[str, Any]:
    """One register row."""
    return {
        "so_dinh_danh": pid,
        "ho_ten": name,
        "gioi_tinh": sex,
        "ngay_sinh": dob,
        "noi_dang_ky_khai_sinh": pid[:3],
        "ho_ten_cha": father,
        "ho_ten_me": mother,
        "trang_thai": "da_chet" if dead else "con_song",
        "ngay_chet": dead,
    }


# IDs follow PPP G YY NNNNNN; the tests only need them distinct and well formed.
HAND_MADE: list[dict[str, Any]] = [
    person("027090000001", "Nguyễn Văn An", "Nam", date(1990, 1, 2), mother="Lê Thị Hoa"),
    person("027090000002", "Nguyen Van An", "Nam", date(1990, 6, 6)),  # folded equal, same year
    person("027090000003", "Nguyễn Văn Anh", "Nam", date(1990, 1, 2)),  # one slip, same date
    person("027190000004", "Nguyễn Văn An", "Nữ", date(1990, 1, 2)),  # other sex
    person("027090000005", "Nguyễn Văn An", "Nam", date(1991, 1, 2)),  # other year
    person("027190000006", "Lê Thị Abc", "Nữ", date(1985, 5, 5)),  # DL 2 / OSA 3 from "le thi ca"
    person("027090000007", "Đỗ Đức Độ", "Nam", date(1950, 3, 3), dead=date(2001, 2, 3)),
    person("027090000008", "Nguyễn Văn Bình", "Nam", date(1990, 1, 2)),  # far from "an"
    person("027090000009", "Nguyễn Văn Ấn", "Nam", date(1990, 1, 2), father="Nguyễn Văn Cả"),
]
NAMESAKE_ID_BASE = 27_070_100_000  # 60 persons "Trần Văn Nam", Nam, 1970: the 50 cap


def hand_made_register() -> pd.DataFrame:
    """The hand-made register: the rows above plus 60 namesakes born in 1970."""
    rows = list(HAND_MADE)
    for i in range(60):
        rows.append(
            person(
                f"{NAMESAKE_ID_BASE + i:012d}",
                "Trần Văn Nam",
                "Nam",
                date(1970, 1, 1) + timedelta(days=i),
            )
        )
    return pd.DataFrame(rows)


def synthetic_register(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` random persons (vectorized), for volume tests of the client."""
    rng = np.random.default_rng(seed)
    surnames = np.array(["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"])
    given = np.array(["An", "Bình", "Cường", "Dũng", "Hà", "Hoa", "Lan", "Minh", "Nam", "Tú"])
    sex_f = rng.random(n) < 0.5
    middle = np.where(sex_f, "Thị", "Văn")
    names = pd.Series(surnames[rng.integers(0, len(surnames), n)]).str.cat(
        [pd.Series(middle), pd.Series(given[rng.integers(0, len(given), n)])], sep=" "
    )
    dob = np.datetime64("1940-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    years = dob.astype("datetime64[Y]").astype(int) + 1970
    century = np.where(years >= 2000, 2, 0) + sex_f.astype(int)
    serial = rng.choice(10**6, size=n, replace=False)
    ids = (
        pd.Series(np.full(n, "027"))
        + pd.Series(century.astype(str))
        + pd.Series((years % 100).astype(str)).str.zfill(2)
        + pd.Series(serial.astype(str)).str.zfill(6)
    )
    return pd.DataFrame(
        {
            "so_dinh_danh": ids,
            "ho_ten": names,
            "gioi_tinh": np.where(sex_f, "Nữ", "Nam"),
            "ngay_sinh": pd.Series(dob).dt.date,
            "noi_dang_ky_khai_sinh": "027",
            "ho_ten_cha": None,
            "ho_ten_me": None,
            "trang_thai": "con_song",
            "ngay_chet": None,
        }
    ).drop_duplicates("so_dinh_danh")


@contextmanager
def serve(
    index: RegisterIndex, *, quota_rps: float | None = None, token_ttl_s: int = 3600, **kw: Any
) -> Iterator[BackgroundServer]:
    """The simulator over ``index`` on a free 127.0.0.1 port, stopped on exit."""
    app = create_app(index, {CLIENT_ID: CLIENT_SECRET}, quota_rps, token_ttl_s, **kw)
    server = BackgroundServer(app).start()
    server.app = app  # type: ignore[attr-defined]  # tests reach the state through it
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def register_client(people: list[dict[str, Any]]) -> Iterator[Any]:
    """A ``PopulationClient`` of the simulator serving ``people`` on loopback."""
    from hotich.register.client import PopulationClient
    from hotich_dev.simulator import load_register

    with serve(RegisterIndex(load_register(pd.DataFrame(people)))) as server:
        client = PopulationClient(server.base_url, CLIENT_ID, CLIENT_SECRET)
        try:
            yield client
        finally:
            client.close()


def token(base_url: str) -> str:
    """A bearer token for the test client."""
    r = requests.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=5,
    )
    r.raise_for_status()
    return r.json()["access_token"]


def admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call an ``/_admin`` endpoint (POST with a body, GET without)."""
    url = f"{base_url}/_admin/{path}"
    r = (
        requests.post(url, json=body, timeout=5)
        if body is not None
        else requests.get(url, timeout=5)
    )
    r.raise_for_status()
    return r.json()
