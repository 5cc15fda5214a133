/** `moat job submit|ls|show|cancel|watch` and `moat events`. */
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { MoatClient } from '../../client/index.js';
import { addClientFlags, withClient, type ClientFlags } from '../connect.js';
import { CliUsageError, printJson, printTable } from '../output.js';
import type { JobList, JobView as Job } from '../../api/jobs.js';

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);
/** The states `job ls --state` takes (the server checks them too). */
const STATES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'canceled'];

/** `--payload '{"a":1}'` or `--payload @file.json` (or `@-` for stdin). */
function readPayload(arg: string | undefined): unknown {
  if (arg === undefined) return undefined;
  const text = arg.startsWith('@') ? readFileSync(arg === '@-' ? 0 : arg.slice(1), 'utf8') : arg;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliUsageError(`--payload is not valid JSON: ${(err as Error).message}`);
  }
}

function bar(value: number | null, width = 30): string {
  const v = Math.min(1, Math.max(0, value ?? 0));
  const filled = Math.round(v * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(v * 100).toFixed(0).padStart(3)}%`;
}

/**
 * One status line of a job. A finished job shows its outcome only: the last progress message
 * ("step 3/4") is stale by then, and a succeeded job is complete whatever its service last posted.
 */
export function statusLine(j: Pick<Job, 'state' | 'progress' | 'error'>): string {
  if (j.state === 'succeeded') return `${bar(1)} succeeded`;
  if (FINISHED.has(j.state)) return `${bar(j.progress.value)} ${j.state}${j.error ? `: ${j.error.message}` : ''}`;
  return `${bar(j.progress.value)} ${j.state}${j.progress.message ? ` ${j.progress.message}` : ''}`;
}

/** A progress fraction (0..1) as a percent for people: 0.3333 -> "33%". */
export function percent(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? `${Math.round(value * 100)}%` : value;
}

/** An event's data for people: progress as a percent (--json keeps the raw fraction). */
function eventData(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || !('progress' in data)) return data;
  const d = data as Record<string, unknown>;
  const progress = d['progress'];
  if (typeof progress === 'object' && progress !== null && 'value' in progress)
    return { ...d, progress: { ...progress, value: percent((progress as { value: unknown }).value) } };
  return { ...d, progress: percent(progress) };
}

/** Writes a line that replaces itself on a terminal (`\r` and clear-to-end), or a new line otherwise. */
function liveLine(stream: NodeJS.WriteStream, text: string, last = false): void {
  if (stream.isTTY) stream.write(`\r\x1b[K${text}${last ? '\n' : ''}`);
  else stream.write(`${text}\n`);
}

/** Polls a job until it is final or `ms` passed (a running job ends its attempt before it is canceled). */
async function settled(c: MoatClient, id: string, ms: number): Promise<Job> {
  const path = `/api/v1/jobs/${encodeURIComponent(id)}`;
  const deadline = Date.now() + ms;
  let j = await c.get<Job>(path);
  for (let wait = 50; !FINISHED.has(j.state) && Date.now() < deadline; wait = Math.min(wait * 2, 500)) {
    await new Promise((r) => setTimeout(r, wait));
    j = await c.get<Job>(path);
  }
  return j;
}

/**
 * Follows a job's events until it finishes; returns its final view. The job is also re-read every
 * 2 s, so nothing is missed between the first read and the subscription, and a stream that ends
 * or is refused (a restart, limits.maxStreams) falls back to reading until the job is final; the
 * stream is resumed with Last-Event-ID.
 */
async function follow(c: MoatClient, id: string, onProgress: (j: Job) => void): Promise<Job> {
  const path = `/api/v1/jobs/${encodeURIComponent(id)}`;
  let job = await c.get<Job>(path);
  onProgress(job);
  if (FINISHED.has(job.state)) return job;
  const controller = new AbortController();
  const reread = async () => {
    const j = await c.get<Job>(path);
    job = j;
    onProgress(j);
    if (FINISHED.has(j.state)) controller.abort();
  };
  const poll = setInterval(() => void reread().catch(() => undefined), 2000);
  let lastEventId: string | undefined;
  try {
    while (!controller.signal.aborted) {
      try {
        const last = await c.events(
          '/api/v1/events',
          (e) => {
            const d = e.data as { id?: string; state?: string; progress?: number; message?: string };
            if (d?.id !== id) return false;
            if (e.event === 'job.progress') onProgress({ ...job, progress: { value: d.progress ?? null, message: d.message ?? null } });
            return typeof d.state === 'string' && FINISHED.has(d.state);
          },
          { signal: controller.signal, ...(lastEventId ? { lastEventId } : {}) },
        );
        lastEventId = last ?? lastEventId;
        // The stream said the job finished (or was aborted because it did).
        if (controller.signal.aborted || FINISHED.has((await c.get<Job>(path)).state)) break;
      } catch {
        // Refused or broken: the re-reads go on; try the stream again in a while.
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    clearInterval(poll);
  }
  job = await c.get<Job>(path);
  onProgress(job);
  return job;
}

/** Waits between reconnects of `moat events`: 1 s, doubling to 30 s; reset once a stream delivered. */
const RECONNECT_MS = { first: 1000, max: 30_000 };

/**
 * `moat events`: prints events until interrupted. A stream that ends or breaks once it was open (a
 * gateway restart, a drain, a 503) is resumed with Last-Event-ID after a pause; a refusal (a 4xx
 * but 408 and 429: the token revoked or without the scope) or a first connection that fails ends it.
 */
async function followEvents(c: MoatClient, print: (e: { id: string | null; event: string; data: unknown }) => void): Promise<void> {
  let lastEventId: string | undefined;
  let connectedOnce = false;
  let wait = RECONNECT_MS.first;
  for (;;) {
    let delivered = false;
    try {
      await c.events(
        '/api/v1/events',
        (e) => {
          delivered = true;
          // Kept as they come: a stream that breaks resumes after the last event printed.
          if (e.id !== null) lastEventId = e.id;
          print(e);
        },
        { onOpen: () => (connectedOnce = true), ...(lastEventId ? { lastEventId } : {}) },
      );
    } catch (err) {
      // A refusal is final (a revoked token, a lost scope, a changed Host rule), except the ones
      // that say "later" (408, 429); so is a gateway not there at the first try.
      const status = (err as { status?: unknown }).status;
      const refused = typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
      if (!connectedOnce || refused) throw err;
      process.stderr.write(`moat: ${(err as Error).message}\n`);
    }
    if (delivered) wait = RECONNECT_MS.first;
    process.stderr.write(`moat: the event stream ended; reconnecting in ${Math.round(wait / 1000)} s\n`);
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, RECONNECT_MS.max);
  }
}

export function jobCommand(program: Command): void {
  const job = program.command('job').description('jobs for the services: submit, list, show, cancel, watch');
  addClientFlags(job.command('submit').description('submit a job to a service'))
    .argument('<service>')
    .option('--payload <json|@file>', 'payload as JSON, or @file.json, or @- for stdin')
    .option('--callback <url>', 'URL to POST the signed outcome to')
    .option('--priority <n>', 'higher runs first')
    .option('--max-attempts <n>', 'attempts for transient failures')
    .option('--timeout <seconds>', 'time limit of an attempt')
    .option('--idempotency-key <uuid>', 'makes retrying this submission safe')
    .option('--wait', 'wait until it finishes (exit status 1 unless it succeeded)')
    .option('--json', 'print JSON')
    .action(
      async (
        service: string,
        opts: ClientFlags & {
          payload?: string;
          callback?: string;
          priority?: string;
          maxAttempts?: string;
          timeout?: string;
          idempotencyKey?: string;
          wait?: boolean;
          json?: boolean;
        },
      ) => {
        const body = {
          service,
          payload: readPayload(opts.payload),
          ...(opts.callback ? { callbackUrl: opts.callback } : {}),
          ...(opts.priority ? { priority: Number(opts.priority) } : {}),
          ...(opts.maxAttempts ? { maxAttempts: Number(opts.maxAttempts) } : {}),
          ...(opts.timeout ? { timeoutSeconds: Number(opts.timeout) } : {}),
        };
        await withClient(opts, async (c) => {
          const res = await c.request<Job>('POST', '/api/v1/jobs', {
            body,
            ...(opts.idempotencyKey ? { headers: { 'idempotency-key': opts.idempotencyKey } } : {}),
          });
          let j = res.body;
          if (!opts.wait) return opts.json ? printJson(j) : void process.stdout.write(`${j.id}\n`);
          // The id first: a Ctrl-C while waiting stops the waiting, not the job, which can be found again.
          process.stderr.write(`submitted ${j.id}; waiting for it (Ctrl-C stops waiting, not the job: moat job watch ${j.id})\n`);
          j = await follow(c, j.id, (x) => {
            if (!opts.json && process.stderr.isTTY && !FINISHED.has(x.state)) liveLine(process.stderr, statusLine(x));
          });
          if (!opts.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
          if (opts.json) printJson(j);
          else
            process.stdout.write(
              `${j.id} ${j.state}${j.error ? `: ${j.error.message}` : ''}\n${j.result !== undefined ? `${JSON.stringify(j.result)}\n` : ''}`,
            );
          if (j.state !== 'succeeded') process.exitCode = 1;
        });
      },
    );
  addClientFlags(job.command('ls').description('list jobs, newest first'))
    .option('--service <name>')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(STATES))
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: ClientFlags & { service?: string; state?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams({ limit: opts.limit, ...(opts.service ? { service: opts.service } : {}), ...(opts.state ? { state: opts.state } : {}) });
      const { jobs } = await withClient(opts, (c) => c.get<JobList>(`/api/v1/jobs?${q}`));
      if (opts.json) return printJson(jobs);
      printTable(
        jobs.map((j) => ({
          ...j,
          progress: j.progress.value === null ? '-' : `${Math.round(j.progress.value * 100)}%`,
          attempts: `${j.attempts}/${j.maxAttempts}`,
        })),
        ['id', 'service', 'state', 'progress', 'attempts', 'createdAt'],
      );
    });
  addClientFlags(job.command('show').description('show a job with its payload and result'))
    .argument('<id>')
    .action(async (id: string, opts: ClientFlags) => printJson(await withClient(opts, (c) => c.get(`/api/v1/jobs/${encodeURIComponent(id)}`))));
  addClientFlags(job.command('cancel').description('cancel a queued or running job; waits (up to --wait-seconds) until it has stopped'))
    .argument('<id>')
    .option('--wait-seconds <n>', 'how long to wait for a running job to stop (0: do not wait)', '30')
    .action(async (id: string, opts: ClientFlags & { waitSeconds: string }) => {
      const waitMs = Number(opts.waitSeconds) * 1000;
      if (!Number.isFinite(waitMs) || waitMs < 0) throw new CliUsageError('--wait-seconds must be a number of seconds, 0 or more');
      const j = await withClient(opts, async (c) => {
        const asked = await c.post<Job>(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
        return FINISHED.has(asked.state) || waitMs === 0 ? asked : settled(c, asked.id, waitMs);
      });
      // What is true after the cancel: canceled, or still stopping (a running attempt ends first).
      process.stdout.write(FINISHED.has(j.state) ? `${j.id} ${j.state}\n` : `${j.id} cancel requested (still ${j.state}; moat job watch ${j.id})\n`);
    });
  addClientFlags(job.command('watch').description("follow a job's progress until it finishes"))
    .argument('<id>')
    .action(async (id: string, opts: ClientFlags) => {
      let shown = '';
      const j = await withClient(opts, (c) =>
        follow(c, id, (x) => {
          // Repeats (a re-read that changed nothing) are not printed again.
          const text = statusLine(x);
          if (text !== shown && !FINISHED.has(x.state)) liveLine(process.stdout, text);
          shown = text;
        }),
      );
      liveLine(process.stdout, statusLine(j), true);
      if (j.state !== 'succeeded') process.exitCode = 1;
    });
  addClientFlags(program.command('events').description('print live events (jobs, services, schedules) as they happen'))
    .option('--json', 'one JSON object per line')
    .action(async (opts: ClientFlags & { json?: boolean }) => {
      await withClient(opts, (c) =>
        followEvents(c, (e) => {
          process.stdout.write(opts.json ? `${JSON.stringify(e)}\n` : `${e.event} ${JSON.stringify(eventData(e.data))}\n`);
        }),
      );
    });
}
