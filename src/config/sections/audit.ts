/** Config knobs of the audit log: files, retention, the chain key, head anchors, refusal counting. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const auditKnobs = {
  audit: section('The keyed, hash-chained audit log under <dataDir>/audit/ (security events also under <dataDir>/audit/security/).', {
    rotateBytes: knob(Type.Integer({ default: 52_428_800, minimum: 65_536, maximum: 10_737_418_240 }), {
      description: 'Rotate audit.jsonl (and security/audit.jsonl) when it reaches this size in bytes (50 MiB). The chain continues across files.',
      env: 'MOAT_AUDIT_ROTATE_BYTES',
    }),
    keep: knob(Type.Integer({ default: 10, minimum: 1, maximum: 10_000 }), {
      description: 'Rotated files of the main log kept; older ones are deleted and the deletion is recorded in the chain.',
      env: 'MOAT_AUDIT_KEEP',
      weakens: 'Fewer files keep less history for an investigation.',
    }),
    securityKeep: knob(Type.Integer({ default: 10, minimum: 1, maximum: 10_000 }), {
      description:
        'Rotated files of the security log kept (security events: tokens, pairing, configuration, services, lockouts, boots, the audit key and anchors). It has its own retention so that no flood of refusals or requests prunes them.',
      env: 'MOAT_AUDIT_SECURITY_KEEP',
      weakens: 'Fewer files keep security events for a shorter time.',
    }),
    maxQueue: knob(Type.Integer({ default: 10_000, minimum: 100, maximum: 1_000_000 }), {
      description: 'Audit entries waiting to be written before write requests are refused with 503 audit_backlog.',
      env: 'MOAT_AUDIT_MAX_QUEUE',
    }),
    keyFile: Type.Optional(
      knob(Type.String({ minLength: 1 }), {
        description:
          'The chain key (32 random bytes, created 0600 on first start when missing; never replaced). Must be outside the data dir (refused at boot otherwise). Default: /etc/moat/audit.key when /etc/moat exists, else ~/.config/moat/audit.key. Back it up: without it the log cannot be checked.',
        env: 'MOAT_AUDIT_KEY_FILE',
        flag: 'audit-key-file',
        weakens: 'A key that whoever writes the data dir can read lets them edit entries and re-chain the log undetected.',
      }),
    ),
    anchorFile: Type.Optional(
      knob(Type.String({ minLength: 1 }), {
        description:
          'Where signed head anchors are appended (boot, every anchorInterval when the log grew, stop); `moat audit verify` checks the log against them. Must be outside the data dir. Default: audit-anchors.jsonl beside the key file.',
        env: 'MOAT_AUDIT_ANCHOR_FILE',
        flag: 'audit-anchor-file',
        weakens: 'Anchors that whoever writes the data dir can edit cannot show a cut or replaced log.',
      }),
    ),
    anchorInterval: knob(Type.Integer({ default: 300, minimum: 1, maximum: 86_400 }), {
      description: 'Seconds between head anchors (300 = 5 min), written only when the log grew.',
      env: 'MOAT_AUDIT_ANCHOR_INTERVAL',
      weakens: 'Longer intervals leave more recent entries vouched for by their macs only (a cut of them shows only against a running gateway).',
    }),
    anchorNotify: knob(Type.Boolean({ default: false }), {
      description: 'Also send every head anchor to notifications.webhook (signed) and notifications.ntfy (priority min): a copy of the anchors off this host.',
      env: 'MOAT_AUDIT_ANCHOR_NOTIFY',
    }),
    refusalWindow: knob(Type.Integer({ default: 60, minimum: 1, maximum: 3_600 }), {
      description:
        'Seconds over which repeated refusals of one client (same type and code) are counted into one entry: the first is written at once, the rest as one entry with detail.count when the window closes.',
      env: 'MOAT_AUDIT_REFUSAL_WINDOW',
      weakens: 'A longer window writes the count of a refusal flood later (the first refusal is always written at once).',
    }),
    refusalClients: knob(Type.Integer({ default: 1_000, minimum: 1, maximum: 100_000 }), {
      description:
        'Clients (and actors) whose refusals are counted one by one per window (bounded memory); beyond them, refusals are counted per type and code with client `*`.',
      env: 'MOAT_AUDIT_REFUSAL_CLIENTS',
      weakens: 'Raising it lets a flood from many addresses write more entries (and use more memory); lowering it names fewer clients.',
    }),
  }),
};
