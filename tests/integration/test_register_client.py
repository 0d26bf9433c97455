"""PopulationClient against the simulator over real HTTP: results, token life cycle,
quota storms, 5xx, outages and the circuit breaker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest

from hotich.config import RegisterSettings
from hotich.register import CITIZEN_COLUMNS
from hotich.register.client import (
    PopulationClient,
    RegisterAuthError,
    RegisterCircuitOpen,
    RegisterUnavailable,
)
from hotich_dev.simulator import RegisterIndex, load_register
from tests.integration.register_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    admin,
    hand_made_register,
    serve,
    synthetic_register,
)

pytestmark = pytest.mark.timeout(60)

FAST = RegisterSettings(
    backoff_base_s=0.02,
    backoff_cap_s=0.2,
    retry_budget_s=20,
    max_retries=8,
    breaker_threshold=50,
    timeout_s=5,
)


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return pd.concat([hand_made_register(), synthetic_register(5000)], ignore_index=True)


@pytest.fixture(scope="module")
def index(register: pd.DataFrame) -> RegisterIndex:
    return RegisterIndex(load_register(register))


@pytest.fixture
def server(index: RegisterIndex) -> Iterator:
    with serve(index, seed=11) as s:
        yield s


def _client(
    base_url: str, settings: RegisterSettings = FAST, secret: str = CLIENT_SECRET
) -> PopulationClient:
    return PopulationClient(base_url, CLIENT_ID, secret, settings)


def _ids_for_lookup(register: pd.DataFrame) -> list[str]:
    """3,000 IDs: 2,400 known (with repeats), unknown and malformed ones."""
    known = register["so_dinh_danh"].iloc[:2000].tolist()
    unknown = [f"0279{i:08d}" for i in range(500)]
    return known + known[:400] + unknown + ["12345", "0270900000ab"]


def _expected_lookup(register: pd.DataFrame) -> tuple[set[str], set[str]]:
    known = set(register["so_dinh_danh"].iloc[:2000])
    unknown = {f"0279{i:08d}" for i in range(500)} - set(register["so_dinh_danh"])
    return known, unknown | {"12345", "0270900000ab"}


def _check_lookup(found: pd.DataFrame, not_found: set[str], register: pd.DataFrame) -> None:
    known, missing = _expected_lookup(register)
    assert list(found.columns) == list(CITIZEN_COLUMNS)
    assert set(found["so_dinh_danh"]) == known and len(found) == len(known)
    assert not_found == missing


# --- construction -------------------------------------------------------------------------------


def test_from_uri() -> None:
    c = PopulationClient.from_uri(
        "http://hotich%2Dtest:s3cr%3Aet%2Fwith%40odd%26chars@127.0.0.1:8800/?max_concurrency=3&timeout_s=7.5&x=1"
    )
    assert c.base_url == "http://127.0.0.1:8800"
    assert (c.client_id, c._secret) == (CLIENT_ID, CLIENT_SECRET)
    assert c.settings.max_concurrency == 3 and c.settings.timeout_s == 7.5
    assert CLIENT_SECRET not in repr(c)
    with pytest.raises(ValueError):
        PopulationClient.from_uri("http://127.0.0.1:8800")
    with pytest.raises(ValueError):
        PopulationClient.from_uri("postgresql://a:b@127.0.0.1/db")


# --- results ------------------------------------------------------------------------------------


def test_batch_get_and_match_round_trip(server, register: pd.DataFrame) -> None:
    with _client(server.base_url) as c:
        found, not_found = c.batch_get(_ids_for_lookup(register))
        _check_lookup(found, not_found, register)
        row = found.set_index("so_dinh_danh").loc["027090000007"]
        assert (row["ngay_sinh"], row["ngay_chet"]) == ("1950-03-03", "2001-02-03")
        assert row["ho_ten"] == "Đỗ Đức Độ" and row["ho_ten_me"] is None
        assert c.get("027090000001")["ho_ten"] == "Nguyễn Văn An"
        assert c.get("027099999999") is None

        queries = pd.DataFrame(
            {
                "ref": ["r1", "r2", "r3", "r4", "r5"],
                "ho_ten": [
                    "Nguyễn Văn An",
                    "Nguyễn Văn An",
                    "Le Thi Ca",
                    "Không Ai",
                    "Tran Van Nam",
                ],
                "gioi_tinh": ["Nam", "Nam", "Nữ", "Nam", "Nam"],
                "ngay_sinh": [pd.Timestamp("1990-01-02"), "1990-01-02", "1985-05-05", 1990, "1970"],
            }
        )
        out = c.match(queries)
        assert list(out.columns) == ["ref", *CITIZEN_COLUMNS]
        by_ref = out.groupby("ref")["so_dinh_danh"].apply(set).to_dict()
        expected_an = {"027090000001", "027090000002", "027090000003", "027090000009"}
        assert by_ref["r1"] == by_ref["r2"] == expected_an
        assert by_ref["r3"] == {"027190000006"}
        assert "r4" not in by_ref
        assert len(out[out["ref"] == "r5"]) == 50


def test_match_asks_identical_queries_once(server) -> None:
    base = server.base_url
    n = 250  # three batches if sent as is; one distinct query in fact
    queries = pd.DataFrame(
        {
            "ref": [f"ref{i}" for i in range(n)],
            "ho_ten": ["Nguyễn Văn An"] * n,
            "gioi_tinh": ["Nam"] * n,
            "ngay_sinh": ["1990-01-02"] * n,
        }
    )
    with _client(base) as c:
        out = c.match(queries)
    assert len(out) == 4 * n and out["ref"].nunique() == n
    stats = admin(base, "stats")["by_path_status"]
    assert stats == {"/oauth/token 200": 1, "/v1/citizens:match 200": 1}
    with _client(base) as c, pytest.raises(ValueError):
        c.match(queries.assign(gioi_tinh="M"))


# --- tokens -------------------------------------------------------------------------------------


def test_refused_credentials_raise_at_once(server) -> None:
    with _client(server.base_url, secret="wrong") as c, pytest.raises(RegisterAuthError):
        c.batch_get(["027090000001"])
    assert c.stats.requests == 1 and c.stats.retries == 0


def test_token_expiry_and_revocation_mid_run(index: RegisterIndex, register: pd.DataFrame) -> None:
    with serve(index, token_ttl_s=1) as s, _client(s.base_url, FAST) as c:
        ids = register["so_dinh_danh"].iloc[:1000].tolist()
        deadline = time.monotonic() + 2.5
        rounds = 0
        while time.monotonic() < deadline:  # spans more than two token lifetimes
            found, not_found = c.batch_get(ids)
            assert len(found) == 1000 and not not_found
            rounds += 1
            time.sleep(0.1)
        assert c.stats.token_fetches >= 3  # refreshed shortly before expiry...
        assert c.stats.reauths <= 1  # ...not after a 401 (one late arrival tolerated)
        # Revocation while a run is in flight: the client re-authenticates and finishes.
        admin(s.base_url, "faults", {"token_ttl_s": 3600, "latency_ms": 100})
        revoker = threading.Timer(0.15, lambda: admin(s.base_url, "revoke-tokens", {}))
        revoker.start()
        c2 = _client(s.base_url, RegisterSettings(**{**FAST.__dict__, "batch_size": 50}))
        found, _ = c2.batch_get(ids)
        revoker.join()
        assert len(found) == 1000
        assert c2.stats.reauths >= 1 and c2.stats.token_fetches == 2
        c2.close()


# --- pacing -------------------------------------------------------------------------------------


def test_429_storm_respects_retry_after(
    index: RegisterIndex, register: pd.DataFrame, caplog
) -> None:
    with serve(index, quota_rps=10) as s:
        settings = RegisterSettings(**{**FAST.__dict__, "batch_size": 50, "max_concurrency": 8,
                                     "progress_every_s": 1.0})  # fmt: skip
        with (
            _client(s.base_url, settings) as c,
            caplog.at_level("INFO", logger="hotich.register.client"),
        ):
            found, not_found = c.batch_get(_ids_for_lookup(register))  # 2,500 IDs: 50 batches
        _check_lookup(found, not_found, register)
        # Paced at 10 requests/s, the 50 batches take seconds: progress is reported meanwhile.
        progress = [
            m for m in caplog.messages if m.startswith("batch_get: ") and "of 50 batches done" in m
        ]
        assert progress, caplog.messages
        done = [int(m.split()[1]) for m in progress]
        assert done == sorted(done) and done[-1] < 50
        assert c.stats.rate_limited > 0
        stats = admin(s.base_url, "stats")
    admitted = [a["t"] for a in stats["admitted"]]
    assert len(admitted) == 50  # each batch admitted exactly once
    # No request was admitted inside a Retry-After window (counted from the 429, less the
    # time an answer already in flight may take to arrive; the bucket refills in 0.1 s).
    for limited in stats["rate_limited"]:
        start, end = limited["t"] + 0.05, limited["t"] + limited["retry_after"] - 0.01
        inside = [t for t in admitted if start < t < end]
        assert not inside, f"admitted {len(inside)} requests inside a Retry-After window"


def test_30_percent_5xx_still_completes(server, register: pd.DataFrame) -> None:
    admin(server.base_url, "faults", {"error_rate": 0.3, "seed": 3})
    people = register.iloc[100:400].reset_index(drop=True)  # synthetic: no 50-namesake cap
    settings = RegisterSettings(**{**FAST.__dict__, "batch_size": 100})
    with _client(server.base_url, settings) as c:
        found, not_found = c.batch_get(_ids_for_lookup(register))
        _check_lookup(found, not_found, register)
        out = c.match(
            pd.DataFrame(
                {
                    "ref": [str(i) for i in range(300)],
                    "ho_ten": people["ho_ten"],
                    "gioi_tinh": people["gioi_tinh"],
                    "ngay_sinh": people["ngay_sinh"],
                }
            )
        )
    # every person finds at least itself
    mine = out.merge(
        people[["so_dinh_danh"]].assign(ref=[str(i) for i in range(300)]),
        on=["ref", "so_dinh_danh"],
    )
    assert len(mine) == 300
    assert c.stats.server_errors > 0 and c.stats.retries >= c.stats.server_errors


def test_outage_longer_than_budget_raises(server) -> None:
    base = server.base_url
    admin(base, "faults", {"outage_seconds": 30, "outage_retry_after": "auto"})
    settings = RegisterSettings(**{**FAST.__dict__, "retry_budget_s": 3})
    with _client(base, settings) as c:
        t0 = time.monotonic()
        with pytest.raises(RegisterUnavailable):
            c.batch_get(["027090000001"])
        assert time.monotonic() - t0 < 1  # raised at once, not after waiting
        assert c.stats.requests == 1


def test_announced_outage_within_budget_is_waited_out(server) -> None:
    base = server.base_url
    with _client(base) as c:
        c.batch_get(["027090000001"])  # hold a token already
        admin(base, "faults", {"outage_seconds": 1.2, "outage_retry_after": "auto"})
        admin(base, "reset-stats", {})
        t0 = time.monotonic()
        found, _ = c.batch_get(["027090000001"])
        assert len(found) == 1 and time.monotonic() - t0 >= 1.0
    # one 503, then nothing until the announced end
    assert admin(base, "stats")["by_status"] == {"503": 1, "200": 1}


def test_unannounced_outage_gives_up_after_retries(server) -> None:
    base = server.base_url
    admin(base, "faults", {"outage_seconds": 30, "outage_retry_after": None})
    settings = RegisterSettings(**{**FAST.__dict__, "max_retries": 3})
    with _client(base, settings) as c, pytest.raises(RegisterUnavailable):
        c.batch_get(["027090000001"])
    assert c.stats.requests == 4 and c.stats.retries == 3


def test_connection_refused_is_unavailable() -> None:
    settings = RegisterSettings(**{**FAST.__dict__, "max_retries": 2})
    with _client("http://127.0.0.1:9", settings) as c, pytest.raises(RegisterUnavailable):
        c.batch_get(["027090000001"])
    assert c.stats.connection_errors == 3


def test_circuit_breaker_opens_fails_fast_and_recovers(server) -> None:
    base = server.base_url
    settings = RegisterSettings(
        **{**FAST.__dict__, "breaker_threshold": 3, "breaker_cooldown_s": 0.5, "max_retries": 10}
    )
    with _client(base, settings) as c:
        c.batch_get(["027090000001"])  # token in hand
        admin(base, "faults", {"error_rate": 1.0, "error_statuses": [500]})
        admin(base, "reset-stats", {})
        with pytest.raises(RegisterCircuitOpen):
            c.batch_get(["027090000001"])
        assert c.stats.breaker_opens == 1
        with pytest.raises(RegisterCircuitOpen):  # fails fast: nothing sent
            c.batch_get(["027090000002"])
        assert admin(base, "stats")["by_status"] == {"500": 3}
        admin(base, "faults", {"error_rate": 0.0})
        time.sleep(0.6)
        found, _ = c.batch_get(["027090000001"])  # half-open trial succeeds, circuit closes
        assert len(found) == 1
        assert c.stats.as_dict()["breaker_opens"] == 1
