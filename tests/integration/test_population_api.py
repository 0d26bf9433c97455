"""The population register simulator over real HTTP: contract conformance (schemathesis)
and the semantics of token, batchGet, match, quota and outages."""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hotich.register import CITIZEN_COLUMNS
from hotich_dev.simulator import RegisterIndex, fold_name, load_register
from tests.integration.register_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONTRACT,
    NAMESAKE_ID_BASE,
    admin,
    hand_made_register,
    serve,
    token,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def index() -> RegisterIndex:
    return RegisterIndex(load_register(hand_made_register()))


@pytest.fixture
def api(index: RegisterIndex) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, auth headers) of a fresh simulator without quota."""
    with serve(index) as server:
        yield server.base_url, {"Authorization": f"Bearer {token(server.base_url)}"}


def _match(base: str, headers: dict[str, str], *queries: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{base}/v1/citizens:match", json={"queries": list(queries)}, headers=headers, timeout=5
    )


def _ids(result: dict) -> set[str]:
    return {c["so_dinh_danh"] for c in result["candidates"]}


def _problem(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"]
    return body


# --- conformance ----------------------------------------------------------------------------


OPERATIONS = [
    ("/oauth/token", "POST"),
    ("/v1/citizens/{so_dinh_danh}", "GET"),
    ("/v1/citizens:batchGet", "POST"),
    ("/v1/citizens:match", "POST"),
]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=lambda v: v)
def test_conforms_to_contract(api, path: str, method: str, mode: GenerationMode) -> None:
    """Every answer to generated (valid and invalid) requests conforms to the contract."""
    base, headers = api
    # The contract answers 413 (not 400) to a request over a count limit.
    config = schemathesis.Config.from_dict(
        {
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 404, 413, 429, "5xx"],
                }
            }
        }
    )
    schema = schemathesis.openapi.from_path(CONTRACT, config=config)
    operation = schema[path][method]
    checks_off = []
    if path in ("/oauth/token", "/v1/citizens:match"):
        # Data valid per the schema may still be refused by rules the schema cannot state
        # (the client's credentials, unique refs, real dates): judged by the tests below.
        checks_off.append(positive_data_acceptance)

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base, headers=headers, excluded_checks=checks_off)

    run()


# --- token ------------------------------------------------------------------------------------


def test_token_refusals_and_expiry(index: RegisterIndex) -> None:
    with serve(index, token_ttl_s=1) as server:
        base = server.base_url
        bad = requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"},
            timeout=5,
        )
        _problem(bad, 401)
        grant = requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            timeout=5,
        )
        _problem(grant, 401)
        r = requests.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=5,
        )
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 1
        h = {"Authorization": f"Bearer {body['access_token']}"}
        url = f"{base}/v1/citizens/027090000001"
        assert requests.get(url, headers=h, timeout=5).status_code == 200
        _problem(requests.get(url, timeout=5), 401)
        _problem(requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5), 401)
        time.sleep(1.1)
        _problem(requests.get(url, headers=h, timeout=5), 401)


def test_revoked_token_is_refused(api) -> None:
    base, h = api
    url = f"{base}/v1/citizens/027090000001"
    assert requests.get(url, headers=h, timeout=5).status_code == 200
    assert admin(base, "revoke-tokens", {})["revoked"] == 1
    _problem(requests.get(url, headers=h, timeout=5), 401)


# --- lookups ----------------------------------------------------------------------------------


def test_get_citizen(api) -> None:
    base, h = api
    c = requests.get(f"{base}/v1/citizens/027090000007", headers=h, timeout=5).json()
    assert c == {
        "so_dinh_danh": "027090000007",
        "ho_ten": "Đỗ Đức Độ",
        "gioi_tinh": "Nam",
        "ngay_sinh": "1950-03-03",
        "noi_dang_ky_khai_sinh": "027",
        "ho_ten_cha": None,
        "ho_ten_me": None,
        "trang_thai": "da_chet",
        "ngay_chet": "2001-02-03",
    }
    _problem(requests.get(f"{base}/v1/citizens/027099999999", headers=h, timeout=5), 404)
    _problem(requests.get(f"{base}/v1/citizens/12345", headers=h, timeout=5), 404)


def test_batch_get_semantics(api) -> None:
    base, h = api
    url = f"{base}/v1/citizens:batchGet"
    ids = ["027090000001", "027099999999", "027090000001", "027190000004", "027099999999"]
    body = requests.post(url, json={"ids": ids}, headers=h, timeout=5).json()
    found = [c["so_dinh_danh"] for c in body["found"]]
    assert sorted(found) == ["027090000001", "027190000004"]
    assert body["not_found"] == ["027099999999"]
    assert next(c for c in body["found"] if c["so_dinh_danh"] == "027090000001")["ho_ten_me"] == (
        "Lê Thị Hoa"
    )

    _problem(requests.post(url, json={"ids": ["027090000001"] * 501}, headers=h, timeout=5), 413)
    assert requests.post(url, json={"ids": ["027090000001"] * 500}, headers=h, timeout=5).ok
    for bad in ({"ids": []}, {"ids": ["12345"]}, {"ids": "027090000001"}, {}, [1], {"ids": [1]}):
        _problem(requests.post(url, json=bad, headers=h, timeout=5), 400)
    _problem(requests.post(url, data=b"{not json", headers=h, timeout=5), 400)
    _problem(requests.post(url, json={"ids": ["027090000001\n"]}, headers=h, timeout=5), 400)


def test_match_rules(api) -> None:
    base, h = api
    r = _match(
        base,
        h,
        # rule 1 (folded name + year) and rule 2 (date + DL<=2), each citizen once
        {"ref": "full", "ho_ten": "Nguyễn Văn An", "gioi_tinh": "Nam", "ngay_sinh": "1990-01-02"},
        # year only: rule 1 alone
        {"ref": "year", "ho_ten": "Nguyễn Văn Anh", "gioi_tinh": "Nam", "ngay_sinh": "1990"},
        # true Damerau-Levenshtein: "le thi ca" -> "le thi abc" is 2 (OSA would say 3)
        {"ref": "dl", "ho_ten": "Le Thi Ca", "gioi_tinh": "Nữ", "ngay_sinh": "1985-05-05"},
        # folding: case, spaces, đ, decomposed (NFD) input
        {"ref": "fold", "ho_ten": "  DO   duc  \u0111o ", "gioi_tinh": "Nam", "ngay_sinh": "1950"},
        {
            "ref": "nfd",
            "ho_ten": unicodedata.normalize("NFD", "Đỗ Đức Độ"),
            "gioi_tinh": "Nam",
            "ngay_sinh": "1950-03-03",
        },
        {"ref": "none", "ho_ten": "Không Có Ai", "gioi_tinh": "Nữ", "ngay_sinh": "2000-01-01"},
        {"ref": "cap", "ho_ten": "Tran Van Nam", "gioi_tinh": "Nam", "ngay_sinh": "1970"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["ref"] for x in results] == ["full", "year", "dl", "fold", "nfd", "none", "cap"]
    full, year, dl, fold, nfd, none, cap = results
    # 01 exact; 02 folded equal same year; 03 "anh" 1 slip; 09 "ấn" folds equal.
    # Not 04 (sex), 05 (other year, other date), 08 (binh is 3 slips away).
    assert _ids(full) == {"027090000001", "027090000002", "027090000003", "027090000009"}
    assert len(full["candidates"]) == 4
    assert _ids(year) == {"027090000003"}
    assert _ids(dl) == {"027190000006"}
    assert _ids(fold) == {"027090000007"} and _ids(nfd) == {"027090000007"}
    assert none["candidates"] == []
    assert len(cap["candidates"]) == 50 == len(_ids(cap))
    assert all(
        NAMESAKE_ID_BASE <= int(c["so_dinh_danh"]) < NAMESAKE_ID_BASE + 60
        for c in cap["candidates"]
    )


def test_match_rule_two_needs_same_date(api) -> None:
    base, h = api
    q = {"ref": "a", "ho_ten": "Nguyen Van Anhh", "gioi_tinh": "Nam", "ngay_sinh": "1990-01-02"}
    # same date: "anh" is one slip away, "an"/"ấn" two; "bình" too far
    r = _match(base, h, q)
    assert _ids(r.json()["results"][0]) == {"027090000001", "027090000003", "027090000009"}
    # the same slips on another day of the same year: neither rule applies
    r = _match(base, h, dict(q, ngay_sinh="1990-01-03"))
    assert r.json()["results"][0]["candidates"] == []


def test_match_refusals(api) -> None:
    base, h = api
    q = {"ref": "a", "ho_ten": "Nguyễn Văn An", "gioi_tinh": "Nam", "ngay_sinh": "1990"}
    _problem(_match(base, h, q, dict(q, ho_ten="Khác")), 400)  # duplicate refs
    many = [dict(q, ref=str(i)) for i in range(101)]
    _problem(_match(base, h, *many), 413)
    assert _match(base, h, *many[:100]).status_code == 200
    for bad in (
        dict(q, ngay_sinh="1990-02-30"),
        dict(q, ngay_sinh="02/01/1990"),
        dict(q, ngay_sinh="90"),
        dict(q, gioi_tinh="M"),
        {"ref": "a", "ho_ten": "x", "gioi_tinh": "Nam"},
    ):
        _problem(_match(base, h, bad), 400)
    _problem(
        requests.post(f"{base}/v1/citizens:match", json={"queries": []}, headers=h, timeout=5), 400
    )


def test_answers_are_the_json_of_the_register_rows() -> None:
    """The answers are encoded once at index build: awkward values (quotes, backslashes,
    control characters, nulls, an absent column) come out as ``json.dumps`` would."""
    from datetime import date

    from tests.integration.register_fixtures import person

    odd = [
        person("027090000101", 'Lê "Tí" \\ Văn', "Nam", date(1990, 1, 2), father="a\tb\nc\x01"),
        person("027090000102", "Nguyễn\u2028Văn\x7fAn 😀", " Nữ ", date(1999, 12, 31)),
        dict(person("027090000103", "", "Nam", date(1970, 1, 1)), noi_dang_ky_khai_sinh=None),
    ]
    idx = RegisterIndex(load_register(pd.DataFrame(odd).drop(columns=["ho_ten_me"])))
    got = idx.citizens(np.arange(3))
    assert got[0]["ho_ten"] == 'Lê "Tí" \\ Văn' and got[0]["ho_ten_cha"] == "a\tb\nc\x01"
    assert got[1]["ho_ten"] == "Nguyễn\u2028Văn\x7fAn 😀" and got[1]["gioi_tinh"] == "Nữ"
    assert "noi_dang_ky_khai_sinh" not in got[2] and got[2]["ho_ten_me"] is None
    assert [c["so_dinh_danh"] for c in got] == ["027090000101", "027090000102", "027090000103"]
    for raw, c in zip(idx.citizen_json(np.arange(3)), got, strict=True):
        assert raw == json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode()
        assert list(c) == [k for k in CITIZEN_COLUMNS if k in c]


def test_batched_match_equals_one_query_at_a_time(api) -> None:
    """A request of many queries answers each as a request of that query alone would."""
    base, h = api
    names = ["Nguyễn Văn An", "Nguyen Van Anhh", "Tran Van Nam", "Le Thi Ca", "Đỗ Đức Độ", "X"]
    dates = ["1990-01-02", "1990", "1970", "1970-01-05", "1985-05-05", "1950-03-03"]
    queries = [
        {"ref": f"q{i}", "ho_ten": n, "gioi_tinh": s, "ngay_sinh": d}
        for i, (n, s, d) in enumerate(
            (n, s, d) for n in names for s in ("Nam", "Nữ") for d in dates
        )
    ][:100]
    together = _match(base, h, *queries).json()["results"]
    assert [x["ref"] for x in together] == [q["ref"] for q in queries]
    assert sum(len(x["candidates"]) for x in together) > 60
    for q, res in zip(queries, together, strict=True):
        assert _match(base, h, q).json()["results"] == [res]


def test_encoding_chunks_do_not_shift_rows(monkeypatch) -> None:
    """Rows on both sides of an encoding chunk boundary answer their own citizen."""
    from hotich_dev import simulator
    from tests.integration.register_fixtures import synthetic_register

    monkeypatch.setattr(simulator, "_ENCODE_CHUNK", 7)
    reg = synthetic_register(40).reset_index(drop=True)
    idx = RegisterIndex(load_register(reg))
    rows = np.array([39, 0, 6, 7, 8, 13, 14, 20, 21, 35, 7])
    assert [c["so_dinh_danh"] for c in idx.citizens(rows)] == reg["so_dinh_danh"][rows].tolist()


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyÁÀẢÃẠẤẦĐ \t", max_size=20))
def test_fold_name_properties(name: str) -> None:
    folded = fold_name(name)
    assert folded == fold_name(folded)  # idempotent
    assert folded == folded.strip() and "  " not in folded
    assert folded.isascii() or not any(ch in folded for ch in "đăâêôơư")


# --- quota and outages --------------------------------------------------------------------------


def test_quota_answers_429_with_retry_after(index: RegisterIndex) -> None:
    with serve(index, quota_rps=2) as server:
        base = server.base_url
        h = {"Authorization": f"Bearer {token(base)}"}
        url = f"{base}/v1/citizens/027090000001"
        # 401s count nothing: the bucket of 2 is still full afterwards.
        for _ in range(3):
            _problem(requests.get(url, timeout=5), 401)
        assert [requests.get(url, headers=h, timeout=5).status_code for _ in range(2)] == [200, 200]
        r = requests.get(url, headers=h, timeout=5)
        _problem(r, 429)
        retry_after = int(r.headers["Retry-After"])
        assert retry_after == 1  # half a second to the next token, rounded up
        # 429s count nothing either: waiting what it said is enough.
        _problem(requests.get(url, headers=h, timeout=5), 429)
        time.sleep(retry_after)
        assert requests.get(url, headers=h, timeout=5).status_code == 200
        stats = admin(base, "stats")
        assert len(stats["admitted"]) == 3 and len(stats["rate_limited"]) == 2
        path = "/v1/citizens/027090000001"
        counts = {k: v for k, v in stats["by_path_status"].items() if k.startswith(path)}
        assert counts == {f"{path} 200": 3, f"{path} 401": 3, f"{path} 429": 2}


def test_outage_and_injected_errors(api) -> None:
    base, h = api
    url = f"{base}/v1/citizens/027090000001"
    admin(base, "faults", {"outage_seconds": 0.6, "outage_retry_after": 1})
    r = requests.get(url, headers=h, timeout=5)
    _problem(r, 503)
    assert r.headers["Retry-After"] == "1"
    admin(base, "faults", {"outage_seconds": 0.6, "outage_retry_after": None})
    r = requests.get(url, headers=h, timeout=5)
    _problem(r, 503)
    assert "Retry-After" not in r.headers
    time.sleep(0.7)
    assert requests.get(url, headers=h, timeout=5).status_code == 200
    admin(base, "faults", {"error_rate": 1.0, "error_statuses": [500]})
    _problem(requests.get(url, headers=h, timeout=5), 500)
    admin(base, "faults", {"error_rate": 0.0, "latency_ms": 100})
    t0 = time.monotonic()
    assert requests.get(url, headers=h, timeout=5).status_code == 200
    assert time.monotonic() - t0 >= 0.1
