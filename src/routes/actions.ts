/**
 * /actions/<token>: signed action links (auth mode `link`, rate class `hooks`). Link prefetchers,
 * CSRF and clickjacking: GET only shows a confirmation page (no script, a strict CSP, framing
 * forbidden, noindex, no referrer), so a mail scanner that follows the link changes nothing; only
 * the page's POST acts, once. The token is checked by the domain (ActionLinks), which audits.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { LinkActed } from '../api/tasks.js';
import type { RouteDeps } from './deps.js';

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const ACTION_PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-robots-tag': 'noindex, nofollow',
  'referrer-policy': 'no-referrer',
} as const;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function page(title: string, inner: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
</head>
<body>
${inner}
</body>
</html>
`;
}

function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply.headers(ACTION_PAGE_HEADERS).type('text/html; charset=utf-8').send(html);
}

export function actionRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'links'>): void {
  const token = (req: { params: unknown }) => (req.params as Static<typeof TokenParams>).token;
  app.register(async (scope) => {
    // The confirmation form posts application/x-www-form-urlencoded; its body carries nothing we read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, function ignoreBody(_req, _body, done) {
      done(null, null);
    });
    scope.get(
      '/actions/:token',
      {
        config: { auth: 'link', rateClass: 'hooks' },
        schema: {
          summary: 'Confirmation page of a signed action link (acts only on POST)',
          tags: ['tasks'],
          params: TokenParams,
          response: { 200: Type.String() },
        },
      },
      async (req, reply) => {
        const p = deps.links.preview(token(req), { client: req.moat.client, requestId: req.id });
        const verb = p.action === 'approve' ? 'Approve' : 'Reject';
        return sendPage(
          reply,
          page(
            `${verb} task`,
            `<h1>${verb} this task?</h1>
<p><strong>${escapeHtml(p.title)}</strong></p>
${p.service ? `<p>${p.action === 'approve' ? 'Approving runs' : 'Rejecting drops'} a job on the service <code>${escapeHtml(p.service)}</code>.</p>\n` : ''}<p>This link works once and until ${escapeHtml(p.expiresAt)}.</p>
<form method="post"><button type="submit">${verb}</button></form>`,
          ),
        );
      },
    );
    scope.post(
      '/actions/:token',
      {
        config: { auth: 'link', rateClass: 'hooks' },
        schema: { summary: 'Act on a signed action link (once)', tags: ['tasks'], params: TokenParams, response: { 200: LinkActed } },
      },
      async (req, reply) => {
        try {
          const { action, task } = await deps.links.act(token(req), { client: req.moat.client, requestId: req.id });
          if (!String(req.headers.accept ?? '').includes('text/html')) return { action, task: { id: task.id, state: task.state, job: task.job?.id ?? null } };
          const done = action === 'approve' ? 'Approved' : 'Rejected';
          return sendPage(reply, page(done, `<h1>${done}.</h1>\n<p><strong>${escapeHtml(task.title)}</strong> is now ${escapeHtml(task.state)}.</p>`));
        } finally {
          req.moat.audited = true; // audited as link.used or link.refused
        }
      },
    );
  });
}
