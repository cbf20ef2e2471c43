import { describe, expect, it } from 'vitest';
import { ImageError } from '../src/errors.js';
import { colormapLut, COLORMAPS, lutIndex } from '../src/image/colormaps.js';
import { decodeImage } from '../src/image/decode.js';
import { channelSum, heatmap, heatmapScale } from '../src/image/heatmap.js';
import { floatsOf, imageFile, imageRefs } from './helpers/image-refs.js';

const { shape, relevance: relevance64 } = imageRefs.heatmap;
const relevance = floatsOf(relevance64);

describe('colour maps', () => {
  it.each(Object.keys(imageRefs.colormaps.matplotlib))('%s gives matplotlib\'s colours (cmap(Normalize(-1, 1)(v), bytes=True)) for values in and beyond [-1, 1]', (name) => {
    const lut = colormapLut(name);
    imageRefs.colormaps.values.forEach((v, i) => {
      const at = lutIndex((v + 1) / 2) * 3;
      expect([lut[at], lut[at + 1], lut[at + 2]]).toEqual(imageRefs.colormaps.matplotlib[name][i]);
    });
  });

  it('coldnhot follows zennit\'s definition 0ff,00f,80:000,f00,ff0,fff (hand-checked anchors)', () => {
    const lut = colormapLut('coldnhot');
    const at = (i: number) => Array.from(lut.subarray(i * 3, i * 3 + 3));
    expect(at(0)).toEqual([0, 255, 255]); // cyan
    expect(at(64)).toEqual([0, 0, 255]); // blue, halfway to the 0x80 node
    expect(at(128)).toEqual([0, 0, 0]); // black centre
    expect(at(170)).toEqual([255, 0, 0]); // red at 128 + (255 - 128) / 3
    expect(at(212)).toEqual([255, 255, 0]); // yellow
    expect(at(255)).toEqual([255, 255, 255]);
    expect(at(32)).toEqual([0, 127, 255]); // linear in between (zennit truncates)
  });

  it('every map has 256 entries; unknown names list the valid ones', () => {
    expect(COLORMAPS).toEqual(['bwr', 'seismic', 'hot', 'gray', 'viridis', 'coldnhot']);
    for (const name of COLORMAPS) expect(colormapLut(name).length).toBe(768);
    expect(() => colormapLut('jet')).toThrow(ImageError);
    expect(() => colormapLut('jet')).toThrow(`unknown colour map 'jet' (valid: ${COLORMAPS.join(', ')})`);
  });
});

describe('heatmap (float64 CPU reference)', () => {
  it('equals the golden PNG that matplotlib\'s imsave(sum over channels, cmap="bwr", vmin=-max|s|, vmax=max|s|) wrote', () => {
    const golden = decodeImage(imageFile('golden-bwr.png'));
    const ours = heatmap(relevance, { shape });
    expect([ours.width, ours.height]).toEqual([golden.width, golden.height]);
    let worst = 0;
    ours.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - golden.data[i]))));
    expect(worst).toBeLessThanOrEqual(2); // one bwr step, for a sum on an index boundary
    expect(Array.from(ours.data)).toEqual(Array.from(golden.data));
  });

  it('percentile scales are NumPy\'s np.percentile(|s|, p)', () => {
    const sums = channelSum(relevance, { shape });
    for (const [p, expected] of Object.entries(imageRefs.heatmap.percentile)) expect(heatmapScale(sums, { percentile: Number(p) })).toBeCloseTo(expected, 12);
    expect(heatmapScale(sums, 'max')).toBeCloseTo(imageRefs.heatmap.percentile['100'], 12);
  });

  it('sums channels, clips beyond the scale, maps 0 to the centre, and blends an overlay by opacity (hand-computed)', () => {
    // 1 x 4 image, 2 channels: sums 2, 0, -1, -4; scale 2 clips -4 to the first entry.
    const r = [1, 1, 0.5, -0.5, -1, 0, -2, -2];
    const image = heatmap(r, { shape: [1, 1, 4, 2] }, { colormap: 'gray', scale: 2 });
    expect(Array.from(image.data)).toEqual([255, 255, 255, 255, 128, 128, 128, 255, 64, 64, 64, 255, 0, 0, 0, 255]);
    const under = { width: 4, height: 1, channels: 3 as const, data: Uint8Array.from([10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30]) };
    const blended = heatmap(r, { shape: [1, 1, 4, 2] }, { colormap: 'gray', scale: 2, overlay: { image: under, opacity: 0.25 } });
    expect(Array.from(blended.data.subarray(0, 8))).toEqual([Math.round(0.75 * 10 + 0.25 * 255), Math.round(0.75 * 20 + 0.25 * 255), Math.round(0.75 * 30 + 0.25 * 255), 255, 40, 47, 55, 255]);
    // All-zero relevance: every pixel gets the centre colour, never NaN.
    expect(Array.from(heatmap([0, 0], { shape: [1, 1, 2, 1] }, { colormap: 'gray' }).data)).toEqual([128, 128, 128, 255, 128, 128, 128, 255]);
  });

  it('the second sample of a batch is its own map', () => {
    const two = new Float32Array(relevance.length * 2);
    two.set(relevance, relevance.length);
    const second = heatmap(two, { shape: [2, shape[1], shape[2], shape[3]], sample: 1 });
    expect(Array.from(second.data)).toEqual(Array.from(heatmap(relevance, { shape }).data));
  });

  it('bad options get a clear ImageError', () => {
    expect(() => heatmap(relevance, { shape: [12, 10, 3] })).toThrow(/needs relevance of shape \[batch, height, width, channels\], not \[12, 10, 3\]/);
    expect(() => heatmap(relevance, { shape, sample: 1 })).toThrow(/sample 1 is not in the batch of 1/);
    expect(() => heatmap(relevance, { shape: [2, 12, 10, 3] })).toThrow(/needs 720 values, but only 360 are there/);
    expect(() => heatmap(relevance, { shape }, { scale: { percentile: 0 } })).toThrow(/percentile 0 is not in \(0, 100\]/);
    expect(() => heatmap([NaN, 1], { shape: [1, 1, 2, 1] })).toThrow(/does the relevance hold NaN/);
    expect(() => heatmap(relevance, { shape }, { colormap: 'rainbow' })).toThrow(/unknown colour map 'rainbow'/);
    const small = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12) };
    expect(() => heatmap(relevance, { shape }, { overlay: { image: small, opacity: 0.5 } })).toThrow(/overlay image is 2 x 2, the heatmap 12 x 10/);
    expect(() => heatmap(relevance, { shape }, { overlay: { image: small, opacity: 2 } })).toThrow(/opacity 2 is not in \[0, 1\]/);
  });
});
