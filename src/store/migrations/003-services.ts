/** Services registered through POST /api/v1/services (config-file services live in the config). */
export default `
CREATE TABLE services (
  name        TEXT PRIMARY KEY,
  spec        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  created_by  TEXT
);
`;
