/**
 * The one strict config schema: every knob with its default, unit, env name, flag and what turning
 * it off weakens. Unknown keys are refused. Each section lives in sections/.
 */
import { Type, type Static } from '@sinclair/typebox';
import { auditKnobs } from './sections/audit.js';
import { consoleKnobs } from './sections/console.js';
import { doorKnobs } from './sections/door.js';
import { jobKnobs } from './sections/jobs.js';
import { egressKnobs } from './sections/egress.js';
import { limitKnobs } from './sections/limits.js';
import { toolKnobs } from './sections/tools.js';
import { serviceKnobs } from './sections/services.js';
import { hookKnobs } from './sections/hooks.js';
import { watchKnobs } from './sections/watch.js';

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path or URL of this JSON Schema (ignored).' })),
    ...doorKnobs,
    ...limitKnobs,
    ...auditKnobs,
    ...jobKnobs,
    ...egressKnobs,
    ...toolKnobs,
    ...serviceKnobs,
    ...hookKnobs,
    ...watchKnobs,
    ...consoleKnobs,
  },
  { additionalProperties: false, title: 'Moat configuration' },
);

export type Config = Static<typeof ConfigSchema>;
