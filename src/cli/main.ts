#!/usr/bin/env node
/**
 * The `rlrp` command: dispatch, help, and exit codes (0 ok, 1 runtime error, 2 usage error).
 * Commands load on use, so help and usage errors answer without loading the HDF5 reader or Dawn.
 */
import { IMAGE_OPTIONS, MODEL_OPTIONS, parseCommand, UsageError, type Values } from './args.js';
import { HELP } from './help.js';

const METHOD_OPTIONS = {
  method: { type: 'string' }, skip: { type: 'string' }, target: { type: 'string' }, layer: { type: 'string' }, rules: { type: 'string' },
  epsilon: { type: 'string' }, gamma: { type: 'string' }, alpha: { type: 'string' }, beta: { type: 'string' }, low: { type: 'string' }, high: { type: 'string' },
} as const;

const COMMANDS = {
  explain: {
    options: {
      ...MODEL_OPTIONS, ...IMAGE_OPTIONS, ...METHOD_OPTIONS, input: { type: 'string' }, top: { type: 'string' },
      out: { type: 'string' }, 'out-npy': { type: 'string' }, 'out-png': { type: 'string' }, colormap: { type: 'string' }, overlay: { type: 'string' }, clip: { type: 'string' },
    },
    run: async (values: Values, rest: string[]) => (await import('./explain.js')).explain(values, rest),
  },
  predict: {
    options: { ...MODEL_OPTIONS, ...IMAGE_OPTIONS, input: { type: 'string' }, top: { type: 'string' } },
    run: async (values: Values, rest: string[]) => (await import('./predict.js')).predict(values, rest),
  },
  inspect: { options: MODEL_OPTIONS, run: async (values: Values) => (await import('./inspect.js')).inspect(values) },
} as const;

/** The usage lines of a command's help (its text up to the first blank line). */
const usageOf = (command: string) => `${HELP[command].split('\n\n')[0]}\n(rlrp ${command === 'main' ? '' : `${command} `}--help for more)`;

let current = 'main';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  // evaluate parses its own options and answers its own --help (src/cli/evaluate.ts).
  if (command === 'evaluate' || (command === 'help' && args[0] === 'evaluate')) return (await import('./evaluate.js')).evaluateCommand(command === 'help' ? ['--help'] : args);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' && args[0] && args[0] in COMMANDS ? args[0] : 'main';
    (command ? process.stdout : process.stderr).write(`${HELP[topic]}\n`);
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) throw new UsageError(`unknown command '${command}' (commands: ${[...Object.keys(COMMANDS), 'evaluate'].join(', ')})`);
  current = command;
  const { options, run } = COMMANDS[command as keyof typeof COMMANDS];
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return 0;
  }
  const { values, rest } = parseCommand(args, options, command !== 'inspect');
  await run(values, rest);
  return 0;
}

process.env.XDG_RUNTIME_DIR ??= '/tmp';
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`rlrp: ${usage ? '' : `${e.name}: `}${e.message}\n${usage ? `${usageOf(current)}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
