-- V008: quality gates (docs/reliability.md, "Quality gates"; decision 0013). Per district
-- and run, the gate's decision from the run's quality results: pass, warn, block, or
-- released (a block an engineer released for one run). A blocked district writes no
-- verdicts and loads nothing; its records are read again by the next run. A release is
-- recorded with who, when and why, and which run used it (once). Counts only: no value,
-- no source key. Idempotent: safe to run twice.

CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE IF NOT EXISTS ops.quality_release (
    release_id     bigserial   PRIMARY KEY,
    district_code  text        NOT NULL,
    released_by    text        NOT NULL,
    released_at    timestamptz NOT NULL DEFAULT now(),
    reason         text        NOT NULL CHECK (length(btrim(reason)) > 0),
    -- the blocked run it answers (the latest block when it was given), for the record
    blocked_run    text,
    -- the run that used it (its gate passed once); null: still to be used
    used_by_run    text,
    used_at        timestamptz,
    CHECK ((used_by_run IS NULL) = (used_at IS NULL))
);
-- One release waiting per district: a second one before a run used the first is refused.
CREATE UNIQUE INDEX IF NOT EXISTS quality_release_one_waiting
    ON ops.quality_release (district_code) WHERE used_by_run IS NULL;

CREATE TABLE IF NOT EXISTS ops.quality_gate (
    run_id         text        NOT NULL,
    district_code  text        NOT NULL,
    decision       text        NOT NULL
                   CHECK (decision IN ('pass', 'warn', 'block', 'released')),
    -- the line that says why (the rules over a threshold, with their counts); '' for a pass
    summary        text        NOT NULL DEFAULT '',
    -- one object per rule judged over a threshold: rule, reason, failing, evaluated,
    -- share, threshold, action (warn/block)
    findings       jsonb       NOT NULL DEFAULT '[]',
    records        integer     NOT NULL CHECK (records >= 0),
    quarantined    integer     NOT NULL CHECK (quarantined >= 0),
    release_id     bigint      REFERENCES ops.quality_release (release_id),
    decided_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, district_code)
);
-- A district's gate history, newest first (the quality page).
CREATE INDEX IF NOT EXISTS quality_gate_history
    ON ops.quality_gate (district_code, decided_at DESC);

-- The quality page's reads of failing source keys are logged like the desk's.
ALTER TABLE recon.access_log DROP CONSTRAINT IF EXISTS access_log_action_check;
ALTER TABLE recon.access_log ADD CONSTRAINT access_log_action_check
    CHECK (action IN ('view', 'decide', 'list', 'release', 'failing_keys'));
