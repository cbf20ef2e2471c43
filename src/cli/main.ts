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
  evaluate: {
    options: {
      ...MODEL_OPTIONS, data: { type: 'string' }, preprocess: { type: 'string' }, labels: { type: 'string' }, method: { type: 'string' }, out: { type: 'string' },
      samples: { type: 'string' }, metrics: { type: 'string' }, patch: { type: 'string' }, steps: { type: 'string' }, replacement: { type: 'string' }, score: { type: 'string' },
      radii: { type: 'string' }, draws: { type: 'string' }, 'randomization-samples': { type: 'string' }, examples: { type: 'string' }, seed: { type: 'string' },
      epsilon: { type: 'string' }, gamma: { type: 'string' }, low: { type: 'string' }, high: { type: 'string' }, title: { type: 'string' },
    },
    run: async (values: Values) => (await import('./evaluate.js')).evaluate(values),
  },
} as const;

/** The usage lines of a command's help (its text up to the first blank line). */
const usageOf = (command: string) => `${HELP[command].split('\n\n')[0]}\n(rlrp ${command === 'main' ? '' : `${command} `}--help for more)`;

let current = 'main';

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' && args[0] && args[0] in COMMANDS ? args[0] : 'main';
    (command ? process.stdout : process.stderr).write(`${HELP[topic]}\n`);
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  current = command;
  const { options, run } = COMMANDS[command as keyof typeof COMMANDS];
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP[command]);
    return 0;
  }
  // explain and predict take extra arguments as images (an unquoted glob the shell expanded).
  const { values, rest } = parseCommand(args, options, command === 'explain' || command === 'predict');
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
