-- V010: the run's answer store of the population register (docs/register-api.md, "Once
-- per run"; decision 0015). District tasks of one run, in whatever process or machine,
-- claim the IDs and match queries they will ask (one row each in register_ask), ask the
-- register only for what they claimed, and write its answers (register_answer) for the
-- others to read. Personal data, kept only for the run: the run's report deletes them,
-- and the next run's plan step deletes what a run left (docs/personal-data.md).
-- Idempotent: safe to run twice.

CREATE TABLE IF NOT EXISTS recon.register_ask (
    run_id       text        NOT NULL,
    -- 'id': a personal ID of batchGet; 'query': a match query (folded name, sex, date)
    kind         text        NOT NULL CHECK (kind IN ('id', 'query')),
    ask_key      text        NOT NULL,
    -- the district whose task asks it
    claimed_by   text        NOT NULL,
    -- when it was claimed, or last confirmed while the asks go on (stale after
    -- HOTICH_REGISTER_ANSWER_WAIT_S: another district then takes it over)
    claimed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- when its answer was written; null: still being asked
    answered_at  timestamptz,
    PRIMARY KEY (run_id, kind, ask_key)
);

-- One row per (key, citizen) of an answer: a key answered without a row is an ID the
-- register does not know, or a query without candidates.
CREATE TABLE IF NOT EXISTS recon.register_answer (
    run_id                 text        NOT NULL,
    kind                   text        NOT NULL,
    ask_key                text        NOT NULL,
    so_dinh_danh           text        NOT NULL,
    ho_ten                 text,
    gioi_tinh              text,
    ngay_sinh              text,
    noi_dang_ky_khai_sinh  text,
    ho_ten_cha             text,
    ho_ten_me              text,
    trang_thai             text,
    ngay_chet              text,
    written_at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS register_answer_key
    ON recon.register_answer (run_id, kind, ask_key);
