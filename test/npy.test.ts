import { describe, expect, it } from 'vitest';
import { formatNpy, parseNpy } from '../src/io/npy.js';

describe('npy', () => {
  it('round-trips float32 arrays with 64-byte aligned headers', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const bytes = formatNpy({ shape: [2, 3, 4], data });
    expect(((bytes[8] | (bytes[9] << 8)) + 10) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(parseNpy(formatNpy({ shape: [5], data: new Float32Array(5) })).shape).toEqual([5]);
  });

  it('reads float64 and uint8 as float32', () => {
    const header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    const bytes = new Uint8Array(10 + header.length + 3);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
    bytes.set(new TextEncoder().encode(header), 10);
    bytes.set([0, 128, 255], 10 + header.length);
    expect(Array.from(parseNpy(bytes).data)).toEqual([0, 128, 255]);
  });

  it('rejects bad files with a reason', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3]))).toThrow(/not a NumPy .npy file/);
    const good = formatNpy({ shape: [4], data: new Float32Array(4) });
    expect(() => parseNpy(good.slice(0, good.length - 2))).toThrow(/truncated .npy data/);
    const text = new TextDecoder('latin1').decode(good);
    const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(() => parseNpy(latin1(text.replace("'<f4'", "'<c8'")))).toThrow(/unsupported .npy dtype '<c8'/);
    expect(() => parseNpy(latin1(text.replace('False', 'True ')))).toThrow(/Fortran-ordered/);
  });
});
