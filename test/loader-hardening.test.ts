import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { ModelFormatError, RlrpError } from '../src/errors.js';
import type { Gpu } from '../src/gpu/device.js';
import { graphFromKeras } from '../src/graph/from-keras.js';
import { Float32Source } from '../src/io/float32-source.js';
import { parseModelConfig } from '../src/keras/config.js';
import { readKerasModel } from '../src/keras/load.js';
import { crc32 } from '../src/keras/zip.js';
import { Model } from '../src/model.js';
import { rewriteHdf5 } from './helpers/hdf5-rewrite.js';
import { writeZip } from './helpers/mutate.js';
import { rng, SyntheticModel } from './helpers/synthetic.js';

// One regression test per class of bug the fuzz test (fuzz.test.ts) found or guards against:
// each hostile file fails with a ModelFormatError that names the problem, before any large
// allocation and before any GPU work.
const BUNDLED = new Uint8Array(readFileSync('weights/fashion_cnn.h5'));
const KERNEL = 'model_weights/conv1/fashion_cnn/conv1/kernel';

/** A GPU stand-in that fails the test if anything touches it. */
const untouchableGpu = new Proxy({} as Gpu, {
  get(_, key) {
    throw new Error(`GPU was touched (${String(key)}) before the bad file was reported`);
  },
});

const kernelOf = async (bytes: Uint8Array) => (await readKerasModel(bytes)).weights.get('conv1')!.get('kernel')!;

describe('HDF5 datasets', () => {
  it('a declared shape the file cannot hold is refused before reading (no huge allocation)', async () => {
    const bytes = await rewriteHdf5(BUNDLED, {
      dataset: (path) => (path === KERNEL ? { data: new Float32Array(1), shape: [1, 1, 1, 1], resizeTo: [2 ** 20, 2 ** 20, 1, 16] } : undefined),
    });
    const rss = process.memoryUsage().rss;
    await expect(readKerasModel(bytes)).rejects.toThrow(new RegExp(`dataset '${KERNEL}' declares shape \\[1048576, 1048576, 1, 16\\] \\(70368744177664 bytes\\), more than the \\d+-byte file can hold`));
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 2 ** 20);
  });

  it('a global heap whose object sizes do not add up is refused (HDF5 itself would loop forever on it)', async () => {
    const bytes = BUNDLED.slice();
    const at = Buffer.from(bytes.buffer).indexOf('GCOL');
    expect(at).toBeGreaterThan(0);
    // The first object becomes a zero-sized free-space object (index 0, size 0): found by the fuzz test as one flipped size bit.
    bytes.fill(0, at + 16, at + 32);
    await expect(readKerasModel(bytes)).rejects.toThrow(new RegExp(`HDF5 global heap at byte ${at} is corrupt \\(object 0 at byte ${at + 16} has size 0\\)`));
  });

  it("global heaps are found the same way without Node's Buffer (as in a browser)", async () => {
    const original = await kernelOf(BUNDLED);
    const corrupt = BUNDLED.slice();
    const at = Buffer.from(corrupt.buffer).indexOf('GCOL');
    corrupt.fill(0, at + 16, at + 32);
    vi.stubGlobal('Buffer', undefined);
    try {
      expect(Array.from((await kernelOf(BUNDLED)).data.values())).toEqual(Array.from(original.data.values()));
      await expect(readKerasModel(corrupt)).rejects.toThrow(new RegExp(`HDF5 global heap at byte ${at} is corrupt`));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('float64 weights load with the same values; integer and string datasets are refused by dtype', async () => {
    const original = await kernelOf(BUNDLED);
    const widened = await rewriteHdf5(BUNDLED, { dataset: (path, d) => (path === KERNEL ? { data: Float64Array.from(d.data), shape: d.shape } : undefined) });
    expect(Array.from((await kernelOf(widened)).data.values())).toEqual(Array.from(original.data.values()));
    for (const data of [Int32Array.from(original.data.values(), Math.round), Array.from(original.data.values(), String)]) {
      const bytes = await rewriteHdf5(BUNDLED, { dataset: (path, d) => (path === KERNEL ? { data, shape: d.shape } : undefined) });
      await expect(readKerasModel(bytes)).rejects.toThrow(/has unsupported dtype .*weights must be float16, float32 or float64/);
    }
  });

  it('non-finite weights and a negative BatchNormalization variance are refused, naming the layer', async () => {
    const nan = await rewriteHdf5(BUNDLED, { dataset: (path, d) => (path === KERNEL ? { data: Float32Array.from(d.data, (v, i) => (i === 5 ? NaN : v)), shape: d.shape } : undefined) });
    await expect(Model.load(nan, { gpu: untouchableGpu })).rejects.toThrow(/layer 'conv1' has a non-finite kernel value \(NaN at index 5\)/);
    const m = new SyntheticModel(rng(4));
    const x = m.input([4]);
    const bn = m.layer('BatchNormalization', { name: 'bn', epsilon: 1e-3 }, [x], { gamma: [4], beta: [4], moving_mean: [4], moving_variance: [4] });
    const keras = m.build(m.layer('Dense', { units: 2 }, [bn], { kernel: [4, 2], bias: [2] }));
    keras.weights.get('bn')!.get('moving_variance')!.data.values()[2] = -5;
    expect(() => graphFromKeras(keras)).toThrow(/layer 'bn' has a non-finite (batchnorm )?(scale|kernel|bias) value/);
  });
});

describe('.keras archives', () => {
  const config = new TextEncoder().encode(JSON.stringify({ class_name: 'Sequential', config: { name: 'x', layers: [] } }));
  const weights = new Uint8Array(64);

  it('a changed byte inside an entry fails its CRC-32', async () => {
    const bytes = writeZip([{ name: 'config.json', data: config }, { name: 'model.weights.h5', data: weights }]);
    bytes[30 + 'config.json'.length + 3] ^= 0x10;
    await expect(readKerasModel(bytes)).rejects.toThrow(/'config.json' is corrupt \(CRC-32 mismatch\)/);
  });

  it('zip bombs: an honest huge size, a lying small one, an impossible ratio', async () => {
    const content = new Uint8Array(80 * 2 ** 20).fill(0x20);
    const bomb = new Uint8Array(deflateRawSync(content));
    const honest = writeZip([{ name: 'config.json', data: bomb, deflated: { size: content.length, crc: crc32(content) } }, { name: 'model.weights.h5', data: weights }]);
    await expect(readKerasModel(honest)).rejects.toThrow(/'config.json' declares 83886080 bytes, more than the 67108864 allowed for it/);
    const lying = writeZip([{ name: 'config.json', data: bomb, deflated: { size: config.length, crc: crc32(config) } }, { name: 'model.weights.h5', data: weights }]);
    await expect(readKerasModel(lying)).rejects.toThrow(/could not inflate 'config.json': inflates past its declared \d+ bytes/);
    const ratio = writeZip([{ name: 'config.json', data: config }, { name: 'model.weights.h5', data: weights.subarray(0, 16), deflated: { size: 0xfffffff0, crc: 0 } }]);
    await expect(readKerasModel(ratio)).rejects.toThrow(ModelFormatError);
  });
});

describe('model configurations', () => {
  function functional(layers: unknown[], outputs: unknown = [['out', 0, 0]]) {
    return { class_name: 'Functional', config: { name: 'f', layers, input_layers: [['in', 0, 0]], output_layers: outputs } };
  }
  const input = { class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_shape: [null, 4] }, inbound_nodes: [] };
  const fromIn = [[['in', 0, 0, {}]]];
  const dense = { class_name: 'Dense', name: 'out', config: { name: 'out', units: 2 }, inbound_nodes: fromIn };
  /** Parses and builds a configuration with weights that fit its Dense layer 'out'. */
  const build = (root: Record<string, unknown>) => graphFromKeras({
    config: parseModelConfig(root, 'arch'), format: 'legacy-h5', label: 'arch',
    weights: new Map([['out', new Map([['kernel', { shape: [4, 2], data: Float32Source.of(new Float32Array(8)) }], ['bias', { shape: [2], data: Float32Source.of(new Float32Array(2)) }]])]]),
  });

  it('values of the wrong type are named, not a TypeError', () => {
    expect(build(functional([input, dense])).nodes.length).toBe(2);
    const cases: [Record<string, unknown>, RegExp][] = [
      [functional([{ ...input, config: { name: 'in', batch_shape: 0.5 } }, dense]), /batch_shape 0.5 is not a list of dimensions/],
      [functional([input, { ...dense, inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: {} }] }] }]), /layer 'out' has an unreadable inbound tensor undefined/],
      [functional([input, { ...dense, config: { name: 'out', units: '2' } }]), /units must be a positive integer .*got "2"/],
      [functional([input, { ...dense, config: { name: 'out', units: 2 ** 40 } }]), /units must be a positive integer \(at most 16777216\)/],
      [functional([input, { class_name: 'Reshape', name: 'out', config: { name: 'out', target_shape: 'abc' }, inbound_nodes: fromIn }]), /target_shape "abc" is not a list/],
      [functional([{ ...input, config: { name: 'in', batch_shape: [null, 4, 4, 1] } }, { class_name: 'ZeroPadding2D', name: 'out', config: { name: 'out', padding: -3 }, inbound_nodes: fromIn }]), /padding -3 must be non-negative integers/],
      [functional([input, dense], [['nowhere', 0, 0]]), /refers to a layer 'nowhere' that it does not define/],
    ];
    for (const [root, message] of cases) {
      let error: unknown;
      try {
        build(root);
      } catch (e) {
        error = e;
      }
      expect(error, String(message)).toBeInstanceOf(RlrpError);
      expect(String((error as Error).message), String(message)).toMatch(message);
    }
  });

  it('a chain deeper than the call stack builds (no recursion); an absurd layer count is refused', () => {
    const m = new SyntheticModel(rng(5));
    let last = m.input([4]);
    for (let i = 0; i < 12_000; i++) last = m.layer('ReLU', {}, [last]);
    const graph = graphFromKeras(m.build(last));
    expect(graph.nodes.length).toBe(12_001);
    const layers = Array.from({ length: 20_001 }, (_, i) => ({ class_name: 'ReLU', config: { name: `r${i}` } }));
    return expect(readKerasModel(new Uint8Array(readFileSync('weights/fashion_cnn.h5')), { config: { class_name: 'Sequential', config: { name: 's', layers } } }))
      .rejects.toThrow(/lists 20001 layers, more than the 20000 this library accepts/);
  });
});
