import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileBytes, MemoryBytes } from '../src/io/byte-reader.js';
import { offsetsOf } from '../src/keras/find-bytes.js';
import { GLOBAL_HEAP_SIGNATURE, globalHeapSignatures } from '../src/keras/hdf5.js';
import { below } from './helpers/mutate.js';
import { rng } from './helpers/synthetic.js';

// The byte search behind the HDF5 global heap check: Node's native Buffer search and the
// Horspool scan used where there is no Buffer (browsers) find the same offsets, for needles of
// the heap signature's length and shorter ones.

/** Random bytes with the needle planted at every alignment, back to back, beside a partial copy, and at the very end. */
function haystack(needle: Uint8Array, seed: number): { bytes: Uint8Array; planted: number[] } {
  const random = rng(seed);
  // Bytes of the needle itself are frequent, so partial matches and every shift are exercised.
  const bytes = Uint8Array.from({ length: 5000 }, () => (random() < 0.3 ? needle[below(random, needle.length)] : below(random, 256)));
  const planted = [0, 101, 202, 303, 404, 404 + needle.length, 1000, bytes.length - needle.length];
  for (const at of planted) bytes.set(needle, at);
  bytes.set(needle.subarray(0, needle.length - 1), 2000);
  return { bytes, planted };
}

const naive = (needle: Uint8Array, bytes: Uint8Array) => Array.from({ length: bytes.length - needle.length + 1 }, (_, i) => i).filter((i) => needle.every((b, j) => bytes[i + j] === b));

describe('offsetsOf', () => {
  afterEach(() => vi.unstubAllGlobals());

  const needles = [
    ['a global heap signature', Uint8Array.of(0x47, 0x43, 0x4f, 0x4c, 0x01, 0x00, 0x00)],
    ['GCOL', Uint8Array.of(0x47, 0x43, 0x4f, 0x4c)],
    ['repeated bytes', Uint8Array.of(7, 7, 1, 7)],
    ['two bytes', Uint8Array.of(9, 9)],
  ] as const;
  for (const [name, needle] of needles) {
    it(`finds every occurrence of ${name}, with and without Buffer`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const { bytes, planted } = haystack(needle, seed);
        const expected = naive(needle, bytes);
        expect(expected).toEqual(expect.arrayContaining(planted));
        // A view into a larger buffer: offsets are relative to the view.
        const padded = new Uint8Array(bytes.length + 8);
        padded.set(bytes, 5);
        const view = padded.subarray(5, 5 + bytes.length);
        expect(offsetsOf(needle, view)).toEqual(expected);
        vi.stubGlobal('Buffer', undefined);
        expect(offsetsOf(needle, view)).toEqual(expected);
        vi.unstubAllGlobals();
      }
    });
  }
});

describe('global heap signatures searched a window at a time', () => {
  it('are all found once, in memory and on disk, whether they straddle windows, share one or end the file', async () => {
    const needle = GLOBAL_HEAP_SIGNATURE;
    const dir = mkdtempSync(join(tmpdir(), 'rlrp-heap-scan-'));
    try {
      for (let seed = 1; seed <= 10; seed++) {
        const { bytes } = haystack(needle, seed);
        // Around every boundary of 64-byte windows that step by 58, and the file's last bytes.
        for (const at of [55, 57, 58, 113, 116, 174, 180, 1000, bytes.length - needle.length]) bytes.set(needle, at);
        const expected = naive(needle, bytes);
        const path = join(dir, `haystack-${seed}.bin`);
        writeFileSync(path, bytes);
        for (const window of [64, 65, 4096]) {
          expect(globalHeapSignatures(new MemoryBytes(bytes, 'haystack'), window), `window ${window}`).toEqual(expected);
          expect(globalHeapSignatures((await FileBytes.open(path))!, window), `window ${window} on disk`).toEqual(expected);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
