/**
 * ntfy topics are public: anyone who knows a topic name can read its messages. A topic must be a
 * long random string; short, well-known or word-like topics are refused at boot. Random hex (what
 * `openssl rand -hex 16` or a UUID gives) is always accepted. Pure function.
 */
import { GatewayError } from '../../errors.js';
import { readSecretFile } from '../../store/files.js';

const WELL_KNOWN = new Set([
  'gateway',
  'moat',
  'test',
  'alerts',
  'alert',
  'notifications',
  'notify',
  'ntfy',
  'home',
  'homelab',
  'server',
  'jobs',
  'gpu',
  'ai',
  'llm',
  'agent',
  'mytopic',
  'topic',
  'backup',
  'monitoring',
]);

const MIN_LENGTH = 24;

/** Why the topic is refused, or null when it looks random enough. */
export function ntfyTopicProblem(topic: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(topic)) return 'may only hold letters, digits, - and _';
  if (WELL_KNOWN.has(topic.toLowerCase())) return `"${topic}" is a well-known topic that others read too`;
  if (topic.length < MIN_LENGTH) return `is shorter than ${MIN_LENGTH} characters`;
  // Hex (separators aside): 24 digits are 96 bits. Random hex of that length never repeats as
  // little as "deadbeef" does.
  const core = topic.replace(/[-_]/g, '');
  if (/^[0-9a-f]+$/.test(core) || /^[0-9A-F]+$/.test(core)) {
    if (core.length < MIN_LENGTH) return `holds fewer than ${MIN_LENGTH} hex digits`;
    return new Set(core).size < 6 ? 'repeats too few characters to be random' : null;
  }
  const distinct = new Set(topic).size;
  if (distinct < 12) return 'repeats too few characters to be random';
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(topic)).length;
  if (classes < 3 && !(topic.length >= 32 && classes >= 2)) return 'does not look random (mix upper case, lower case and digits, or use 32 hex characters)';
  return null;
}

/** The ntfy access token from notifications.ntfy.tokenFile, or undefined when none is configured. */
export function ntfyToken(ntfy: { tokenFile?: string | undefined } | undefined): string | undefined {
  if (ntfy?.tokenFile === undefined) return undefined;
  const token = readSecretFile('notifications.ntfy.tokenFile', ntfy.tokenFile, 8, 512);
  // The token goes into a header: printable ASCII without spaces only.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new GatewayError('config_invalid', 'notifications.ntfy.tokenFile: the token must be printable ASCII without spaces');
  return token;
}

/**
 * Refuses a weak topic, and an ntfy token file that cannot be read or is open to others, with
 * config_invalid (the same words at boot and on a live change).
 */
export function checkNtfyTopic(topic: string | undefined, ntfy?: { tokenFile?: string | undefined }): void {
  ntfyToken(ntfy);
  const problem = topic === undefined ? null : ntfyTopicProblem(topic);
  if (problem !== null) {
    throw new GatewayError('config_invalid', `notifications.ntfy.topic ${problem}; ntfy topics are public, use a long random one (e.g. openssl rand -hex 16)`);
  }
}
