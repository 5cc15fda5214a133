/**
 * validate(): everything a gateway can check before it touches the disk or the network. Loads the
 * configuration (with the live overrides), classifies the bind (the boot matrix), and builds what
 * checks its own options: the egress policy, the toolbox (mounts, tool names, exec env), declared
 * and container services, hooks, the ntfy topic, the logger and the request guards. No side effects
 * beyond the logger's destination.
 */
import type { DestinationStream } from 'pino';
import type { AuditSink } from '../audit/event.js';
import { bootPosture, type BootPosture } from '../config/bind.js';
import { originOf, type ConfigInput } from '../config/load.js';
import { HooksModule } from '../domain/hooks/module.js';
import { checkNtfyTopic } from '../domain/jobs/ntfy-topic.js';
import { checkDeclaredServices } from '../domain/services/index.js';
import { checkContainerHost } from '../domain/supervisor/container-host.js';
import { Toolbox } from '../domain/tools/toolbox.js';
import { compileEgressPolicy, type Resolver } from '../egress/index.js';
import { GatewayError } from '../errors.js';
import type { Guards } from '../http/pipeline.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { authorize } from '../security/authorize.js';
import { clientIp } from '../security/client-ip.js';
import { csrfGuard } from '../security/csrf.js';
import { framingGuard } from '../security/framing-guard.js';
import { hostGuard } from '../security/host-guard.js';
import { inflightLimit, inflightOptions } from '../security/inflight-limit.js';
import { lockout } from '../security/lockout.js';
import { memoryLimiterStore } from '../security/limiter-store.js';
import { originGuard } from '../security/origin-guard.js';
import { isHttps, type IsHttps } from '../security/own-origin.js';
import { rateLimit, rateLimitOptions } from '../security/rate-limit.js';
import { isAcceptableSuppliedToken } from '../crypto/tokens.js';
import { LiveConfig } from './config.js';

export interface GatewayOptions extends ConfigInput {
  /** Where JSON log lines go (default stderr). */
  logDestination?: DestinationStream;
  /** Clock for tests of expiry. */
  now?: () => number;
  /** Name resolver of the egress guard (tests); default: the system resolver. */
  egressResolver?: Resolver;
  /**
   * INTERNAL, for `npm run bench` only: requests and the domain record into this sink instead of
   * the audit log, to measure what auditing costs. Deliberately not a config key, env variable or
   * flag (nothing in src/cli passes it; a test checks): auditing cannot be turned off (invariant 5).
   */
  unsafeAuditSinkForBenchmarks?: AuditSink;
  /** The built console to serve (tests); default: `dist/console/` of this package. */
  consoleAssets?: string;
}

/** What validate() checked and built: the input of the composition root. */
export interface Plan {
  readonly now: () => number;
  readonly egressResolver: Resolver | undefined;
  /** The benchmark's replacement for the audit log as the sink of requests and the domain (see above); null but in benchmarks. */
  readonly benchmarkAuditSink: AuditSink | null;
  readonly config: LiveConfig;
  readonly posture: BootPosture;
  readonly log: Logger;
  /** The request guards but authentication, which needs the token service (built once the database is open). */
  readonly guards: Omit<Guards, 'authenticate'>;
  readonly toolbox: Toolbox;
  /** Weakenings the hooks' configuration brings (logged and put in the boot record). */
  readonly hookWarnings: readonly string[];
  /** Where a supplied admin token was given (`--admin-token`, `MOAT_ADMIN_TOKEN`, ...), for messages. */
  readonly adminTokenOrigin: string;
  /** Whether clients reach the gateway over HTTPS (TLS here, or a trusted proxy's): the cookie's name and flags. */
  readonly https: IsHttps;
  /** Where the built console is read from (undefined: the package's dist/console/). */
  readonly consoleAssets: string | undefined;
}

export function planGateway(options: GatewayOptions): Plan {
  const config = new LiveConfig(options);
  const c = config.current;
  const posture = bootPosture(c);
  const adminTokenOrigin = originOf('auth.token', config.sources.get('auth.token'));
  if (c.auth.token !== undefined && !isAcceptableSuppliedToken(c.auth.token)) {
    throw new GatewayError('config_invalid', `the admin token (${adminTokenOrigin}) must be 32-512 printable characters without spaces`);
  }
  compileEgressPolicy(c.egress); // bad CIDRs or host patterns: config_invalid before anything opens
  // Mounts, client scope, tool names and exec env names are checked here, before any socket opens.
  const toolbox = new Toolbox({ config: c, sourceEnv: process.env, ...(options.now ? { now: options.now } : {}) });
  // Container services: the engine endpoint, volumes that exist, never the engine's socket or the data dir.
  checkContainerHost(checkDeclaredServices(c.services), { socket: c.supervisor.containers.socket, dataDir: c.dataDir });
  const hookWarnings = HooksModule.check(c);
  checkNtfyTopic(c.notifications.ntfy?.topic, c.notifications.ntfy);
  const log = createLogger({ level: c.logLevel, format: c.logFormat, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const ip = clientIp({ trustedProxies: c.trustedProxies });
  const https = isHttps(posture.tls, ip);
  const guards: Plan['guards'] = {
    framing: framingGuard(),
    inflight: inflightLimit(inflightOptions(c.limits)),
    // The port is the one asked for until the listener is up (port 0: the OS picks; reconfigured then).
    host: hostGuard({ bindHost: c.host, bindClass: posture.bindClass, port: c.port, tls: posture.tls, publicNames: c.publicNames }),
    origin: originGuard({ allowedOrigins: c.allowedOrigins, https }),
    clientIp: ip,
    // One store behind both (in memory; a shared store for replicas implements LimiterStore).
    rateLimit: rateLimit(rateLimitOptions(c.rateLimit), memoryLimiterStore),
    lockout: lockout({ ...c.lockout, maxClients: c.rateLimit.maxClients }, memoryLimiterStore),
    authorize: authorize(),
    csrf: csrfGuard({ enabled: c.console.enabled, https }),
  };
  return {
    now: options.now ?? Date.now,
    egressResolver: options.egressResolver,
    benchmarkAuditSink: options.unsafeAuditSinkForBenchmarks ?? null,
    config,
    posture,
    log,
    guards,
    toolbox,
    hookWarnings,
    adminTokenOrigin,
    https,
    consoleAssets: options.consoleAssets,
  };
}
