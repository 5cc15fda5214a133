/** Ordered schema migrations; the database's user_version is the number applied. Never edit one that shipped. */
import identity from './001-identity.js';
import runs from './002-runs.js';
import services from './003-services.js';
import jobs from './004-jobs.js';
import hooksTasks from './005-hooks-tasks.js';
import idleStopAfter from './006-idle-stop-after.js';
import jobOwner from './007-job-owner.js';
import consoleSessions from './008-console-sessions.js';

export const MIGRATIONS: readonly string[] = [identity, runs, services, jobs, hooksTasks, idleStopAfter, jobOwner, consoleSessions];
