/** The `moat` command: one file per subcommand under commands/. Returns an exit status to main. */
import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.js';
import { configCommand } from './commands/config.js';
import { doctorCommand } from './commands/doctor.js';
import { jobCommand } from './commands/job.js';
import { scheduleCommand } from './commands/schedule.js';
import { egressCommand } from './commands/egress.js';
import { pairCommand } from './commands/pair.js';
import { serveCommand } from './commands/serve.js';
import { serviceCommand } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { tokenCommand } from './commands/token.js';
import { hookCommand } from './commands/hook.js';
import { taskCommand } from './commands/task.js';

export function buildProgram(version: string): Command {
  const program = new Command('moat')
    .description('Moat: a secure-by-default gateway for self-hosted AI agents and GPU services')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  serveCommand(program);
  statusCommand(program);
  tokenCommand(program);
  pairCommand(program);
  auditCommand(program);
  configCommand(program);
  jobCommand(program);
  scheduleCommand(program);
  egressCommand(program);
  serviceCommand(program);
  hookCommand(program);
  taskCommand(program);
  doctorCommand(program);
  return program;
}

export { CommanderError };
