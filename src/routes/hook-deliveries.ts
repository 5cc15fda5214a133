/**
 * /hooks/<name>: inbound deliveries (POST) and the WhatsApp subscription handshake (GET), no bearer
 * token: the route checks the sender's signature itself (auth mode `signature`, rate class `hooks`).
 * Forged deliveries: the body reaches the domain as the exact bytes received (a raw parser for every
 * content type, scoped to these routes), capped per hook while it streams; nothing parses it before
 * the signature verified.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import { HookDelivered } from '../api/hooks.js';
import { HOOK_NAME_PATTERN } from '../config/sections/hooks.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { RouteDeps } from './deps.js';

const NameParams = Type.Object({ name: Type.String({ pattern: HOOK_NAME_PATTERN }) }, { additionalProperties: false });
/** Reads the body up to `cap` bytes: a larger Content-Length is refused before reading, a longer stream is cut off. */
function readCapped(req: FastifyRequest, payload: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > cap) {
      reject(new GatewayError('body_too_large', `the body is over this hook's cap of ${cap} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    payload.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        payload.removeAllListeners('data');
        payload.resume();
        reject(new GatewayError('body_too_large', `the body is over this hook's cap of ${cap} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    payload.once('end', () => resolve(Buffer.concat(chunks, size)));
    // A refusal raised while the body streamed (a body that stalled: 408) keeps its code.
    payload.once('error', (err) => reject(isGatewayError(err) ? err : new GatewayError('bad_request', 'the request body could not be read', { cause: err })));
  });
}

export function hookDeliveryRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'hookReceiver'>): void {
  const receiver = deps.hookReceiver;
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', function rawHookBody(req, payload, done) {
      const name = (req.params as { name?: string }).name ?? '';
      readCapped(req, payload as IncomingMessage, receiver.bodyCap(name)).then(
        (buf) => done(null, buf),
        (err: Error) => done(err),
      );
    });
    scope.get(
      '/hooks/:name',
      {
        config: { auth: 'signature', rateClass: 'hooks' },
        schema: {
          summary: 'WhatsApp subscription handshake: echoes hub.challenge when hub.verify_token matches',
          tags: ['hooks'],
          params: NameParams,
          response: { 200: Type.String() },
        },
      },
      async (req, reply) => {
        const challenge = receiver.handshake((req.params as Static<typeof NameParams>).name, req.query as Record<string, unknown>, {
          client: req.moat.client,
          requestId: req.id,
        });
        return reply.type('text/plain; charset=utf-8').send(challenge);
      },
    );
    scope.post(
      '/hooks/:name',
      {
        config: { auth: 'signature', rateClass: 'hooks' },
        schema: {
          summary: "An inbound delivery, signed per the hook's scheme (202 accepted, 200 duplicate, 401 signature_invalid)",
          tags: ['hooks'],
          params: NameParams,
          response: { 200: HookDelivered, 202: HookDelivered },
        },
      },
      async (req, reply) => {
        try {
          const outcome = await receiver.deliver({
            name: (req.params as Static<typeof NameParams>).name,
            raw: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
            headers: req.headers,
            query: req.query as Record<string, unknown>,
            client: req.moat.client,
            requestId: req.id,
          });
          return reply.code(outcome.duplicate ? 200 : 202).send({ accepted: !outcome.duplicate, ...outcome });
        } finally {
          // The receiver audited it as hook.delivery (with the reason); no second entry.
          req.moat.audited = true;
        }
      },
    );
  });
}
