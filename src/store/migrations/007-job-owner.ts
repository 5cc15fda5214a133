/**
 * Jobs get an owner: the principal whose payload and result they are (HABITS 24). Rows from before
 * are given the token that submitted them; a schedule's jobs the token that added the schedule; jobs
 * of hooks and of tasks approved through a signed link have no owner (admin and jobs:all only).
 */
export default `
ALTER TABLE jobs ADD COLUMN owner TEXT;
UPDATE jobs SET owner = created_by
 WHERE created_by IS NOT NULL AND created_by NOT LIKE 'hook:%' AND created_by NOT LIKE 'schedule:%' AND created_by NOT IN ('action-link', 'task');
UPDATE jobs SET owner = (SELECT s.created_by FROM schedules s WHERE 'schedule:' || s.name = jobs.created_by)
 WHERE created_by LIKE 'schedule:%';
CREATE INDEX jobs_owner ON jobs (owner, seq);
`;
