/** Config knobs of the console (Moat in a browser) and its cookie sessions. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const consoleKnobs = {
  console: section('The browser console at /console/ and its sessions (a cookie a sign-in link or pairing code is traded for).', {
    enabled: knob(Type.Boolean({ default: true }), {
      description:
        'Serve the console at /console/ and accept its session cookie on /api/v1/*. Off: the console answers 404, no session can be made, and a session cookie is never honoured (tokens only).',
      env: 'MOAT_CONSOLE',
      flag: 'console',
      weakens:
        "On, a signed-in browser holds a credential the browser sends by itself; Moat refuses it on cross-origin requests, but pages served under /svc/ share the console's origin (see docs/console.md).",
    }),
    sessionIdleSeconds: knob(Type.Integer({ default: 1800, minimum: 60, maximum: 86_400 }), {
      description: 'A console session ends after this many seconds without a request (30 minutes).',
      env: 'MOAT_CONSOLE_SESSION_IDLE',
      flag: 'console-session-idle',
      weakens: 'Longer leaves a forgotten, unlocked browser signed in for longer.',
    }),
    sessionMaxAgeSeconds: knob(Type.Integer({ default: 43_200, minimum: 300, maximum: 2_592_000 }), {
      description: 'A console session ends this many seconds after sign-in, used or not (12 hours).',
      env: 'MOAT_CONSOLE_SESSION_MAX_AGE',
      flag: 'console-session-max-age',
      weakens: 'Longer lets a stolen or forgotten session act for longer before a new sign-in is needed.',
    }),
  }),
};
