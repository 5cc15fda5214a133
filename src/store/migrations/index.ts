/** Ordered schema migrations; the database's user_version is the number applied. Never edit one that shipped. */
import identity from './001-identity.js';
import services from './002-services.js';

export const MIGRATIONS: readonly string[] = [identity, services];
