/** Command-line parsing shared by the commands: usage errors and typed flag values. */
import { parseArgs } from 'node:util';
import type { LayerRuleName } from '../rules/index.js';

/** A command line that cannot be parsed or lacks a required option: exit code 2. */
export class UsageError extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** Options every command takes. */
const COMMON: OptionSpec = { help: { type: 'boolean' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } };

/** Options that pick and open the model (all commands). */
export const MODEL_OPTIONS: OptionSpec = { model: { type: 'string' }, config: { type: 'string' }, 'cache-dir': { type: 'string' } };

/** Options that turn image files into model inputs (predict, explain). */
export const IMAGE_OPTIONS: OptionSpec = {
  image: { type: 'string', multiple: true }, preprocess: { type: 'string' }, interpolation: { type: 'string' },
  crop: { type: 'boolean' }, 'grey-to-rgb': { type: 'boolean' }, 'batch-size': { type: 'string' }, labels: { type: 'string' },
};

/**
 * Parses a command's arguments (strict: unknown options are usage errors). With `positionals`,
 * extra arguments are taken as more images (an unquoted glob the shell expanded).
 */
export function parseCommand(args: string[], options: OptionSpec, positionals = false): { values: Values; rest: string[] } {
  const { values, positionals: rest } = parseArgs({ args, options: { ...COMMON, ...options }, strict: true, allowPositionals: positionals });
  return { values: values as Values, rest };
}

export function stringFlag(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function numberFlag(values: Values, name: string): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  return value;
}

/** A whole number >= `min`, or undefined when the flag is absent. */
export function wholeFlag(values: Values, name: string, min: number): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UsageError(`--${name} must be ${min === 1 ? 'a positive whole number' : `a whole number >= ${min}`}, got '${text}'`);
  return Number(text);
}

/** A whole number >= 1, or `fallback` when the flag is absent. */
export function countFlag(values: Values, name: string, fallback: number): number {
  return wholeFlag(values, name, 1) ?? fallback;
}

/** Comma-separated numbers (one or more). */
export function numberListFlag(values: Values, name: string): number[] | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const list = text.split(',').map((t) => Number(t));
  if (list.some((v) => !Number.isFinite(v))) throw new UsageError(`--${name} must be a number or comma-separated numbers, got '${text}'`);
  return list;
}

/** A number, or a comma-separated list (one per input channel). */
export function boundFlag(values: Values, name: string): number | number[] | undefined {
  const list = numberListFlag(values, name);
  return list?.length === 1 ? list[0] : list;
}

export function rulesFlag(text: string | undefined): Record<string, LayerRuleName> | undefined {
  if (text === undefined) return undefined;
  const entries = text.split(',').map((pair) => pair.split('='));
  if (entries.some((e) => e.length !== 2 || !e[0] || !e[1])) throw new UsageError(`--rules must look like layer=rule,layer2=rule, got '${text}'`);
  return Object.fromEntries(entries.map(([layer, rule]) => [layer.trim(), rule.trim() as LayerRuleName]));
}

export function targetFlag(text: string | undefined): number | number[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((t) => t.trim());
  if (list.some((t) => !/^\d+$/.test(t))) throw new UsageError(`--target must be a class index or a comma-separated list of them, got '${text}'`);
  return list.length === 1 ? Number(list[0]) : list.map(Number);
}
