/**
 * The configuration of a gateway as it runs: loaded at validate() with the live overrides of
 * <dataDir>/config.runtime.json as the last layer, and replaced whole by PATCH /api/v1/config.
 * Whatever depends on a live key reads `current` at use time (or is a part in the live list).
 */
import type { AuditSink } from '../audit/event.js';
import { changedPaths, checkPatchKeys, mergePatch, redact, restoreRedacted, runtimeFile, type Reconfigurable } from '../config/live.js';
import { loadConfig, type ConfigInput, type LoadedConfig } from '../config/load.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { Actor } from '../api/actor.js';
import type { LiveConfigView } from '../routes/index.js';
import { readIfExists, writeFileAtomic } from '../store/files.js';

export class LiveConfig {
  private loaded: LoadedConfig;
  /** The live overrides in force (what config.runtime.json holds). */
  private runtime: Record<string, unknown> = {};

  /** Loads the configuration; a broken overrides file refuses the boot (config_invalid). */
  constructor(private readonly input: ConfigInput) {
    const first = loadConfig(input);
    const file = runtimeFile(first.config.dataDir);
    const text = readIfExists(file);
    if (text === undefined) {
      this.loaded = first;
      return;
    }
    let runtime: unknown;
    try {
      runtime = JSON.parse(text);
    } catch (err) {
      throw new GatewayError('config_invalid', `${file} is not valid JSON (${(err as Error).message}); fix or remove it`);
    }
    checkPatchKeys(runtime, Object.keys(ConfigSchema.properties));
    this.runtime = runtime as Record<string, unknown>;
    this.loaded = loadConfig({ ...input, runtime });
  }

  /** The configuration in force now. */
  get current(): Readonly<Config> {
    return this.loaded.config;
  }

  /** Where each value came from (`runtime` for a live override). */
  get sources(): LoadedConfig['sources'] {
    return this.loaded.sources;
  }

  /** What the loader warned about at boot (logged once the gateway is up). */
  get warnings(): readonly string[] {
    return this.loaded.warnings;
  }

  /** The effective configuration with every secret redacted, and where each value came from. */
  view(): { config: unknown; sources: Record<string, string> } {
    return { config: redact(this.current), sources: Object.fromEntries(this.sources) };
  }

  /**
   * An RFC 7396 merge patch of the live keys. The whole result is validated and every part prepares
   * it first (any refusal changes nothing), the overrides are written to config.runtime.json, then
   * every part commits. Returns the key paths that changed.
   */
  patch(patch: unknown, parts: readonly Reconfigurable[], actor: Actor): string[] {
    checkPatchKeys(patch, Object.keys(ConfigSchema.properties));
    const runtime = mergePatch(this.runtime, restoreRedacted(patch, this.current)) as Record<string, unknown>;
    const loaded = loadConfig({ ...this.input, runtime });
    // Config-file services are read-only everywhere: a live entry may not redefine one.
    if (loaded.shadowedServices.length > 0) {
      throw new GatewayError(
        'service_readonly',
        `${loaded.shadowedServices.map((n) => JSON.stringify(n)).join(', ')} declared in the config file; change it there (a live change adds or changes other services only)`,
      );
    }
    const previous = this.current;
    const commits = parts.map((part) => part.prepare(loaded.config, previous, actor));
    writeFileAtomic(runtimeFile(previous.dataDir), `${JSON.stringify(runtime, null, 2)}\n`, 0o600);
    this.loaded = loaded;
    this.runtime = runtime;
    for (const commit of commits) commit();
    return changedPaths(previous, loaded.config);
  }
}

/** GET and PATCH /api/v1/config: a change is audited and logged with the keys it touched, never a value. */
export function configApi(config: LiveConfig, parts: readonly Reconfigurable[], audit: AuditSink, log: Logger): LiveConfigView {
  return {
    view: () => config.view(),
    patch: (patch, actor) => {
      // Key paths of the real values (a changed secret shows as its key), never the values themselves.
      const keys = config.patch(patch, parts, actor);
      audit.record({ type: 'config.changed', outcome: 'ok', actor, detail: { keys } });
      log.info({ keys, actor: actor.id }, 'configuration changed');
      return config.view();
    },
  };
}
