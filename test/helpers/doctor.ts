/** Test helpers for moat doctor: the report through the API or the CLI, and one check of it. */
import { expect } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import type { TestGateway } from './gateway.js';

export type Severity = 'ok' | 'warn' | 'fail';

export interface Finding {
  id: string;
  severity: Severity;
  finding: string;
  fix: string;
  fixable: boolean;
}

export interface Report {
  verdict: Severity;
  checkedAt: string;
  running: boolean;
  checks: Finding[];
  skipped: Array<{ id: string; reason: string }>;
  actions?: Array<{ id: string; action: string; ok: boolean }>;
  offline?: string;
}

/** GET /api/v1/doctor with the admin token. */
export async function doctorReport(g: TestGateway): Promise<Report> {
  const res = await g.fetch('/api/v1/doctor');
  expect(res.status, res.text).toBe(200);
  return res.json as Report;
}

/** POST /api/v1/doctor/fix with the admin token. */
export async function doctorFix(g: TestGateway): Promise<{ actions: NonNullable<Report['actions']>; report: Report }> {
  const res = await g.fetch('/api/v1/doctor/fix', { method: 'POST' });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

/** One check of a report; fails the test when it is not there. */
export function check(report: Report, id: string): Finding {
  const found = report.checks.find((c) => c.id === id);
  expect(found, `check ${id} in ${report.checks.map((c) => c.id).join(', ')}`).toBeDefined();
  return found as Finding;
}

/** `moat doctor --json [--fix]` on a data dir, parsed. */
export async function doctorCli(dataDir: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliResult & { report: Report }> {
  const res = await runCli(['doctor', '--json', '--data-dir', dataDir, ...args], env);
  let report: Report;
  try {
    report = JSON.parse(res.stdout) as Report;
  } catch {
    throw new Error(`moat doctor printed no JSON (exit ${res.code})\n${res.stdout}\n${res.stderr}`);
  }
  return { ...res, report };
}
