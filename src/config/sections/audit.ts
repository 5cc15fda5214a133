/** Config knobs of the audit log. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const auditKnobs = {
  audit: section('The hash-chained audit log under <dataDir>/audit/.', {
    rotateBytes: knob(Type.Integer({ default: 52_428_800, minimum: 65_536, maximum: 10_737_418_240 }), {
      description: 'Rotate audit.jsonl when it reaches this size in bytes (50 MiB). The chain continues across files.',
      env: 'MOAT_AUDIT_ROTATE_BYTES',
    }),
    keep: knob(Type.Integer({ default: 10, minimum: 1, maximum: 10_000 }), {
      description: 'Rotated audit files kept; older ones are deleted and the deletion is recorded in the chain.',
      env: 'MOAT_AUDIT_KEEP',
      weakens: 'Fewer files keep less history for an investigation.',
    }),
    maxQueue: knob(Type.Integer({ default: 10_000, minimum: 100, maximum: 1_000_000 }), {
      description: 'Audit entries waiting to be written before write requests are refused with 503 audit_backlog.',
      env: 'MOAT_AUDIT_MAX_QUEUE',
    }),
  }),
};
