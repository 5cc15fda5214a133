/** Runs: the context of tool calls, each with its own workspace directory. */
export default `
CREATE TABLE runs (
  id           TEXT PRIMARY KEY,
  service      TEXT,
  input        TEXT,
  mounts       TEXT NOT NULL,
  client_root  TEXT,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE INDEX runs_created ON runs (created_at);
CREATE INDEX runs_creator ON runs (created_by, created_at);
`;
