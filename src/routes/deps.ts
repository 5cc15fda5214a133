/**
 * What routes need from the domain, as interfaces: gateway.ts wires the implementations. Routes
 * shape requests into plain data for these and replies from what they return.
 */
import type { PairingService } from '../domain/identity/pairing.js';
import type { TokenService } from '../domain/identity/tokens.js';

export interface StatusView {
  version: string;
  bind: { address: string; port: number; class: string };
  tls: { enabled: boolean; fingerprint: string | null };
  auth: { enabled: boolean };
  uptimeSeconds: number;
}

export interface AuditView {
  read(after: number, limit: number): Promise<unknown[]>;
  /** The newest entry written to the files (after writing what was recorded before the call). */
  head(): Promise<{ seq: number; hash: string }>;
  verify(): Promise<unknown>;
}

export interface RouteDeps {
  status(): StatusView;
  isDraining(): boolean;
  tokens: TokenService;
  pairing: PairingService;
  audit: AuditView;
  openapi(): unknown;
}
