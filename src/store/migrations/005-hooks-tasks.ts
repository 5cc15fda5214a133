/** Hooks registered through the API (secrets sealed), delivery ids and randoms seen, tasks, their events, used action links. */
export default `
CREATE TABLE hooks (
  name            TEXT PRIMARY KEY,
  verify          TEXT NOT NULL,
  secret          BLOB,
  verify_token    BLOB,
  action          TEXT NOT NULL,
  max_body_bytes  INTEGER,
  created_at      INTEGER NOT NULL,
  created_by      TEXT
);

CREATE TABLE hook_deliveries (
  hook         TEXT NOT NULL,
  delivery_id  TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  job_id       TEXT,
  task_id      TEXT,
  PRIMARY KEY (hook, delivery_id)
);
CREATE INDEX hook_deliveries_age ON hook_deliveries (received_at);

CREATE TABLE hook_nonces (
  hook     TEXT NOT NULL,
  nonce    TEXT NOT NULL,
  seen_at  INTEGER NOT NULL,
  PRIMARY KEY (hook, nonce)
);
CREATE INDEX hook_nonces_age ON hook_nonces (seen_at);

CREATE TABLE tasks (
  id                TEXT PRIMARY KEY,
  seq               INTEGER NOT NULL,
  content           BLOB NOT NULL,
  state             TEXT NOT NULL CHECK (state IN ('open', 'pending_approval', 'approved', 'rejected', 'done', 'canceled')),
  version           INTEGER NOT NULL,
  pending_job       BLOB,
  pending_service   TEXT,
  job_id            TEXT,
  source            TEXT NOT NULL,
  created_by        TEXT,
  created_by_name   TEXT,
  reviewed_by       TEXT,
  reviewed_by_name  TEXT,
  reviewed_at       INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX tasks_seq ON tasks (seq);
CREATE INDEX tasks_state ON tasks (state, seq);
CREATE INDEX tasks_job ON tasks (job_id);

CREATE TABLE task_events (
  task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  actor_id    TEXT,
  actor_name  TEXT,
  detail      TEXT,
  text        BLOB,
  PRIMARY KEY (task_id, seq)
);

CREATE TABLE action_link_uses (
  nonce       TEXT PRIMARY KEY,
  task_id     TEXT NOT NULL,
  action      TEXT NOT NULL,
  used_at     INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX action_link_uses_expiry ON action_link_uses (expires_at);
`;
