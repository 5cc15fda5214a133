/** Jobs (payloads and outcomes sealed), callback attempts, idempotency keys, schedules. */
export default `
CREATE TABLE jobs (
  id                   TEXT PRIMARY KEY,
  seq                  INTEGER NOT NULL,
  service              TEXT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'canceled')),
  priority             INTEGER NOT NULL DEFAULT 0,
  attempts             INTEGER NOT NULL DEFAULT 0,
  max_attempts         INTEGER NOT NULL,
  timeout_seconds      INTEGER NOT NULL,
  payload              BLOB NOT NULL,
  outcome              BLOB,
  error_code           TEXT,
  progress             REAL,
  progress_message     TEXT,
  callback             BLOB,
  notify               TEXT,
  progress_token_hash  TEXT,
  cancel_requested     INTEGER NOT NULL DEFAULT 0,
  run_id               TEXT,
  created_by           TEXT,
  created_by_name      TEXT,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  started_at           INTEGER,
  finished_at          INTEGER,
  next_attempt_at      INTEGER
);
CREATE INDEX jobs_queue ON jobs (service, state, priority DESC, seq);
CREATE INDEX jobs_state ON jobs (state, updated_at);
CREATE INDEX jobs_seq ON jobs (seq);

CREATE TABLE job_callbacks (
  job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  status     INTEGER,
  error      TEXT,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE idempotency_keys (
  token_id    TEXT NOT NULL,
  key         TEXT NOT NULL,
  body_hash   TEXT NOT NULL,
  job_id      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_age ON idempotency_keys (created_at);

CREATE TABLE schedules (
  name         TEXT PRIMARY KEY,
  cron         TEXT NOT NULL,
  timezone     TEXT,
  service      TEXT NOT NULL,
  payload      BLOB NOT NULL,
  missed       TEXT,
  paused       INTEGER NOT NULL DEFAULT 0,
  last_run_at  INTEGER,
  created_at   INTEGER NOT NULL,
  created_by   TEXT
);
`;
