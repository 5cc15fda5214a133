/**
 * What a running gateway says about itself: GET /api/v1/status, and the posture that the boot and
 * shutdown records carry (version, bind, TLS, auth, pid). Plain views of facts given to it.
 */
import type { BootPosture } from '../config/bind.js';
import type { StatusView } from '../routes/index.js';
import type { GatewayUrls } from './urls.js';

export interface StatusFacts {
  version: string;
  /** The bind address (config.host). */
  host: string;
  urls: GatewayUrls;
  posture: BootPosture;
  tlsFingerprint: string | null;
  startedAt: () => number;
  now: () => number;
}

/** GET /api/v1/status. */
export function statusView(f: StatusFacts): StatusView {
  return {
    version: f.version,
    bind: { address: f.host, port: f.urls.port, class: f.posture.bindClass },
    tls: { enabled: f.posture.tls, fingerprint: f.tlsFingerprint },
    auth: { enabled: f.posture.auth },
    uptimeSeconds: uptimeSeconds(f),
  };
}

export function uptimeSeconds(f: Pick<StatusFacts, 'startedAt' | 'now'>): number {
  return Math.round((f.now() - f.startedAt()) / 1000);
}

/** What boot and shutdown records say about the gateway: version, bind, TLS, auth, pid. */
export function postureDetail(f: Pick<StatusFacts, 'version' | 'urls' | 'posture'>): Record<string, unknown> {
  return {
    version: f.version,
    bind: f.urls.recordBind,
    bindClass: f.posture.bindClass,
    tls: f.posture.tls,
    auth: f.posture.auth,
    pid: process.pid,
  };
}
