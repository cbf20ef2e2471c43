import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h5wasm from 'h5wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { FileBytes, MemoryBytes } from '../src/io/byte-reader.js';
import { Float32Source } from '../src/io/float32-source.js';
import { toHalf } from '../src/gpu/half.js';
import { readKerasModel } from '../src/keras/load.js';
import { Model } from '../src/model.js';
import { openBytes } from '../src/keras/source.js';
import { testGpu } from './helpers/gpu.js';
import { ensureMobilenet, KERAS_APPS_DIR } from './helpers/keras-apps.js';
import { rewriteHdf5 } from './helpers/hdf5-rewrite.js';

// A model given by path (larger than a few MiB) is not read whole: HDF5 reads its metadata
// through FileBytes, and large weights stay in the file (Float32Source) until a check or an
// upload reads them run by run. What reaches the GPU must equal the file read into memory, bit
// for bit (test/hdf5-in-place.test.ts compares every dataset of every model file read from disk),
// and a file that changes or vanishes under a loaded model must give a clear error.

const dir = mkdtempSync(join(tmpdir(), 'rlrp-file-backed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mobilenet = () => {
  ensureMobilenet();
  return join(KERAS_APPS_DIR, 'mobilenet.h5');
};
const LARGE_KERNEL = 'model_weights/conv_pw_13/conv_pw_13/kernel';

describe('a model given by path', () => {
  it('is read from disk as needed only when it is larger than a few MiB', async () => {
    expect(await openBytes('weights/fashion_cnn.h5')).toBeInstanceOf(MemoryBytes);
    expect(await openBytes(mobilenet())).toBeInstanceOf(FileBytes);
  });

  it('float16, float32 and float64 values read from disk, in runs that do not divide them', async () => {
    const values = Float32Array.from({ length: 24 }, (_, i) => (i - 11.5) / 4); // exact in float16
    const encodings = {
      2: (v: number, view: DataView, at: number) => view.setUint16(at, toHalf(Float32Array.of(v))[0], true),
      4: (v: number, view: DataView, at: number) => view.setFloat32(at, v, true),
      8: (v: number, view: DataView, at: number) => view.setFloat64(at, v, true),
    };
    for (const [size, encode] of Object.entries(encodings)) {
      const elementSize = Number(size) as 2 | 4 | 8;
      // Three bytes before the values, so no read is aligned to the element size.
      const bytes = new Uint8Array(3 + elementSize * values.length);
      values.forEach((v, i) => encode(v, new DataView(bytes.buffer), 3 + elementSize * i));
      const path = join(dir, `values-f${elementSize}.bin`);
      writeFileSync(path, bytes);
      const runs: number[] = [];
      const seen = new Float32Array(values.length);
      Float32Source.stored((await FileBytes.open(path))!, 3, elementSize, values.length).forEachRun(7, (run, start) => {
        runs.push(run.length);
        seen.set(run, start);
      });
      expect(runs, `float${8 * elementSize}`).toEqual([7, 7, 7, 3]);
      expect(Array.from(seen), `float${8 * elementSize}`).toEqual(Array.from(values));
    }
  });

  it('streams kernels into split GPU buffers with the logits of the same file in memory, in f32 and f16', async () => {
    const path = mobilenet();
    const real = await testGpu();
    // Bindings that still hold MobileNet's largest activation (3.2 MB) but not its two largest
    // kernels (4 MiB and 3.9 MB), which are then split into chunks.
    const gpu = { ...real, limits: { ...real.limits, maxStorageBufferBindingSize: 3.5 * (1 << 20) } };
    const input = Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => (((i * 7919) % 1000) / 500) - 1);
    for (const weightPrecision of ['f32', 'f16'] as const) {
      const onDisk = await Model.load(path, { gpu, weightPrecision });
      const inMemory = await Model.load(new Uint8Array(readFileSync(path)), { gpu, weightPrecision });
      try {
        const split = onDisk.graph.nodes.filter((n) => n.op === 'conv2d' && 4 * n.kernel.length > gpu.limits.maxStorageBufferBindingSize);
        expect(split.map((n) => n.kerasName).sort()).toEqual(['conv_preds', 'conv_pw_13']);
        const [a, b] = [await onDisk.predict(input), await inMemory.predict(input)];
        expect(Array.from(a.logits), weightPrecision).toEqual(Array.from(b.logits));
      } finally {
        onDisk.destroy();
        inMemory.destroy();
      }
    }
  }, 60_000);
});

describe('bad files on disk', () => {
  it('a non-finite weight in a kernel still on disk is refused, naming the layer and index', async () => {
    const at = 1_000_003; // in the kernel's fourth 4 MiB run
    const bytes = await rewriteHdf5(new Uint8Array(readFileSync(mobilenet())), {
      dataset: (name, d) => (name === LARGE_KERNEL ? { data: Float32Array.from(d.data, (v, i) => (i === at ? Infinity : v)), shape: d.shape } : undefined),
    });
    const path = join(dir, 'infinite.h5');
    writeFileSync(path, bytes);
    expect(await openBytes(path)).toBeInstanceOf(FileBytes);
    await expect(Model.load(path, { gpu: await testGpu() })).rejects.toThrow(new RegExp(`layer 'conv_pw_13' has a non-finite kernel value \\(Infinity at index ${at}\\)`));
  }, 60_000);

  it('a model file replaced or deleted after loading: weights not read yet give a clear error', async () => {
    const path = join(dir, 'changing.h5');
    writeFileSync(path, readFileSync(mobilenet()));
    const keras = await readKerasModel(path);
    const kernel = () => keras.weights.get('conv_pw_13')!.get('kernel')!.data.values();
    const small = keras.weights.get('conv1')!.get('kernel')!.data;
    writeFileSync(path, readFileSync(mobilenet()).subarray(0, 5 << 20));
    // Small datasets were read at load; the large ones are read when needed, from a file that changed.
    expect(small.values().length).toBe(3 * 3 * 3 * 32);
    expect(kernel).toThrow(ModelFormatError);
    expect(kernel).toThrow(new RegExp(`model file '${path}' changed on disk after it was loaded`));
    unlinkSync(path);
    expect(kernel).toThrow(new RegExp(`could not reopen model file '${path}'.*ENOENT`));
  });

  it('a file cut short while it is open: the read says where it ended', async () => {
    const path = join(dir, 'cut.bin');
    writeFileSync(path, new Uint8Array(4096).fill(1));
    const file = (await FileBytes.open(path))!;
    file.hold();
    try {
      truncateSync(path, 1000);
      expect(() => file.readInto(new Uint8Array(100), 950)).toThrow(/the file ended at byte 1000, before its 4096 bytes/);
    } finally {
      file.release();
    }
  });

  it("directories another copy of this library mounted in h5wasm's file system are passed over", async () => {
    const { FS } = (await h5wasm.ready) as unknown as { FS: { mkdir(path: string): void; rmdir(path: string): void; readdir(path: string): string[] } };
    // What a second copy of the library (its own mount counter, the same h5wasm) would have made.
    const taken = Array.from({ length: 40 }, (_, i) => `/rlrp-reader-${i + 1}`).filter((path) => !FS.readdir('/').includes(path.slice(1)));
    taken.forEach((path) => FS.mkdir(path));
    try {
      const keras = await readKerasModel(new Uint8Array(readFileSync('weights/fashion_cnn.h5')));
      expect(keras.weights.size).toBeGreaterThan(0);
    } finally {
      taken.forEach((path) => FS.rmdir(path));
    }
  });

  it('reads outside the file are refused before they reach it', () => {
    const file = new MemoryBytes(new Uint8Array(16), 'tiny');
    expect(() => file.readInto(new Uint8Array(8), 12)).toThrow(RangeError);
    expect(Float32Source.stored(file, 0, 8, 2).values()).toEqual(new Float32Array(2));
    expect(() => Float32Source.stored(file, 4, 8, 2).values()).toThrow(RangeError);
  });
});
