"""The GX patches (hotich.gx_patches, decisions 0027-0029): applied on the pinned GX, and its
methods answer exactly as GX's own do for every expectation of hotich's suites."""

from __future__ import annotations

import copy
import datetime as dt
import enum
from pathlib import Path
from typing import Any

import great_expectations
import numpy as np
import pandas as pd
import pytest
from great_expectations.core.id_dict import IDDict, MetricKwargs

from hotich import gx_patches
from hotich import validate as v


class Color(enum.Enum):
    RED = "red"


class Label(str):
    pass


RUNTIME_CONFIGURATIONS: list[dict[str, Any] | None] = [
    None,
    {},
    {"result_format": {"result_format": "COMPLETE"}},
    {"result_format": "SUMMARY", "catch_exceptions": False},
]


@pytest.fixture(scope="module")
def expectations() -> list[Any]:
    """Every expectation of the suites, as GX builds it for a validation (batch_id set)."""
    suites = v._load_suites(str(v.EXPECTATIONS_DIR))
    out = []
    for loaded in suites.values():
        for group in loaded.groups:
            for config in group.suite.expectation_configurations:
                config = copy.deepcopy(config)
                config.kwargs["batch_id"] = "hotich_records-records"
                out.append(config.to_domain_obj())
    return out


def test_applied_on_the_pinned_version() -> None:
    """Loading the suites applies it; a GX upgrade fails here until the methods are read
    again against the new GX's and PATCHED_VERSION moved."""
    v._load_suites(str(v.EXPECTATIONS_DIR))
    assert great_expectations.__version__ == gx_patches.PATCHED_VERSION
    assert gx_patches.apply() is True
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation

    assert set(gx_patches.ORIGINAL) == {*gx_patches._METHODS, "to_id", "HASH_THRESHOLD"}
    assert IDDict.to_id is gx_patches.to_id
    for name in gx_patches._METHODS:
        assert getattr(Expectation, name) is getattr(gx_patches, name)
        assert gx_patches.ORIGINAL[name] is not getattr(gx_patches, name)


def test_same_answers_as_gx(expectations: list[Any]) -> None:
    original = gx_patches.ORIGINAL
    assert len(expectations) > 200
    types = set()
    for exp in expectations:
        types.add(type(exp).__name__)
        assert gx_patches._kwargs(exp) == exp.configuration.kwargs
        assert exp._get_domain_kwargs() == original["_get_domain_kwargs"](exp)
        assert exp._get_success_kwargs() == original["_get_success_kwargs"](exp)
        for key in (*exp.domain_keys, *exp.success_keys, *exp.runtime_keys):
            assert exp._get_success_kwarg(key) == original["_get_success_kwarg"](exp, key)
        assert exp._get_success_kwarg("no_such_key", 7) == 7
        for runtime in RUNTIME_CONFIGURATIONS:
            ours = exp._get_runtime_kwargs(runtime_configuration=copy.deepcopy(runtime))
            gx = original["_get_runtime_kwargs"](exp, runtime_configuration=copy.deepcopy(runtime))
            assert ours == gx, (type(exp).__name__, runtime)
    # The suites use more than one kind of expectation (map, pair, multicolumn ...).
    assert len(types) >= 5, types


def test_a_key_no_field_knows_is_warned_of_as_gx_does(
    expectations: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    exp = expectations[0]
    with caplog.at_level("WARNING", logger="great_expectations.expectations.expectation"):
        assert exp._get_success_kwarg("no_such_key") is None
    assert "no_such_key" in caplog.text


def test_another_gx_version_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(great_expectations, "__version__", "1.99.0")
    with caplog.at_level("WARNING", logger="hotich.gx_patches"):
        assert gx_patches.apply() is False
    assert "1.99.0" in caplog.text and "not applied" in caplog.text


# IDDict.to_id (decision 0028): the same id as GX's for what JSON takes as it is, and for
# what GX has to convert first.
ID_CASES: list[dict[str, Any]] = [
    {},
    {"column": "ho_ten"},
    {"column": "ho_ten", "batch_id": "b", "row_condition": None, "condition_parser": None},
    {"a": 1, "b": True, "c": 2.5, "d": [1, "x", None], "e": ("t", 3), "f": {"g": {"h": None}}},
    {"a": float("nan"), "b": 1},
    {"a": [1.0, float("nan")], "b": "x"},
    {"a": pd.Timestamp("2025-06-30"), "b": None},
    {"a": np.int64(3), "b": np.float32(0.1), "c": np.bool_(True)},
    {"a": {1: "numeric key"}, "b": 0},
    {"a": {"x", "y"}, "b": 0},
    {"a": dt.date(2025, 6, 30), "b": Path("/x")},
    {"a": Color.RED, "b": Label("str subclass")},
    {"a": IDDict({"nested": None, "n": 2}), "b": MetricKwargs({"m": [None]})},
]


@pytest.mark.parametrize("data", ID_CASES, ids=range(len(ID_CASES)))
def test_to_id_is_gxs(data: dict[str, Any]) -> None:
    gx_patches.apply()
    gx = gx_patches.ORIGINAL["to_id"]
    for kind in (IDDict, MetricKwargs):
        ours_dict, gx_dict = kind(copy.deepcopy(data)), kind(copy.deepcopy(data))
        assert ours_dict.to_id() == gx(gx_dict)
        keys = list(data)[:2]
        assert ours_dict.to_id(id_keys=keys) == gx(gx_dict, id_keys=keys)
        assert ours_dict.to_id(id_ignore_keys=keys[:1]) == gx(gx_dict, id_ignore_keys=keys[:1])


def test_every_id_of_a_validate_call_is_gxs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real validate call over every kind of record: each id the patched ``to_id`` gives
    equals GX's own, and most of them skip GX's conversion."""
    from tests.unit.test_validate import PROVINCES, RUN, birth, death, make_records, marriage

    gx_patches.apply()
    gx = gx_patches.ORIGINAL["to_id"]
    seen: list[tuple[Any, Any]] = []
    as_is: list[bool] = []  # whether the id skipped GX's JSON conversion

    def compared(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        ours = gx_patches.to_id(self, id_keys, id_ignore_keys)
        as_is.append(gx_patches._json_as_is(dict(self), gx_patches._dict_types(type(self))))
        seen.append((ours, gx(copy.deepcopy(self), id_keys, id_ignore_keys)))
        return ours

    records = make_records([birth(), death(), marriage(), birth(ho_ten=None)])
    monkeypatch.setattr(IDDict, "to_id", compared)
    v.validate_records(records, RUN, PROVINCES)
    assert len(seen) > 1000
    assert [ours for ours, _ in seen] == [theirs for _, theirs in seen]
    assert len(as_is) == len(seen) and sum(as_is) > 0.9 * len(seen)


def test_no_batch_is_fingerprinted() -> None:
    """GX fingerprints a batch's data unless its threshold says not to (decision 0029):
    with the patch, a batch carries no fingerprint; with GX's threshold, it does."""
    from great_expectations.execution_engine import pandas_execution_engine

    gx_patches.apply()
    assert gx_patches.ORIGINAL["HASH_THRESHOLD"] == 1e9
    _, batch_def = v._gx_runtime()
    frame = pd.DataFrame({"ho_ten": ["An", "Bình"]})

    def markers() -> dict[str, Any]:
        return dict(batch_def.get_batch(batch_parameters={"dataframe": frame}).batch_markers)

    assert "pandas_data_fingerprint" not in markers()
    pandas_execution_engine.HASH_THRESHOLD = gx_patches.ORIGINAL["HASH_THRESHOLD"]
    try:
        assert "pandas_data_fingerprint" in markers()  # the marker the patch removes
    finally:
        pandas_execution_engine.HASH_THRESHOLD = 0
