/**
 * undici, loaded on the first outbound request instead of at boot: it is the largest module the
 * gateway uses (~110 files, ~60 ms and ~10 MB), and a gateway with no services or hooks may never
 * need it. The only place in src/egress that loads it.
 */
import { createRequire } from 'node:module';

type Undici = typeof import('undici');
let loaded: Undici | null = null;

export function undici(): Undici {
  return (loaded ??= createRequire(import.meta.url)('undici') as Undici);
}
