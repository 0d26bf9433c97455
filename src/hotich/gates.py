"""Quality gates: per district and run, pass, warn or block from the run's quality results
(docs/reliability.md, "Quality gates"; decision 0013).

A gate is a table of rules judged against thresholds of the campaign file's
``quality_gates:`` map (a ``default`` and per-district overrides under ``districts``):

- each GX rule: its share of failing records among those it evaluated (rules that
  evaluated fewer than ``min_evaluated`` records are not judged); the ``unknown`` suite's
  (records of no known type) among all the district's records;
- the run's quarantine rate (runs with fewer than ``min_evaluated`` records are not judged);
- the quality spike (``hotich.quality``): ``spike: warn`` (default), ``block`` or ``pass``.

The most severe action found is the decision. :func:`decide` is pure; the edges (the
release waiting for a district, the ``ops.quality_gate`` row) are ``hotich.pipeline``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hotich.config import ConfigError, _read_yaml
from hotich.errors import IncidentError
from hotich.model import RecordType

ACTIONS = ("pass", "warn", "block")


@dataclass(frozen=True)
class Thresholds:
    """A district's gate thresholds: shares in [0, 1]; ``None`` turns a level off."""

    rule_warn: float | None = 0.20
    rule_block: float | None = 0.50
    quarantine_warn: float | None = 0.40
    quarantine_block: float | None = 0.80
    min_evaluated: int = 20
    spike: str = "warn"


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided for a district's run, the findings over a threshold (rule,
    reason, failing, evaluated, share, threshold, action) and the line that says why."""

    decision: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """``rule X: 412 of 2,000 records failing (20.6%) > block at 10%; …``, the
        blocking findings first."""
        order = sorted(self.findings, key=lambda f: (f["action"] != "block", -f["share"]))
        return "; ".join(finding_line(f) for f in order)


class QualityGateBlocked(IncidentError):
    """A district's run blocked by its quality gate: nothing of it is written."""

    incident_kind = "quality_gate_blocked"

    def __init__(self, district_code: str, run_id: str, gate: GateDecision) -> None:
        self.district_code, self.run_id, self.gate = district_code, run_id, gate
        super().__init__(f"district {district_code}: quality gate blocked the load: {gate.summary}")


def finding_line(f: Mapping[str, Any]) -> str:
    """One finding as the incident and the page say it."""
    if f["rule"] == "spike":
        return f"quality spike ({f['action']}): {f['detail']}"
    # A rule is named by its description, a sentence: its full stop would read ".:".
    return (f"{f['rule'].rstrip('.')}: {f['failing']:,} of {f['evaluated']:,} records failing"
            f" ({f['share']:.1%}) > {f['action']} at {f['threshold']:.0%}")  # fmt: skip


def _check(value: Any, name: str, where: str) -> Any:
    if name == "spike":
        if value not in ACTIONS:
            raise ConfigError(f"{where}: spike must be one of {', '.join(ACTIONS)}")
        return value
    if name == "min_evaluated":
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: min_evaluated must be a whole number >= 0")
        return value
    if value is not None and (not isinstance(value, int | float) or not 0 <= value <= 1):
        raise ConfigError(f"{where}: {name} must be a share between 0 and 1, or null")
    return None if value is None else float(value)


def _override(base: Thresholds, doc: Any, where: str) -> Thresholds:
    if doc is None:
        return base
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a map of thresholds")
    names = {f.name for f in fields(Thresholds)}
    unknown = sorted(set(doc) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown thresholds {', '.join(map(str, unknown))}")
    return replace(base, **{k: _check(v, k, f"{where}.{k}") for k, v in doc.items()})


def load_thresholds(path: Path, district_code: str) -> Thresholds:
    """The district's thresholds from the campaign file's ``quality_gates:`` map (the
    built-in defaults when it has none)."""
    doc = _read_yaml(path, "campaign file")
    gates = doc.get("quality_gates") if isinstance(doc, dict) else None
    if gates is None:
        return Thresholds()
    if not isinstance(gates, dict):
        raise ConfigError(f"{path}: quality_gates must be a map")
    base = _override(Thresholds(), gates.get("default"), f"{path}: quality_gates.default")
    districts = gates.get("districts") or {}
    if not isinstance(districts, dict):
        raise ConfigError(f"{path}: quality_gates.districts must be a map of district codes")
    own = {str(k): v for k, v in districts.items()}.get(district_code)
    return _override(base, own, f"{path}: quality_gates.districts.{district_code}")


def _action(share: float, warn: float | None, block: float | None) -> tuple[str, float | None]:
    if block is not None and share > block:
        return "block", block
    if warn is not None and share > warn:
        return "warn", warn
    return "pass", None


def rule_findings(rules: pd.DataFrame, t: Thresholds, records: int | None = None) -> pd.DataFrame:
    """The rules (``hotich.validate.rule_results``) over a threshold, with their action.

    The ``unknown`` suite's rules are judged over the district's ``records`` (when given):
    a record is in that suite because its type is not one of the three, so every record it
    evaluates fails it, and its own share would always be 100 %."""
    rules = rules.copy()
    if records is not None:
        catch_all = rules["record_type"] == RecordType.UNKNOWN.value
        rules.loc[catch_all, "evaluated"] = max(records, 0)
    judged = rules[rules["evaluated"] >= max(t.min_evaluated, 1)].copy()
    judged["share"] = judged["failing"] / judged["evaluated"]
    acts = [_action(s, t.rule_warn, t.rule_block) for s in judged["share"]]
    judged["action"] = [a for a, _ in acts]
    judged["threshold"] = [th for _, th in acts]
    return judged[judged["action"] != "pass"]


def decide(
    rules: pd.DataFrame, records: int, quarantined: int, spike: str | None, t: Thresholds
) -> GateDecision:
    """The gate's decision for a district's run: ``rules`` its per-rule results, ``records``
    and ``quarantined`` its counts, ``spike`` its quality-spike line (or None)."""
    keep = ["rule", "record_type", "reason", "failing", "evaluated", "share", "threshold", "action"]
    found: list[dict[str, Any]] = [
        {
            str(k): (
                int(v)
                if k in ("failing", "evaluated")
                else float(v)
                if k in ("share", "threshold")
                else str(v)
            )
            for k, v in row.items()
        }  # fmt: skip
        for row in rule_findings(rules, t, records)[keep].to_dict("records")
    ]
    if records >= max(t.min_evaluated, 1):
        rate = quarantined / records
        action, threshold = _action(rate, t.quarantine_warn, t.quarantine_block)
        if action != "pass":
            found.append({"rule": "quarantine rate", "record_type": "", "reason": "",
                          "failing": quarantined, "evaluated": records, "share": rate,
                          "threshold": threshold, "action": action})  # fmt: skip
    if spike and t.spike != "pass":
        found.append({"rule": "spike", "record_type": "", "reason": "", "failing": 0,
                      "evaluated": records, "share": 0.0, "threshold": 0.0,
                      "action": t.spike, "detail": spike})  # fmt: skip
    actions = {f["action"] for f in found}
    decision = "block" if "block" in actions else "warn" if "warn" in actions else "pass"
    return GateDecision(decision, found)
