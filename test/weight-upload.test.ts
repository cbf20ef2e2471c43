import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uploadWeights } from '../src/engine/forward.js';
import { GpuResources } from '../src/gpu/resources.js';
import { FileBytes } from '../src/io/byte-reader.js';
import { Float32Source } from '../src/io/float32-source.js';
import { Model } from '../src/model.js';
import type { ConvWeights } from '../src/ops/conv2d/index.js';
import { referenceForward } from '../src/reference/forward.js';
import { testGpu } from './helpers/gpu.js';
import { randomArray, rng, SyntheticModel } from './helpers/synthetic.js';

// A dense kernel larger than one storage binding is split along its outputs, and each chunk is
// gathered a block of rows at a time (4 MiB) straight into its GPU buffer. Here the chunks span
// several blocks, in f32 and in f16 (where a chunk with an odd number of columns and rows ends
// in half a word): any misplaced block or dropped tail shows in the logits against the float64
// reference.

const INPUTS = 4095;
const UNITS = 601;

describe('split kernels gathered block by block', () => {
  const models: Model[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'rlrp-weight-upload-'));
  afterAll(() => {
    models.forEach((m) => m.destroy());
    rmSync(dir, { recursive: true, force: true });
  });

  // 8 MiB (f32) / 4 MiB (f16) bindings: chunks of 512 columns, whose 4095 rows are read in three
  // runs (1744, 1744 and 607 rows), then one of 89 columns (4095 x 89 halves: not a whole number of 4-byte words).
  // The kernel is held in memory, or still in a file on disk (read run by run as it uploads).
  const cases = [['f32', 8 << 20, 1e-4, 'memory'], ['f16', 4 << 20, 1e-2, 'memory'], ['f32', 8 << 20, 1e-4, 'disk'], ['f16', 4 << 20, 1e-2, 'disk']] as const;
  for (const [precision, binding, tolerance, origin] of cases) {
    it(`${precision}, kernel ${origin === 'disk' ? 'on disk' : 'in memory'}`, async () => {
      const random = rng(31);
      const m = new SyntheticModel(random);
      const keras = m.build(m.layer('Dense', { units: UNITS }, [m.input([INPUTS])], { kernel: [INPUTS, UNITS], bias: [UNITS] }, 0.05));
      if (origin === 'disk') {
        const kernel = keras.weights.get(keras.config.layers[1].name)!.get('kernel')!;
        const values = kernel.data.values();
        const path = join(dir, 'kernel.bin');
        writeFileSync(path, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        kernel.data = Float32Source.stored((await FileBytes.open(path))!, 0, 4, values.length);
      }
      const real = await testGpu();
      const gpu = { ...real, limits: { ...real.limits, maxStorageBufferBindingSize: binding } };
      const model = await Model.fromKeras(keras, { gpu, weightPrecision: precision });
      models.push(model);
      const res = new GpuResources(gpu, precision);
      const dense = model.graph.nodes.find((n) => n.op === 'conv2d')!;
      expect((uploadWeights(res, model.graph).get(dense.id) as ConvWeights).chunks.map((c) => c.count)).toEqual([512, 89]);
      res.destroy();
      // Sample 0 is random; sample 1 selects the kernel's last row, so its logits are bias + that
      // row: the very last weight (the half word at the end in f16) shows on its own.
      const input = new Float32Array(2 * INPUTS);
      input.set(randomArray(random, INPUTS));
      input[2 * INPUTS - 1] = 1;
      const reference = referenceForward(model.graph, input, 2)[model.graph.output];
      const { logits } = await model.predict(input);
      let diff = 0;
      let scale = 0;
      reference.subarray(0, UNITS).forEach((r, i) => {
        diff = Math.max(diff, Math.abs(logits[i] - r));
        scale = Math.max(scale, Math.abs(r));
      });
      expect(diff / scale).toBeLessThan(tolerance);
      for (let i = UNITS; i < 2 * UNITS; i++) expect(Math.abs(logits[i] - reference[i]), `unit ${i - UNITS}`).toBeLessThan(1e-4);
    });
  }
});
