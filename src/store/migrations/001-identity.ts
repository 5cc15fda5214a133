/** Tokens (hashed) and pairing codes (keyed digests). */
export default `
CREATE TABLE tokens (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  hash          TEXT NOT NULL UNIQUE,
  scopes        TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('admin', 'token')),
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  last_used_at  INTEGER,
  revoked_at    INTEGER,
  created_by    TEXT
);
CREATE INDEX tokens_active ON tokens (revoked_at);

CREATE TABLE pairing_codes (
  id                 TEXT PRIMARY KEY,
  digest             TEXT NOT NULL,
  name               TEXT,
  scopes             TEXT NOT NULL,
  token_ttl_seconds  INTEGER,
  created_at         INTEGER NOT NULL,
  expires_at         INTEGER NOT NULL,
  used_at            INTEGER,
  created_by         TEXT
);
CREATE INDEX pairing_digest ON pairing_codes (digest);
`;
