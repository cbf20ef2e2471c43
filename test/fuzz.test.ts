import { appendFileSync, readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RlrpError } from '../src/errors.js';
import { crc32, ZipArchive } from '../src/keras/zip.js';
import { Model } from '../src/model.js';
import { testGpu } from './helpers/gpu.js';
import { FIXTURE_MODELS, fixture, fixturesAvailable } from './helpers/fixtures.js';
import { listHdf5, rewriteHdf5, type DatasetContent } from './helpers/hdf5-rewrite.js';
import { below, flipBits, mutateConfig, pick, truncate, writeZip, type Random } from './helpers/mutate.js';
import { rng } from './helpers/synthetic.js';

/**
 * Seeded fuzzing of every model file we can load (the bundled weights/*.h5 and every shared
 * fixture): each mutated file must either load and give finite logits, or fail with one of our
 * documented errors (an RlrpError subclass), within CASE_LIMIT_MS and without a huge allocation.
 *
 * What "same logits" means: a mutation that cannot yield a different valid model (truncation,
 * a flip inside a CRC-checked .keras archive, a dtype swap, a huge declared shape, a ZIP entry
 * dropped or renamed, a zip bomb) must fail or leave the logits unchanged. A bit flip inside an
 * .h5 file, an edited attribute or an edited config CAN produce a valid different model (a flipped
 * weight is just another weight), so there the logits need only be finite.
 *
 * The number of cases per (file, kind) follows the time budget FUZZ_BUDGET_MS; case i of a
 * (file, kind) always draws from the same seed, so any failure reproduces with FUZZ_SEED and the
 * printed case index (FUZZ_CASES fixes the count per pair instead of the budget).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 15_000);
const FIXED_CASES = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : undefined;
const MAX_CASES = 40;
/** A file to append each case to before it runs: the last line names a case that hangs. */
const TRACE = process.env.FUZZ_TRACE;
/** A load that takes longer than this is a hang for our purposes (the slowest pristine load here is ~0.3 s). */
const CASE_LIMIT_MS = 10_000;

const available = fixturesAvailable();

interface Target {
  file: string;
  config?: string;
  bytes: Uint8Array;
  arch?: Record<string, unknown>;
  input: Float32Array;
  shape: number[];
  logits: Float32Array;
  hdf5?: Awaited<ReturnType<typeof listHdf5>>;
}

type Kind = 'bitflip' | 'truncate' | 'dtype' | 'huge-shape' | 'attributes' | 'config' | 'zip-entries' | 'zip-bomb';
/** Kinds whose successful loads may be a different valid model (finite logits suffice). */
const MAY_DIFFER: ReadonlySet<Kind> = new Set(['attributes', 'config']);

interface Mutant {
  bytes: Uint8Array;
  arch?: Record<string, unknown>;
  what: string;
}

type Outcome = 'same' | 'different' | string;

function hash(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const c of parts.join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

const isKeras = (t: Target) => t.file.endsWith('.keras');

function kindsFor(target: Target): Kind[] {
  const common: Kind[] = ['bitflip', 'truncate', 'dtype', 'huge-shape', ...(target.hdf5!.attributes.length ? ['attributes' as const] : []), 'config'];
  return isKeras(target) ? [...common, 'zip-entries', 'zip-bomb'] : common;
}

async function zipEntries(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const archive = new ZipArchive(bytes, 'pristine');
  const out = new Map<string, Uint8Array>();
  for (const name of archive.entries.keys()) out.set(name, await archive.read(name, 2 ** 31));
  return out;
}

const rezip = (entries: Map<string, Uint8Array>) => writeZip([...entries].map(([name, data]) => ({ name, data })));

let bomb: { data: Uint8Array; size: number; crc: number } | undefined;
/** 80 MiB of JSON whitespace, deflated once (about 80 KiB). */
function jsonBomb(): { data: Uint8Array; size: number; crc: number } {
  if (!bomb) {
    const content = new Uint8Array(80 * 1024 * 1024).fill(0x20);
    bomb = { data: new Uint8Array(deflateRawSync(content)), size: content.length, crc: crc32(content) };
  }
  return bomb;
}

/** A dataset replacement for the 'dtype' kind: the same values as another type, or a type we must reject. */
function retyped(current: { data: ArrayLike<number>; shape: number[] }, random: Random): { content: DatasetContent; what: string } {
  const values = typeof current.data === 'number' ? [current.data] : Array.from(current.data); // a scalar dataset reads as a number
  const as = pick(random, ['float64', 'int32', 'uint8', 'string'] as const);
  const data = as === 'float64' ? Float64Array.from(values) : as === 'int32' ? Int32Array.from(values, Math.round) : as === 'uint8' ? Uint8Array.from(values, (v) => Math.abs(v * 100)) : values.map(String);
  return { content: { data, shape: current.shape.length ? current.shape : [values.length] }, what: `as ${as}` };
}

function hugeShape(current: { shape: number[] }, random: Random): { content: DatasetContent; what: string } {
  const rank = Math.max(1, current.shape.length);
  const choice = pick(random, ['every dim 2^20', 'first dim x 2^24', '2^40 elements', 'one dim 2^31']);
  const dims = choice === 'every dim 2^20' ? new Array<number>(rank).fill(2 ** 20)
    : choice === 'first dim x 2^24' ? [Math.max(1, current.shape[0] ?? 1) * 2 ** 24, ...current.shape.slice(1)]
      : choice === '2^40 elements' ? [2 ** 20, 2 ** 20] : [2 ** 31];
  const start = dims.map(() => 1);
  return { content: { data: new Float32Array(1), shape: start, resizeTo: dims }, what: `declared shape [${dims.join(', ')}]` };
}

/** Applies `edit` to the .h5 of a target: the file itself, or model.weights.h5 inside a .keras. */
async function editHdf5(target: Target, edit: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
  if (!isKeras(target)) return edit(target.bytes);
  const entries = await zipEntries(target.bytes);
  entries.set('model.weights.h5', await edit(entries.get('model.weights.h5')!));
  return rezip(entries);
}

async function mutate(target: Target, kind: Kind, random: Random): Promise<Mutant> {
  switch (kind) {
    case 'bitflip':
      return flipBits(target.bytes, random);
    case 'truncate':
      return truncate(target.bytes, random);
    case 'dtype':
    case 'huge-shape': {
      const datasets = target.hdf5!.datasets;
      const chosen = pick(random, datasets).path;
      let what = '';
      const bytes = await editHdf5(target, (b) => rewriteHdf5(b, {
        dataset: (path, current) => {
          if (path !== chosen) return undefined;
          const change = kind === 'dtype' ? retyped(current, random) : hugeShape(current, random);
          what = `dataset '${path}' ${change.what}`;
          return change.content;
        },
      }));
      return { bytes, what };
    }
    case 'attributes': {
      const chosen = pick(random, target.hdf5!.attributes);
      const op = pick(random, ['drop', 'rename', 'retype', 'reorder'] as const);
      const bytes = await editHdf5(target, (b) => rewriteHdf5(b, {
        attribute: (path, name, value) => {
          if (path !== chosen.path || name !== chosen.name) return undefined;
          if (op === 'drop') return null;
          if (op === 'retype') return pick(random, [42, 'x', Float64Array.of(1, 2)]);
          const list = Array.isArray(value) ? value.map(String) : [String(value)];
          if (op === 'rename') list[below(random, list.length)] = 'no_such_layer';
          else list.reverse();
          return list.length === 1 ? list[0] : list;
        },
      }));
      return { bytes, what: `attribute '${chosen.name}' on '${chosen.path || '/'}': ${op}` };
    }
    case 'config': {
      if (target.arch) {
        const arch = structuredClone(target.arch);
        return { bytes: target.bytes, arch, what: mutateConfig(arch, random) };
      }
      if (isKeras(target)) {
        const entries = await zipEntries(target.bytes);
        const root = JSON.parse(new TextDecoder().decode(entries.get('config.json')));
        const what = mutateConfig(root, random);
        entries.set('config.json', new TextEncoder().encode(JSON.stringify(root)));
        return { bytes: rezip(entries), what };
      }
      let what = '';
      const bytes = await rewriteHdf5(target.bytes, {
        attribute: (path, name, value) => {
          if (path !== '' || name !== 'model_config') return undefined;
          const root = JSON.parse(String(value));
          what = mutateConfig(root, random);
          return JSON.stringify(root);
        },
      });
      return { bytes, what };
    }
    case 'zip-entries': {
      const entries = await zipEntries(target.bytes);
      const names = [...entries.keys()];
      const op = pick(random, ['drop', 'rename', 'swap', 'extra'] as const);
      if (op === 'drop') {
        const name = pick(random, names);
        entries.delete(name);
        return { bytes: rezip(entries), what: `dropped '${name}'` };
      }
      if (op === 'rename') {
        const name = pick(random, names);
        const to = pick(random, [`${name}.bak`, name.toUpperCase(), `dir/${name}`, 'model.weights.npz', `${name} `]);
        const data = entries.get(name)!;
        entries.delete(name);
        entries.set(to, data);
        return { bytes: rezip(entries), what: `renamed '${name}' to '${to}'` };
      }
      if (op === 'swap') {
        const config = entries.get('config.json')!;
        entries.set('config.json', entries.get('model.weights.h5')!);
        entries.set('model.weights.h5', config);
        return { bytes: rezip(entries), what: 'swapped config.json and model.weights.h5' };
      }
      entries.set('assets/readme.txt', new TextEncoder().encode('not part of the model'));
      return { bytes: rezip(entries), what: 'added an unrelated entry' };
    }
    case 'zip-bomb': {
      const entries = await zipEntries(target.bytes);
      const op = pick(random, ['honest', 'lying', 'ratio'] as const);
      const list = [...entries].map(([name, data]) => ({ name, data } as { name: string; data: Uint8Array; deflated?: { size: number; crc: number } }));
      const config = list.find((e) => e.name === 'config.json')!;
      const weights = list.find((e) => e.name === 'model.weights.h5')!;
      const b = jsonBomb();
      if (op === 'honest') Object.assign(config, { data: b.data, deflated: { size: b.size, crc: b.crc } });
      else if (op === 'lying') Object.assign(config, { data: b.data, deflated: { size: config.data.length, crc: crc32(config.data) } });
      else Object.assign(weights, { data: weights.data.subarray(0, 1024), deflated: { size: 0xfffffff0, crc: 0 } });
      return { bytes: writeZip(list), what: `zip bomb: ${op}` };
    }
  }
}

async function attempt(target: Target, mutant: Mutant): Promise<{ outcome: Outcome; ms: number; error?: unknown }> {
  const started = performance.now();
  const gpu = await testGpu();
  const done = (outcome: Outcome, error?: unknown) => ({ outcome, ms: performance.now() - started, error });
  let model: Model;
  try {
    model = await Model.load(mutant.bytes, { gpu, config: mutant.arch ?? (target.config ? target.arch : undefined) });
  } catch (e) {
    return done(e instanceof RlrpError ? e.name : `uncaught ${(e as Error)?.name}`, e);
  }
  try {
    const { logits } = await model.predict(target.input, target.shape);
    if (!logits.every(Number.isFinite)) return done('non-finite logits');
    const range = Math.max(...target.logits) - Math.min(...target.logits);
    const diff = logits.reduce((m, v, i) => Math.max(m, Math.abs(v - target.logits[i])), 0);
    return done(logits.length === target.logits.length && diff <= 1e-5 * range ? 'same' : 'different');
  } catch (e) {
    return done(e instanceof RlrpError ? e.name : `uncaught ${(e as Error)?.name}`, e);
  } finally {
    model.destroy();
  }
}

function acceptable(kind: Kind, outcome: Outcome): boolean {
  if (outcome === 'same') return true;
  if (outcome === 'different') return MAY_DIFFER.has(kind) || kind === 'bitflip';
  return !outcome.startsWith('uncaught') && outcome !== 'non-finite logits';
}

function targetFiles(): { file: string; config?: string }[] {
  const bundled = [{ file: 'weights/fashion_cnn.h5' }, { file: 'weights/fashion_resnet.h5' }];
  if (!available) return bundled;
  const seen = new Set<string>();
  const forms = FIXTURE_MODELS.flatMap((m) => m.forms).filter((f) => !seen.has(f.file) && seen.add(f.file));
  return [...bundled, ...forms.map((f) => ({ file: fixture(f.file), config: f.config && fixture(f.config) }))];
}

describe('fuzzed model files', () => {
  const tally = new Map<string, Map<Outcome, number>>();
  const failures: string[] = [];
  let slowest = { ms: 0, what: '' };
  let cases = 0;
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;

  afterAll(() => {
    const rows = [...tally].map(([kind, outcomes]) => `${kind.padEnd(11)} ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}`);
    console.log([
      `fuzz seed ${SEED}, budget ${BUDGET_MS} ms: ${cases} mutated files; slowest case ${slowest.ms.toFixed(0)} ms (${slowest.what})`,
      `peak RSS ${(rssPeak / 2 ** 20).toFixed(0)} MiB (started at ${(rssBefore / 2 ** 20).toFixed(0)} MiB)`,
      ...rows,
    ].join('\n'));
  });

  it('every mutation loads with finite (or, where it must, the same) logits, or fails with one of our errors in time', async () => {
    const gpu = await testGpu();
    const targets: Target[] = [];
    for (const { file, config } of targetFiles()) {
      const bytes = new Uint8Array(readFileSync(file));
      const arch = config ? JSON.parse(readFileSync(config, 'utf8')) : undefined;
      const model = await Model.load(bytes, { gpu, config: arch });
      const shape = [1, ...model.info.inputShape];
      const random = rng(hash(SEED, file, 'input'));
      const input = Float32Array.from({ length: model.info.inputShape.reduce((a, b) => a * b, 1) }, () => random());
      const logits = (await model.predict(input, shape)).logits;
      model.destroy();
      const hdf5 = await listHdf5(file.endsWith('.keras') ? (await zipEntries(bytes)).get('model.weights.h5')! : bytes);
      targets.push({ file, config, bytes, arch, input, shape, logits, hdf5 });
    }
    const pairs = targets.flatMap((t) => kindsFor(t).map((kind) => ({ target: t, kind })));
    const slice = BUDGET_MS / pairs.length;
    for (const { target, kind } of pairs) {
      const started = performance.now();
      const count = tally.get(kind) ?? new Map<Outcome, number>();
      tally.set(kind, count);
      for (let i = 0; i < (FIXED_CASES ?? MAX_CASES); i++) {
        if (FIXED_CASES === undefined && i > 0 && performance.now() - started > slice) break;
        if (TRACE) appendFileSync(TRACE, `${target.file} ${kind} #${i}\n`);
        const mutant = await mutate(target, kind, rng(hash(SEED, target.file, kind, i)));
        if (TRACE) appendFileSync(TRACE, `  ${mutant.what}\n`);
        const { outcome, ms, error } = await attempt(target, mutant);
        cases++;
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        count.set(outcome, (count.get(outcome) ?? 0) + 1);
        const what = `${target.file.replace(/.*fixtures\//, '')} ${kind} #${i}: ${mutant.what}`;
        if (ms > slowest.ms) slowest = { ms, what };
        if (!acceptable(kind, outcome) || ms > CASE_LIMIT_MS) {
          failures.push(`${what} -> ${outcome} in ${ms.toFixed(0)} ms${error ? `: ${String((error as Error).stack ?? error).split('\n').slice(0, 3).join(' | ')}` : ''}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(rssPeak - rssBefore).toBeLessThan(2 ** 30);
  });
});
