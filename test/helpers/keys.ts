/**
 * The audit chain key of the gateways of one test file: in a temp dir of its own, so that no test
 * writes /etc/moat or ~/.config/moat. startGateway and the CLI helpers pass it; a test that needs
 * another key (or none) passes its own audit.keyFile / MOAT_AUDIT_KEY_FILE.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_KEY_DIR = mkdtempSync(join(tmpdir(), 'moat-keys-'));
export const TEST_KEY_FILE = join(TEST_KEY_DIR, 'audit.key');
export const TEST_ANCHOR_FILE = join(TEST_KEY_DIR, 'audit-anchors.jsonl');
