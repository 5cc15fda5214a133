/**
 * Doctor checks of the door's posture: the bind class against the boot matrix, authentication, TLS
 * (state and minimum version) and the certificate's expiry. Pure functions of the snapshot.
 */
import type { Check, DoctorContext, Finding } from './types.js';

const DAY_MS = 86_400_000;
/** A certificate this close to expiry (or past it) fails: clients will refuse it any day now. */
export const CERT_FAIL_DAYS = 7;

type Result = Omit<Finding, 'id'>;

const bind: Check = {
  id: 'bind',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    const { bindClass, tls, auth } = g.posture;
    const source = g.sources.get('host') ?? 'default';
    if (bindClass === 'loopback') {
      return { severity: 'ok', finding: `bound to ${g.bind} (loopback, host from ${source}): only this machine reaches it`, fix: 'none needed' };
    }
    const matrix = `auth ${auth ? 'on' : 'OFF'}, TLS ${tls ? 'on' : 'OFF'}`;
    if (!auth || !tls) {
      // The boot matrix refuses this shape; seeing it means the matrix was bypassed.
      return {
        severity: 'fail',
        finding: `bound to ${g.bind} (${bindClass}) with ${matrix}: the boot matrix forbids this`,
        fix: 'bind 127.0.0.1, or restart with auth and TLS on',
      };
    }
    if (bindClass === 'all') {
      return {
        severity: 'warn',
        finding: `bound to every interface (${g.bind}, --expose from ${g.sources.get('expose') ?? 'default'}) with ${matrix}: public interfaces reach it too`,
        fix: 'bind one address (a LAN or Tailscale IP) with --host, or keep 127.0.0.1 behind a reverse proxy',
      };
    }
    return { severity: 'ok', finding: `bound to ${g.bind} (one non-loopback address) with ${matrix} (boot matrix satisfied)`, fix: 'none needed' };
  },
};

const auth: Check = {
  id: 'auth',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    if (g.posture.auth) return { severity: 'ok', finding: 'every route but GET /api/v1/health needs a bearer token', fix: 'none needed' };
    return {
      severity: 'warn',
      finding: `auth is OFF (auth.enabled from ${g.sources.get('auth.enabled') ?? 'default'}): any local process or web page reaching ${g.bind} acts as admin`,
      fix: 'restart without --no-auth (MOAT_AUTH=0); doctor never turns it on for you',
    };
  },
};

const tls: Check = {
  id: 'tls',
  needs: 'gateway',
  run(ctx): Result {
    const g = ctx.gateway!;
    if (!g.posture.tls) {
      return {
        severity: 'ok',
        finding: 'TLS is off on a loopback bind: traffic does not leave this machine',
        fix: 'none needed (--tls serves HTTPS on loopback too)',
      };
    }
    const cert = ctx.certificate;
    const kind =
      cert === null
        ? 'unknown certificate'
        : cert.selfSigned
          ? 'per-install self-signed certificate (clients pin its fingerprint)'
          : `operator certificate ${cert.path}`;
    return { severity: 'ok', finding: `HTTPS with ${g.tlsMinVersion} minimum (HTTP/2, HTTP/1.1 fallback), ${kind}`, fix: 'none needed' };
  },
};

const tlsExpiry: Check = {
  id: 'tls.expiry',
  needs: 'files',
  run(ctx): Result {
    const cert = ctx.certificate;
    if (cert === null) {
      const off = ctx.gateway !== null && !ctx.gateway.posture.tls;
      return {
        severity: 'ok',
        finding: off ? 'TLS is off: no certificate to expire' : 'no certificate in the data dir yet (issued at the first TLS boot)',
        fix: 'none needed',
      };
    }
    const days = Math.floor((cert.validTo - ctx.now) / DAY_MS);
    const until = new Date(cert.validTo).toISOString().slice(0, 10);
    const which = cert.selfSigned ? 'the self-signed certificate' : `the certificate ${cert.path}`;
    const pending = cert.newerOnDisk ? '; a newer one is on disk: restart moat to serve it' : '';
    const fix = cert.selfSigned
      ? cert.newerOnDisk
        ? 'restart moat to serve the reissued certificate (clients pin the new fingerprint from gateway.json)'
        : 'moat doctor --fix reissues it (a running gateway serves it after a restart); a restart alone also reissues it'
      : 'renew it where it comes from (e.g. tailscale cert, certbot) and restart moat';
    if (days < 0) return { severity: 'fail', finding: `${which} expired on ${until}${pending}`, fix, fixable: cert.selfSigned && !cert.newerOnDisk };
    if (days < CERT_FAIL_DAYS)
      return { severity: 'fail', finding: `${which} expires in ${days} day(s), on ${until}${pending}`, fix, fixable: cert.selfSigned && !cert.newerOnDisk };
    if (days < ctx.renewWithinDays)
      return { severity: 'warn', finding: `${which} expires in ${days} days, on ${until}${pending}`, fix, fixable: cert.selfSigned && !cert.newerOnDisk };
    return { severity: 'ok', finding: `${which} is valid until ${until} (${days} days)`, fix: 'none needed' };
  },
};

export const postureChecks: Check[] = [bind, auth, tls, tlsExpiry];

/** Whether the certificate is due for renewal (the repair the doctor may make). */
export function certificateDue(ctx: DoctorContext): boolean {
  const cert = ctx.certificate;
  return cert?.selfSigned === true && !cert.newerOnDisk && cert.validTo - ctx.now < ctx.renewWithinDays * DAY_MS;
}
