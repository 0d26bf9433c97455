-- V007: incidents with a life (docs/reliability.md, "Incidents"; decision 0011). One row
-- per incident: opened by a task's final failure (or a run that finished degraded),
-- repeated by the same kind in the same district, closed by the next success of the
-- same district and stage. What was sent about it, and what is still to be sent, is in
-- ops.incident_notice. Idempotent: safe to run twice.

CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE IF NOT EXISTS ops.incident (
    incident_id    bigserial   PRIMARY KEY,
    kind           text        NOT NULL,
    -- null: the run as a whole (run_incomplete, a plan that could not start)
    district_code  text,
    severity       text        NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    state          text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    occurrences    integer     NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    -- '<dag_id>:<task_id>' of every task that raised it: a success of one of them (same
    -- district) closes it
    stages         text[]      NOT NULL,
    -- the DAG runs it concerns, oldest first, each once
    run_ids        text[]      NOT NULL,
    last_error     text        NOT NULL,  -- personal IDs masked (hotich.model.mask_ids)
    -- the runbook's row, as it stood when the incident opened
    what_en        text        NOT NULL,
    what_vi        text        NOT NULL,
    action_en      text        NOT NULL,
    action_vi      text        NOT NULL,
    closed_at      timestamptz,
    closed_by_run  text,
    closed_by_stage text,
    open_for       interval    GENERATED ALWAYS AS (closed_at - first_seen) STORED,
    CHECK ((state = 'closed') = (closed_at IS NOT NULL))
);

-- One open incident per kind and district (a run-wide one: district null).
CREATE UNIQUE INDEX IF NOT EXISTS incident_one_open
    ON ops.incident (kind, coalesce(district_code, '')) WHERE state = 'open';
-- A success looks up what it closes: the open incidents of its district.
CREATE INDEX IF NOT EXISTS incident_open_district
    ON ops.incident (coalesce(district_code, '')) WHERE state = 'open';

-- One row per message due to one channel about one event of an incident (opened, severity
-- raised, closed; never a repeat). The message is fixed when the event happens, so that a
-- retry (at the next event, when the channel failed) sends what it would have sent.
CREATE TABLE IF NOT EXISTS ops.incident_notice (
    notice_id      bigserial   PRIMARY KEY,
    incident_id    bigint      NOT NULL REFERENCES ops.incident (incident_id),
    event          text        NOT NULL CHECK (event IN ('opened', 'severity_raised', 'closed')),
    channel        text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    message        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    attempts       integer     NOT NULL DEFAULT 0,
    last_error     text,
    delivered_at   timestamptz
);
CREATE INDEX IF NOT EXISTS incident_notice_pending
    ON ops.incident_notice (notice_id) WHERE delivered_at IS NULL;

-- Quality history: every run's per-rule results per district, written by the load in the
-- transaction that commits the district (include/sql/load/quality_results.sql), so that a
-- district's history holds exactly its committed runs. A rule is named by its description
-- in the suite (expectations/*.json). No names or IDs: counts only.
CREATE TABLE IF NOT EXISTS ops.quality_result (
    run_id         text        NOT NULL,
    district_code  text        NOT NULL,
    record_type    text        NOT NULL,  -- the suite: birth, death, marriage, unknown
    rule           text        NOT NULL,
    expectation    text        NOT NULL,  -- the GX expectation type
    columns        text        NOT NULL,  -- the columns it reads, comma-separated
    reason         text        NOT NULL,  -- the reason code a failing record gets
    evaluated      integer     NOT NULL CHECK (evaluated >= 0),
    failing        integer     NOT NULL CHECK (failing >= 0),
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, district_code, record_type, rule)
);
-- A district's history per reason, newest first (charts, the quality spike's median).
CREATE INDEX IF NOT EXISTS quality_result_history
    ON ops.quality_result (district_code, reason, recorded_at DESC);
