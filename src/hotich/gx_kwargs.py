"""Great Expectations reads an expectation's kwargs once per call, not once per key.

GX 1.24's ``Expectation`` answers ``_get_domain_kwargs``, ``_get_success_kwargs``,
``_get_runtime_kwargs`` and ``_get_success_kwarg`` by looking each key up in
``self.configuration.kwargs``, and ``configuration`` is a property that builds a whole
``ExpectationConfiguration`` (a pydantic ``.dict()`` and a regex over the class name) on
every access: about 30,000 builds in one validate call of hotich's suites, a third of GX's
time there (``benchmarks/RESULTS.md``). :func:`apply` puts in their place methods that build
it once per call and return the same dicts; decision 0027 says why and how it is checked.

Only the version the requirements pin is patched: on any other, :func:`apply` leaves GX as it
is and says so, and ``tests/unit/test_gx_kwargs.py`` fails until the methods are compared
again.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

PATCHED_VERSION = "1.24.1"
_METHODS = ("_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs",
            "_get_success_kwarg")  # fmt: skip

# GX's own methods, kept by apply() so that a test can compare them with these.
ORIGINAL: dict[str, Any] = {}


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
    return _domain(self, self.configuration.kwargs)


def _get_success_kwargs(self: Any) -> dict[str, Any]:
    return _success(self, self.configuration.kwargs)


def _get_success_kwarg(self: Any, key: str, default: Any = None) -> Any:
    return _one(self, self.configuration.kwargs, key, default)


def _get_runtime_kwargs(self: Any, runtime_configuration: dict | None = None) -> dict:
    from great_expectations.expectations.expectation_configuration import parse_result_format

    runtime_configuration = runtime_configuration or {}
    kwargs = self.configuration.kwargs
    success = _success(self, kwargs)
    runtime = {
        key: runtime_configuration.get(key, _one(self, kwargs, key)) for key in self.runtime_keys
    }
    runtime.update(success)
    runtime["result_format"] = parse_result_format(runtime["result_format"])
    return runtime


def apply() -> bool:
    """Patch GX's ``Expectation`` (once per process); False, changing nothing, on a GX
    version other than :data:`PATCHED_VERSION`."""
    import great_expectations
    from great_expectations.expectations.expectation import Expectation

    if great_expectations.__version__ != PATCHED_VERSION:
        log.warning(
            "Great Expectations %s: the kwargs patch is written for %s and is not applied "
            "(validation is correct, only slower)",
            great_expectations.__version__,
            PATCHED_VERSION,
        )
        return False
    if not ORIGINAL:
        ORIGINAL.update({name: getattr(Expectation, name) for name in _METHODS})
        for name in _METHODS:
            setattr(Expectation, name, globals()[name])
    return True
