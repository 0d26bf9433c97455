"""Errors that know their incident kind where they are raised (docs/reliability.md).

The person on call reads an incident by its kind (``hotich.ops.incidents.KINDS``): the
exception raised says which, through its class, instead of the incident code matching
class names or messages.
"""

from __future__ import annotations

import re
from typing import ClassVar

DEFAULT_KIND = "task_failed"


class IncidentError(Exception):
    """Base of the platform's errors: ``incident_kind`` names the runbook's row."""

    incident_kind: ClassVar[str] = DEFAULT_KIND


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def loggable(text: object) -> str:
    """``text`` safe for one log line: control characters and line separators (a newline
    in a file name, a terminal escape) written as ``\\n``/``\\x1b``/``\\u2028`` escapes, so
    that nobody splits or forges a line. Other characters (Vietnamese letters) are kept."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def incident_kind(exc: BaseException | None) -> str:
    """The kind of the first :class:`IncidentError` in ``exc`` and its causes, outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, IncidentError):
            return exc.incident_kind
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return DEFAULT_KIND
