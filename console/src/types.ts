/** The shapes the page reads from the public API (docs/openapi.json), only the fields it uses. */

export interface Me {
  kind: 'admin' | 'token' | 'session' | 'anonymous';
  id: string | null;
  name: string | null;
  scopes: string[];
  expiresAt: string | null;
  /** Sessions only: the idle timeout. */
  idleTimeoutSeconds?: number | null;
}

export interface Status {
  version: string;
  bind: { address: string; port: number; class: string };
  tls: { enabled: boolean; fingerprint: string | null };
  auth: { enabled: boolean };
  uptimeSeconds: number;
}

export interface DoctorCheck {
  id: string;
  severity: 'ok' | 'warn' | 'fail';
  finding: string;
  fix: string;
  fixable: boolean;
}

export interface Doctor {
  verdict: 'ok' | 'warn' | 'fail';
  checkedAt: string;
  checks: DoctorCheck[];
  skipped: Array<{ id: string; reason: string }>;
}

export interface AuditEntry {
  seq: number;
  ts: string;
  type: string;
  outcome: string;
  actor?: { id?: string | null; name?: string | null } | null;
  client?: string;
  route?: string;
  method?: string;
  status?: number;
  code?: string;
  detail?: Record<string, unknown>;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export interface Verification {
  ok: boolean;
  entries: number;
  firstSeq: number;
  lastSeq: number;
  broken?: { file: string; line: number; reason: string };
  notes: string[];
  security: { ok: boolean; entries: number; broken?: { file: string; line: number; reason: string } };
}

export interface Service {
  name: string;
  kind: string;
  source: string;
  state: string;
  baseUrl: string;
  pid: number | null;
  startedAt: string | null;
  uptimeSeconds: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; error: string | null; at: string } | null;
  lastHealth: { ok: boolean; status: number | null; error: string | null; ms: number; at: string } | null;
}

export interface LogLine {
  seq: number;
  ts: string;
  stream: string;
  line: string;
}

export interface Job {
  id: string;
  access: 'full' | 'summary';
  service: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  progress: { value: number | null; message: string | null };
  result?: unknown;
  error: { code: string; message: string } | null;
  payload?: unknown;
  createdBy: { id: string | null; name: string | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Who {
  id: string | null;
  name: string | null;
}

export interface Task {
  id: string;
  title: string;
  body: string | null;
  state: 'open' | 'pending_approval' | 'approved' | 'rejected' | 'done' | 'canceled';
  version: number;
  source: string;
  job: { service: string; id: string | null; payload?: unknown } | null;
  createdBy: Who;
  reviewedBy: Who | null;
  reviewedAt: string | null;
  createdAt: string;
  updatedAt: string;
  comments: Array<{ seq: number; at: string; by: Who; text: string }>;
}

export interface TaskEvent {
  seq: number;
  type: string;
  at: string;
  actor: Who | null;
  text?: string;
}

export interface Hook {
  name: string;
  verify: string;
  secret: 'set' | 'unset';
  action: { type: 'job' | 'task'; service?: string; title?: string };
  source: string;
  url: string;
  createdAt: string | null;
}

export interface Token {
  id: string;
  name: string;
  scopes: string[];
  kind: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface Session {
  id: string;
  name: string | null;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  idleExpiresAt?: string | null;
  client?: string | null;
  current?: boolean;
}

export interface PairingCode {
  /** The 6 digits; null for a code whose scopes include admin (link or QR only). */
  code: string | null;
  id: string;
  scopes: string[];
  expiresAt: string;
  signinUrl?: string;
}
