import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h5wasm from 'h5wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/errors.js';
import { FileBytes, MemoryBytes } from '../src/io/byte-reader.js';
import { ContiguousDatasets } from '../src/keras/hdf5-contiguous.js';
import { Hdf5File, type Hdf5Tensor } from '../src/keras/hdf5.js';
import { ZipArchive } from '../src/keras/zip.js';
import { FIXTURE_MODELS, fixture, fixturesAvailable } from './helpers/fixtures.js';
import { ensureMobilenet, KERAS_APPS_DIR } from './helpers/keras-apps.js';
import { below } from './helpers/mutate.js';
import { rng } from './helpers/synthetic.js';

// Float datasets read in place from the file's bytes (src/keras/hdf5-contiguous.ts) against
// h5wasm reading the same datasets: bit for bit on every model file the tests use; the storage
// forms left to h5wasm really go to h5wasm; hostile object headers give undefined (h5wasm then
// decides), never an exception, an out-of-bounds view or a hang.

const STORAGE = 'test/data/hdf5-storage'; // written by make_storage_variants.py (h5py)

/** The HDF5 bytes of a model file: the file itself, or model.weights.h5 inside a .keras. */
async function hdf5Bytes(path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(readFileSync(path));
  return path.endsWith('.keras') ? new ZipArchive(bytes, path).read('model.weights.h5', 2 ** 31 - 1) : bytes;
}

function modelFiles(): string[] {
  const files = ['weights/fashion_cnn.h5', 'weights/fashion_resnet.h5'];
  if (fixturesAvailable()) files.push(...new Set(FIXTURE_MODELS.flatMap((m) => m.forms.map((f) => fixture(f.file)))));
  // MobileNet's files are made when missing (never skipped); whatever else setup.sh wrote there too.
  ensureMobilenet();
  files.push(...readdirSync(KERAS_APPS_DIR).filter((f) => f.endsWith('.h5')).sort().map((f) => join(KERAS_APPS_DIR, f)));
  return files;
}

function datasetPaths(file: Hdf5File, group = ''): string[] {
  return file.keys(group).flatMap((key) => {
    const path = group ? `${group}/${key}` : key;
    return file.isGroup(path) ? datasetPaths(file, path) : [path];
  });
}

const outcome = (file: Hdf5File, path: string): Hdf5Tensor | string => {
  try {
    return file.tensor(path);
  } catch (e) {
    return (e as Error).message;
  }
};

/** Index of the first element whose bits differ (NaN payloads included), or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

describe('datasets read in place, from memory and from disk, equal what h5wasm reads, bit for bit', () => {
  const scratchDir = mkdtempSync(join(tmpdir(), 'rlrp-in-place-'));
  afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));
  for (const path of modelFiles()) {
    it(path, async () => {
      const bytes = await hdf5Bytes(path);
      // The HDF5 file itself on disk (a .keras archive's model.weights.h5 written out), read as needed.
      const hdf5Path = path.endsWith('.keras') ? join(scratchDir, 'model.weights.h5') : path;
      if (hdf5Path !== path) writeFileSync(hdf5Path, bytes);
      const inPlace = await Hdf5File.open(bytes, path);
      const onDisk = await Hdf5File.open((await FileBytes.open(hdf5Path))!, path);
      const viaH5wasm = await Hdf5File.open(bytes, path, { inPlace: false });
      try {
        const datasets = datasetPaths(viaH5wasm);
        expect(datasets.length).toBeGreaterThan(0);
        expect(datasetPaths(onDisk)).toEqual(datasets);
        for (const dataset of datasets) {
          const [a, b, c] = [outcome(inPlace, dataset), outcome(viaH5wasm, dataset), outcome(onDisk, dataset)];
          if (typeof a === 'string' || typeof b === 'string' || typeof c === 'string') {
            expect(a, dataset).toEqual(b);
            expect(c, dataset).toEqual(b);
            continue;
          }
          expect(a.shape, dataset).toEqual(b.shape);
          expect(c.shape, dataset).toEqual(b.shape);
          expect(firstDifference(a.data.values(), b.data.values()), dataset).toBe(-1);
          expect(firstDifference(c.data.values(), b.data.values()), `${dataset} on disk`).toBe(-1);
        }
        // Every float dataset of these files is contiguous: all must have been read in place.
        expect(inPlace.reads).toEqual({ inPlace: viaH5wasm.reads.h5wasm, h5wasm: 0 });
        expect(onDisk.reads).toEqual(inPlace.reads);
        expect(viaH5wasm.reads.inPlace).toBe(0);
        expect(viaH5wasm.reads.h5wasm).toBeGreaterThan(0);
      } finally {
        inPlace.close();
        onDisk.close();
        viaH5wasm.close();
      }
    }, 180_000);
  }
});

describe('storage forms', () => {
  const values = Float32Array.from({ length: 24 }, (_, i) => (i - 11.5) / 4);

  it('contiguous little-endian float16/32/64 in place (float32 as a view of the bytes); chunked, gzip, compact and big-endian through h5wasm', async () => {
    const bytes = new Uint8Array(readFileSync(join(STORAGE, 'storage_variants.h5')));
    const file = await Hdf5File.open(bytes, 'storage_variants.h5');
    try {
      const read = (path: string) => {
        const before = { ...file.reads };
        const tensor = file.tensor(path);
        const route = file.reads.inPlace > before.inPlace ? 'in place' : file.reads.h5wasm > before.h5wasm ? 'h5wasm' : 'neither';
        return { ...tensor, route };
      };
      const routes: Record<string, string> = {
        contiguous_f4: 'in place', contiguous_f8: 'in place', contiguous_f2: 'in place',
        chunked_f4: 'h5wasm', gzip_f4: 'h5wasm', compact_f4: 'h5wasm', big_endian_f4: 'h5wasm',
      };
      for (const [path, route] of Object.entries(routes)) {
        const tensor = read(path);
        expect(tensor.route, path).toBe(route);
        expect(tensor.shape, path).toEqual([2, 3, 4]);
        expect(Array.from(tensor.data.values()), path).toEqual(Array.from(values));
      }
      expect(read('contiguous_f4').data.values().buffer).toBe(bytes.buffer);
      expect(read('contiguous_f8').data.values().buffer).not.toBe(bytes.buffer);
      const scalar = read('scalar_f4');
      expect([scalar.route, scalar.shape, Array.from(scalar.data.values())]).toEqual(['in place', [], [2.5]]);
    } finally {
      file.close();
    }
    // h5wasm itself cannot read float16: in place is the only way such weights load.
    const viaH5wasm = await Hdf5File.open(bytes, 'storage_variants.h5', { inPlace: false });
    try {
      expect(() => viaH5wasm.tensor('contiguous_f2')).toThrow(ModelFormatError);
    } finally {
      viaH5wasm.close();
    }
  });

  it('a file with a user block (addresses relative to byte 512) goes to h5wasm', async () => {
    const bytes = new Uint8Array(readFileSync(join(STORAGE, 'user_block.h5')));
    expect(ContiguousDatasets.open(new MemoryBytes(bytes, 'test'))).toBeUndefined();
    const file = await Hdf5File.open(bytes, 'user_block.h5');
    try {
      expect(Array.from(file.tensor('contiguous_f4').data.values())).toEqual(Array.from(values));
      expect(file.reads).toEqual({ inPlace: 0, h5wasm: 1 });
    } finally {
      file.close();
    }
  });
});

describe('hostile object headers', () => {
  const bytes = new Uint8Array(readFileSync(join(STORAGE, 'storage_variants.h5')));
  const DATA_AT = 2048; // where h5py put contiguous_f4's 96 bytes (h5py's Dataset.id.get_offset())
  let header = 0;

  beforeAll(async () => {
    const module = await h5wasm.ready;
    module.FS.writeFile('/in-place-test.h5', bytes);
    const file = new h5wasm.File('/in-place-test.h5', 'r');
    const reference = Uint8Array.from((file.get('contiguous_f4') as h5wasm.Dataset).create_reference().ref_data);
    file.close();
    module.FS.unlink('/in-place-test.h5');
    header = Number(new DataView(reference.buffer).getBigUint64(0, true));
  });

  it('the pristine header gives the values where h5py says they are', () => {
    const raw = ContiguousDatasets.open(new MemoryBytes(bytes, 'test'))!.floats(header, 4, 24)!;
    expect(raw).toEqual({ address: DATA_AT, size: 96 });
  });

  /** The layout message's address and size fields: the 16 bytes [DATA_AT, 96] inside the header. */
  const layoutFields = () => {
    const needle = new Uint8Array(new BigUint64Array([BigInt(DATA_AT), 96n]).buffer);
    const at = Buffer.from(bytes.buffer).indexOf(needle, header);
    expect(at).toBeGreaterThan(header);
    expect(at).toBeLessThan(header + 512);
    return at;
  };

  it('a data address past the end of the file, or a size that is not the shape\'s, is not read in place; the file still fails cleanly', async () => {
    const at = layoutFields();
    const pastEnd = bytes.slice();
    new DataView(pastEnd.buffer).setBigUint64(at, BigInt(bytes.length - 8), true);
    expect(ContiguousDatasets.open(new MemoryBytes(pastEnd, 'test'))!.floats(header, 4, 24)).toBeUndefined();
    const file = await Hdf5File.open(pastEnd, 'past end');
    try {
      expect(() => file.tensor('contiguous_f4')).toThrow(ModelFormatError);
    } finally {
      file.close();
    }
    const wrongSize = bytes.slice();
    new DataView(wrongSize.buffer).setBigUint64(at + 8, 92n, true);
    expect(ContiguousDatasets.open(new MemoryBytes(wrongSize, 'test'))!.floats(header, 4, 24)).toBeUndefined();
  });

  it('a continuation message that points back into its own header ends (no loop)', () => {
    const looped = bytes.slice();
    const view = new DataView(looped.buffer);
    // The first message (the dataspace, 8-byte aligned in a version 1 header) becomes a
    // continuation to the header's own first chunk.
    expect(looped[header]).toBe(1);
    const chunk = header + 16;
    const chunkSize = view.getUint32(header + 8, true);
    view.setUint16(chunk, 0x10, true);
    view.setBigUint64(chunk + 8, BigInt(chunk), true);
    view.setBigUint64(chunk + 16, BigInt(chunkSize), true);
    const started = performance.now();
    expect(ContiguousDatasets.open(new MemoryBytes(looped, 'test'))!.floats(header, 4, 24)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('random corruption of the superblock and the header: undefined or exactly the declared bytes inside the file, never an exception', () => {
    const random = rng(3);
    let readInPlace = 0;
    for (let n = 0; n < 3000; n++) {
      const mutated = bytes.slice();
      for (let flips = 1 + below(random, 6); flips > 0; flips--) {
        const at = random() < 0.2 ? below(random, 96) : header + below(random, 256);
        mutated[at] = random() < 0.5 ? below(random, 256) : mutated[at] ^ (1 << below(random, 8));
      }
      const raw = ContiguousDatasets.open(new MemoryBytes(mutated, 'test'))?.floats(header, 4, 24);
      if (!raw) continue;
      readInPlace++;
      expect(raw.size).toBe(96);
      expect(raw.address + raw.size).toBeLessThanOrEqual(mutated.length);
    }
    // Most flips hit bytes the reader does not depend on (and a flipped data address may still be inside the file).
    expect(readInPlace).toBeGreaterThan(0);
  });
});
