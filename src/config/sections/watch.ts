/** Config knobs of the watch: Prometheus metrics and the security heartbeat. Schema only. */
import { Type } from '@sinclair/typebox';
import { knob } from '../knob.js';
import { section } from './section.js';

export const watchKnobs = {
  metrics: section('Prometheus metrics at GET /metrics (scope metrics).', {
    public: knob(Type.Boolean({ default: false }), {
      description: 'Answer GET /metrics without a token. Loopback binds only: refused at boot (exit 78) on any other bind.',
      env: 'MOAT_METRICS_PUBLIC',
      flag: 'metrics-public',
      weakens: 'Any local process can read request counts, route names, service names and refusal counts without a token.',
    }),
  }),
  heartbeatInterval: knob(Type.Integer({ default: 21_600, minimum: 1, maximum: 604_800 }), {
    description:
      'Seconds between security heartbeats (21600 = 6 h): one `MOAT_SECURITY ...` line in the log and the audit at boot and on every interval. Each one runs every doctor check (the audit chain is walked in full) and notifies (ntfy, webhook) when the verdict is worse than the previous one.',
    env: 'MOAT_HEARTBEAT_INTERVAL',
    weakens: 'Longer intervals notice drift (a widened file mode, an expiring certificate) later.',
  }),
};
