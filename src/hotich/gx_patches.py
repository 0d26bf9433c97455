"""Patches on the pinned Great Expectations that remove fixed costs of a validate call.

Three, each measured in ``benchmarks/RESULTS.md`` and compared with GX's own behaviour by
``tests/unit/test_gx_patches.py``:

1. An expectation's kwargs read once per call, not once per key (decision 0027).
2. Metric kwargs hashed without GX's generic JSON conversion where it changes nothing
   (decision 0028).
3. No fingerprint of every batch's data (decision 0029).

GX 1.24's ``Expectation`` answers ``_get_domain_kwargs``, ``_get_success_kwargs``,
``_get_runtime_kwargs`` and ``_get_success_kwarg`` by looking each key up in
``self.configuration.kwargs``, and ``configuration`` is a property that builds a whole
``ExpectationConfiguration`` (a pydantic ``.dict()`` and a regex over the class name) on
every access: about 30,000 builds in one validate call of hotich's suites, a third of GX's
time there (``benchmarks/RESULTS.md``). :func:`apply` puts in their place methods that read
the expectation's kwargs once per call, as ``configuration`` computes them but without
building the configuration around them, and return the same dicts; decision 0027 says why
and how it is checked.

Each of the 12,708 metric configurations of such a call hashes its kwargs with
``IDDict.to_id``: GX's generic ``convert_to_json_serializable`` first (three numpy
``issubdtype`` checks for every ``None``), then ``json.dumps`` and md5. When the kwargs hold
only what JSON encodes as it is (``str``, ``int``, ``bool``, ``None``, a float that is not
NaN, lists, tuples and dicts of them), that conversion returns them unchanged, and the
patched ``to_id`` skips it; anything else (a ``Timestamp``, a numpy scalar) still goes
through GX's (decision 0028).

For every batch, GX's pandas execution engine hashes the whole frame
(``pd.util.hash_pandas_object``) into a ``pandas_data_fingerprint`` batch marker whenever it
holds less than ``HASH_THRESHOLD`` (1 GB) of memory: 234 batches a call, each one column's
frame of the district, to fill a marker nothing in hotich reads. :func:`apply` sets the
threshold to 0 (decision 0029).

Only the version the requirements pin is patched: on any other, :func:`apply` leaves GX as it
is and says so, and ``tests/unit/test_gx_patches.py`` fails until the methods are compared
again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

PATCHED_VERSION = "1.24.1"
_METHODS = ("_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs",
            "_get_success_kwarg")  # fmt: skip

# GX's own methods, kept by apply() so that a test can compare them with these
# (``to_id`` is IDDict's; the others are Expectation's), and its fingerprint threshold.
ORIGINAL: dict[str, Any] = {}

_AS_IS = frozenset((str, int, bool, type(None)))
_SEQUENCES = frozenset((list, tuple))


# What GX 1.24.1's ``Expectation.configuration`` takes out of the expectation's fields
# before the rest become the configuration's kwargs.
_NOT_KWARGS = ("meta", "notes", "description", "severity", "id", "rendered_content")


def _kwargs(exp: Any) -> dict[str, Any]:
    """``exp.configuration.kwargs`` without building the configuration around them (an
    ``ExpectationConfiguration``: its meta checked for JSON, its type's name by regex)."""
    kwargs = exp.dict(exclude_defaults=True)
    for key in _NOT_KWARGS:
        kwargs.pop(key, None)
    return kwargs


def _domain(exp: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: kwargs.get(key, exp._get_default_value(key)) for key in exp.domain_keys}


def _success(exp: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {key: kwargs.get(key, exp._get_default_value(key)) for key in exp.success_keys}
    out.update(_domain(exp, kwargs))
    return out


def _one(exp: Any, kwargs: dict[str, Any], key: str, default: Any = None) -> Any:
    """``Expectation._get_success_kwarg`` over kwargs already built."""
    if key in kwargs:
        return kwargs[key]
    field = exp.__fields__.get(key)
    if field is not None:
        return field.default if not field.required else default
    logging.getLogger("great_expectations.expectations.expectation").warning(
        f'_get_success_kwarg called with key "{key}", '
        f"but it is not a known field of {type(exp).__name__}"
    )
    return default


def _get_domain_kwargs(self: Any) -> dict[str, Any]:
    return _domain(self, _kwargs(self))


def _get_success_kwargs(self: Any) -> dict[str, Any]:
    return _success(self, _kwargs(self))


def _get_success_kwarg(self: Any, key: str, default: Any = None) -> Any:
    return _one(self, _kwargs(self), key, default)


def _get_runtime_kwargs(self: Any, runtime_configuration: dict | None = None) -> dict:
    from great_expectations.expectations.expectation_configuration import parse_result_format

    runtime_configuration = runtime_configuration or {}
    kwargs = _kwargs(self)
    success = _success(self, kwargs)
    runtime = {
        key: runtime_configuration.get(key, _one(self, kwargs, key)) for key in self.runtime_keys
    }
    runtime.update(success)
    runtime["result_format"] = parse_result_format(runtime["result_format"])
    return runtime


def _json_as_is(value: Any, dicts: frozenset[type]) -> bool:
    """Whether GX's ``convert_to_json_serializable`` would return ``value`` as it is (up to
    tuples becoming lists, which ``json.dumps`` encodes alike)."""
    kind = type(value)
    if kind in _AS_IS:
        return True
    if kind is float:
        return value == value  # GX turns NaN into None
    if kind in dicts:
        return all(type(k) is str and _json_as_is(v, dicts) for k, v in value.items())
    if kind in _SEQUENCES:
        return all(_json_as_is(v, dicts) for v in value)
    return False


@functools.cache
def _dict_types(kind: type) -> frozenset[type]:
    """The dict types taken as they are in an id of ``kind`` (an IDDict or a subclass)."""
    from great_expectations.core.id_dict import IDDict

    return frozenset((dict, IDDict, kind))


def to_id(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
    """``IDDict.to_id``: the same id, without GX's JSON conversion where it changes nothing."""
    from great_expectations.util import convert_to_json_serializable

    if id_keys is None:
        id_keys = self.keys()
    if id_ignore_keys is None:
        id_ignore_keys = self._id_ignore_keys
    id_keys = set(id_keys) - set(id_ignore_keys)
    if len(id_keys) == 0:
        return ()
    if len(id_keys) == 1:
        key = next(iter(id_keys))
        return f"{key}={self[key]!s}"
    data: Any = {k: self[k] for k in id_keys}
    kind: Any = type(self)
    if not _json_as_is(data, _dict_types(kind)):
        data = convert_to_json_serializable(data=data)
    return hashlib.md5(
        json.dumps(data, sort_keys=True).encode("utf-8"), usedforsecurity=False
    ).hexdigest()


def apply() -> bool:
    """Patch GX (once per process): ``Expectation``'s kwargs, ``IDDict.to_id``, no batch
    fingerprint. False, changing nothing, on a GX version other than
    :data:`PATCHED_VERSION`."""
    import great_expectations
    from great_expectations.core.id_dict import IDDict
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.expectations.expectation import Expectation

    if great_expectations.__version__ != PATCHED_VERSION:
        log.warning(
            "Great Expectations %s: hotich's patches are written for %s and are not applied "
            "(validation is correct, only slower)",
            great_expectations.__version__,
            PATCHED_VERSION,
        )
        return False
    if not ORIGINAL:
        ORIGINAL.update({name: getattr(Expectation, name) for name in _METHODS})
        ORIGINAL["to_id"] = IDDict.to_id
        for name in _METHODS:
            setattr(Expectation, name, globals()[name])
        IDDict.to_id = to_id  # type: ignore[method-assign]
        ORIGINAL["HASH_THRESHOLD"] = pandas_execution_engine.HASH_THRESHOLD
        pandas_execution_engine.HASH_THRESHOLD = 0  # no frame is under 0 bytes: no fingerprint
    return True
