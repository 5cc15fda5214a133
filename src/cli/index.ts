/**
 * The `moat` command: one file per subcommand under commands/, loaded on demand. Only the module
 * of the command being run is imported (`moat status` never loads the gateway, `moat --version`
 * loads no command at all); help and unknown commands load them all. Returns an exit status to main.
 */
import { Command, CommanderError } from 'commander';

type Register = (program: Command) => void;

/** Top-level command name -> the module that registers it (a module may register several). */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Register>>> = {
  init: async () => (await import('./commands/init.js')).initCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  pair: async () => (await import('./commands/pair.js')).pairCommand,
  console: async () => (await import('./commands/console.js')).consoleCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
  job: async () => (await import('./commands/job.js')).jobCommand,
  events: async () => (await import('./commands/job.js')).jobCommand,
  schedule: async () => (await import('./commands/schedule.js')).scheduleCommand,
  callbacks: async () => (await import('./commands/schedule.js')).scheduleCommand,
  egress: async () => (await import('./commands/egress.js')).egressCommand,
  service: async () => (await import('./commands/service.js')).serviceCommand,
  hook: async () => (await import('./commands/hook.js')).hookCommand,
  task: async () => (await import('./commands/task.js')).taskCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
};

/**
 * The registrations `argv` needs: the named command's module; none for `moat --version`; all of
 * them for help, no command, or an unknown one (so help lists every command and a typo gets a
 * did-you-mean).
 */
export async function registrationsFor(argv: readonly string[]): Promise<Register[]> {
  const args = argv.slice(2);
  const first = args.findIndex((a) => !a.startsWith('-'));
  const name = first < 0 ? undefined : args[first] === 'help' ? args[first + 1] : args[first];
  if (name !== undefined && Object.hasOwn(COMMAND_MODULES, name)) return [await (COMMAND_MODULES[name] as () => Promise<Register>)()];
  if (first < 0 && args.some((a) => a === '-V' || a === '--version')) return [];
  return [...new Set(await Promise.all(Object.values(COMMAND_MODULES).map((load) => load())))];
}

export async function buildProgram(version: string, argv: readonly string[]): Promise<Command> {
  const program = new Command('moat')
    .description('Moat: a secure-by-default gateway for self-hosted AI agents and GPU services')
    .version(version)
    // A mistake gets its error line and a did-you-mean (commander's default), not a screen of help.
    .showHelpAfterError('(moat --help lists the commands, moat <command> --help their options)')
    .showSuggestionAfterError()
    .exitOverride();
  for (const register of await registrationsFor(argv)) register(program);
  return program;
}

export { CommanderError };
