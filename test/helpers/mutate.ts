import { crc32 } from '../../src/keras/zip.js';

/**
 * Seeded mutations of model files for the fuzz test: raw bytes, ZIP archives and Keras
 * configuration JSON. Each returns what it did, so a failing case can be described.
 */
export type Random = () => number;

export const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)];
export const below = (random: Random, n: number): number => Math.floor(random() * n);

export function flipBits(bytes: Uint8Array, random: Random): { bytes: Uint8Array; what: string } {
  const out = bytes.slice();
  const flips = 1 + below(random, 8);
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const byte = below(random, out.length);
    out[byte] ^= 1 << below(random, 8);
    at.push(byte);
  }
  return { bytes: out, what: `flipped bits at bytes ${at.join(', ')}` };
}

export function truncate(bytes: Uint8Array, random: Random): { bytes: Uint8Array; what: string } {
  // Half the cuts near the end, where a file's tail (weights, the ZIP directory) lives.
  const cut = random() < 0.5 ? below(random, bytes.length) : bytes.length - 1 - below(random, Math.min(4096, bytes.length - 1));
  return { bytes: bytes.slice(0, cut), what: `truncated to ${cut} of ${bytes.length} bytes` };
}

/** A ZIP archive of stored (uncompressed) entries, or deflated ones given with their inflated size. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflated payload: `data` is then the compressed bytes and `size`/`crc` describe the inflated content. */
  deflated?: { size: number; crc: number };
}

export function writeZip(entries: ZipInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = new TextEncoder().encode(entry.name);
    const crc = entry.deflated?.crc ?? crc32(entry.data);
    const size = entry.deflated?.size ?? entry.data.length;
    const method = entry.deflated ? 8 : 0;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, entry.data.length, true);
    local.setUint32(22, size, true);
    local.setUint16(26, name.length, true);
    const header = new DataView(new ArrayBuffer(46));
    header.setUint32(0, 0x02014b50, true);
    header.setUint16(4, 20, true);
    header.setUint16(6, 20, true);
    header.setUint16(10, method, true);
    header.setUint32(16, crc, true);
    header.setUint32(20, entry.data.length, true);
    header.setUint32(24, size, true);
    header.setUint16(28, name.length, true);
    header.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, entry.data);
    central.push(new Uint8Array(header.buffer), name);
    offset += 30 + name.length + entry.data.length;
  }
  const centralSize = central.reduce((a, p) => a + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Values a hostile or broken config might hold where a number, list or name belongs. */
const ABSURD: unknown[] = [
  'abc', '16', '', -1, 0, -3, 0.5, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, null, true, [], {}, [[[]]], [-5, -5], [0, 0], [1e9, 1e9],
  [1e6, 3], ['3', '3'], { class_name: 'X' }, [null, null], [1, 2, 3, 4, 5],
];
const SHAPE_KEYS = ['kernel_size', 'pool_size', 'strides', 'dilation_rate', 'filters', 'units', 'target_shape', 'padding', 'depth_multiplier', 'axis', 'batch_shape', 'batch_input_shape', 'cropping', 'size'];
const EVIL_SHAPES: unknown[] = [-3, 0, 1e6, 2 ** 31, [1e6, 1e6], [-1, -1], '3', [3.5, 3], [2 ** 40, 1], [0, 3]];

function layersOf(root: Json): Json[] | undefined {
  const body = root.config;
  return isObject(body) && Array.isArray(body.layers) ? (body.layers as unknown[]).filter(isObject) : undefined;
}

function layerName(layer: Json): string | undefined {
  const name = layer.name ?? (isObject(layer.config) ? layer.config.name : undefined);
  return typeof name === 'string' ? name : undefined;
}

/** Replaces every string equal to `from` inside `value` by `to` (inbound references of any Keras vintage). */
function renameReferences(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => renameReferences(v, from, to));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameReferences(v, from, to)]));
  return value;
}

/** Mutates a parsed Keras model config in place; returns what it did. */
export function mutateConfig(root: Json, random: Random): string {
  const layers = layersOf(root);
  const kind = pick(random, ['drop-key', 'absurd-value', 'shape', 'cycle', 'unknown-layer', 'structure', 'input-shape'] as const);
  if (!layers || layers.length === 0) {
    root.config = pick(random, ABSURD);
    return 'model config body replaced';
  }
  const index = below(random, layers.length);
  const layer = layers[index];
  const config = isObject(layer.config) ? layer.config : (layer.config = {});
  const name = layerName(layer) ?? `#${index}`;
  switch (kind) {
    case 'drop-key': {
      const keys = [...Object.keys(config).map((k) => `config.${k}`), ...Object.keys(layer)];
      const key = pick(random, keys);
      if (key.startsWith('config.')) delete config[key.slice(7)];
      else delete layer[key];
      return `layer '${name}': dropped ${key}`;
    }
    case 'absurd-value': {
      const key = pick(random, Object.keys(config).length ? Object.keys(config) : ['name']);
      const value = pick(random, ABSURD);
      config[key] = value;
      return `layer '${name}': ${key} = ${JSON.stringify(value)}`;
    }
    case 'shape': {
      const withShape = layers.filter((l) => isObject(l.config) && SHAPE_KEYS.some((k) => k in (l.config as Json)));
      const target = withShape.length ? pick(random, withShape) : layer;
      const c = target.config as Json;
      const key = pick(random, SHAPE_KEYS.filter((k) => k in c).concat(SHAPE_KEYS.filter((k) => k in c).length ? [] : ['kernel_size']));
      const value = key === 'batch_shape' || key === 'batch_input_shape'
        ? [null, ...pick(random, [[1e6, 1e6, 3], [-28, 28, 1], ['28', 28, 1], [0, 28, 1], [2 ** 31, 2 ** 31, 2 ** 31], [28, 28]])]
        : pick(random, EVIL_SHAPES);
      c[key] = value;
      return `layer '${layerName(target)}': ${key} = ${JSON.stringify(value)}`;
    }
    case 'cycle': {
      // Point this layer's inputs at itself or at a later layer.
      const later = layers[index + below(random, layers.length - index)];
      const to = layerName(later);
      const inbound = JSON.stringify(layer.inbound_nodes ?? []);
      const from = layers.map(layerName).find((n) => n && inbound.includes(`"${n}"`));
      if (!from || !to) {
        layers.push(JSON.parse(JSON.stringify(layer)));
        return `layer '${name}' duplicated`;
      }
      layer.inbound_nodes = renameReferences(layer.inbound_nodes, from, to);
      return `layer '${name}' now reads '${to}' instead of '${from}'`;
    }
    case 'unknown-layer': {
      const cls = pick(random, ['Lambda', 'FancyLayer', 'TFOpLambda', '', 'Conv3D']);
      layer.class_name = cls;
      if (cls === 'Lambda') config.function = ['4wEAAAAAAAAAAAAAAAEAAAADAAAAUwAAAHMIAAAAfABkARQAUwApAk7p', null, null];
      return `layer '${name}' class set to '${cls}'`;
    }
    case 'structure': {
      const op = pick(random, ['drop-layer', 'duplicate-layer', 'class', 'io', 'layers-type', 'empty']);
      const body = root.config as Json;
      if (op === 'drop-layer') body.layers = layers.filter((_, i) => i !== index);
      else if (op === 'duplicate-layer') (body.layers as unknown[]).push(JSON.parse(JSON.stringify(layer)));
      else if (op === 'class') root.class_name = pick(random, ['Model', 'Weird', 42, null]);
      else if (op === 'io') body[pick(random, ['input_layers', 'output_layers'])] = pick(random, ABSURD);
      else if (op === 'layers-type') body.layers = pick(random, ['abc', 3, null, [1, 2], [[]]]);
      else body.layers = [];
      return `structure: ${op}${op.endsWith('layer') ? ` '${name}'` : ''}`;
    }
    case 'input-shape': {
      const input = layers.find((l) => l.class_name === 'InputLayer') ?? layers[0];
      const c = isObject(input.config) ? input.config : (input.config = {});
      const key = 'batch_shape' in c ? 'batch_shape' : 'batch_input_shape';
      const value = [null, ...pick(random, [[1e6, 1e6, 3], [-28, 28, 1], ['28', 28, 1], [0, 28, 1], [2 ** 31, 2 ** 31, 2 ** 31], [28, 28], [28, 28, 1, 1], [null, null, 1], [1.5, 28, 1]])];
      c[key] = value;
      return `input ${key} = ${JSON.stringify(value)}`;
    }
  }
}
