/** Ordered schema migrations; the database's user_version is the number applied. Never edit one that shipped. */
import identity from './001-identity.js';
import jobs from './002-jobs.js';

export const MIGRATIONS: readonly string[] = [identity, jobs];
