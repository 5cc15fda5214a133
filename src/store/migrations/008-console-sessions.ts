/**
 * Console sessions (a browser's cookie, stored as its SHA-256 only) and console pairing codes: a
 * code may redeem for a session instead of a token, and carries a second, high-entropy link code
 * (the sign-in link and its QR code) whose keyed digest is kept beside the 6-digit code's.
 */
export default `
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  scopes        TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  client        TEXT NOT NULL
);
ALTER TABLE pairing_codes ADD COLUMN console INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairing_codes ADD COLUMN link_digest TEXT;
CREATE INDEX pairing_link_digest ON pairing_codes (link_digest);
`;
