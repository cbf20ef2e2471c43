import { afterEach, describe, expect, it, vi } from 'vitest';
import { offsetsOf } from '../src/keras/find-bytes.js';
import { below } from './helpers/mutate.js';
import { rng } from './helpers/synthetic.js';

// The byte search behind the HDF5 global heap check: Node's native Buffer search and the
// Horspool scan used where there is no Buffer (browsers) find the same offsets.

/** Random bytes with the needle planted at every alignment, back to back, beside a partial copy, and at the very end. */
function haystack(needle: Uint8Array, seed: number): { bytes: Uint8Array; planted: number[] } {
  const random = rng(seed);
  // Bytes of the needle itself are frequent, so partial matches and every shift are exercised.
  const bytes = Uint8Array.from({ length: 5000 }, () => (random() < 0.3 ? needle[below(random, 4)] : below(random, 256)));
  const planted = [0, 101, 202, 303, 404, 408, 1000, bytes.length - 4];
  for (const at of planted) bytes.set(needle, at);
  bytes.set(needle.subarray(0, 3), 2000);
  return { bytes, planted };
}

const naive = (needle: Uint8Array, bytes: Uint8Array) => Array.from({ length: bytes.length - 3 }, (_, i) => i).filter((i) => needle.every((b, j) => bytes[i + j] === b));

describe('offsetsOf', () => {
  afterEach(() => vi.unstubAllGlobals());

  for (const [name, needle] of [['GCOL', Uint8Array.of(0x47, 0x43, 0x4f, 0x4c)], ['repeated bytes', Uint8Array.of(7, 7, 1, 7)]] as const) {
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
