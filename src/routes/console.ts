/**
 * The console's pages and files, from memory: `/` and `/console` redirect to `/console/`; every
 * client route (no file extension) gets index.html (never cached); `/console/assets/<name>` gets
 * the hashed file (cached for a year, immutable), precompressed when the client accepts it. No
 * authentication (they hold no secret); the host guard and the console's headers apply.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { ConsoleAsset, RouteDeps } from './deps.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const STATIC = { auth: 'none', console: true, raw: true } as const;

/** Whether an Accept-Encoding header accepts `coding` (q=0 refuses it; `*` stands for any coding). */
export function accepts(header: string | undefined, coding: string): boolean {
  if (header === undefined) return false;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (name === coding) return ok;
    if (name === '*') star = ok;
  }
  return star === true;
}

function send(req: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset, cache: string): FastifyReply {
  reply.header('content-type', asset.type).header('cache-control', cache);
  if (asset.br === null && asset.gzip === null) return reply.send(asset.body);
  reply.header('vary', 'Accept-Encoding');
  const accept = req.headers['accept-encoding'] as string | undefined;
  if (asset.br !== null && accepts(accept, 'br')) return reply.header('content-encoding', 'br').send(asset.br);
  if (asset.gzip !== null && accepts(accept, 'gzip')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

export function consoleRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'console'>): void {
  const { enabled, assets } = deps.console;
  const redirect = (_req: FastifyRequest, reply: FastifyReply) => reply.code(302).header('location', '/console/').send();
  const missing = (what: string) => new GatewayError('not_found', what);

  app.get('/', { config: STATIC, schema: { summary: 'Redirect to the console', tags: ['console'] } }, redirect);
  app.get('/console', { config: STATIC, schema: { summary: 'Redirect to the console', tags: ['console'] } }, redirect);
  // Browsers ask for it on their own; a 404 without authentication keeps a 401 out of the page's console.
  app.get('/favicon.ico', { config: STATIC, schema: { summary: 'No icon here (the console names its own)', tags: ['console'] } }, async () => {
    throw missing('no favicon.ico; the console names its icon');
  });

  app.get('/console/*', { config: STATIC, schema: { summary: 'The console: its pages (index.html) and files', tags: ['console'] } }, async (req, reply) => {
    if (!enabled) throw missing('the console is off (console.enabled)');
    const rest = (req.params as { '*': string })['*'];
    if (rest.startsWith('assets/')) {
      const asset = assets.assets.get(rest.slice('assets/'.length));
      if (asset === undefined) throw missing('no such console file');
      return send(req, reply, asset, IMMUTABLE);
    }
    const last = rest.slice(rest.lastIndexOf('/') + 1);
    if (last.includes('.')) {
      const file = rest.includes('/') ? undefined : assets.files.get(rest);
      if (file === undefined) throw missing('no such console file');
      return send(req, reply, file, 'no-store');
    }
    if (assets.index === null) throw missing('the console is not built on this gateway (npm run build writes it)');
    return send(req, reply, assets.index, 'no-store');
  });
}
