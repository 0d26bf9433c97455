"""The GX kwargs patch (hotich.gx_kwargs, decision 0027): applied on the pinned GX, and its
methods answer exactly as GX's own do for every expectation of hotich's suites."""

from __future__ import annotations

import copy
from typing import Any

import great_expectations
import pytest

from hotich import gx_kwargs
from hotich import validate as v

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
    assert great_expectations.__version__ == gx_kwargs.PATCHED_VERSION
    assert gx_kwargs.apply() is True
    from great_expectations.expectations.expectation import Expectation

    assert set(gx_kwargs.ORIGINAL) == set(gx_kwargs._METHODS)
    for name in gx_kwargs.ORIGINAL:
        assert getattr(Expectation, name) is getattr(gx_kwargs, name)
        assert gx_kwargs.ORIGINAL[name] is not getattr(gx_kwargs, name)


def test_same_answers_as_gx(expectations: list[Any]) -> None:
    original = gx_kwargs.ORIGINAL
    assert len(expectations) > 200
    types = set()
    for exp in expectations:
        types.add(type(exp).__name__)
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
    with caplog.at_level("WARNING", logger="hotich.gx_kwargs"):
        assert gx_kwargs.apply() is False
    assert "1.99.0" in caplog.text and "not applied" in caplog.text
