import { describe, expect, it } from 'vitest';
import { GpuError, ImageError } from '../src/errors.js';
import type { Gpu } from '../src/gpu/device.js';
import { colormapLut, COLORMAPS, lutIndex } from '../src/image/colormaps.js';
import { decodeImage } from '../src/image/decode.js';
import { channelSum, heatmap, heatmapScale, type HeatmapOptions, type RelevanceLayout } from '../src/image/heatmap.js';
import { readTexture, renderHeatmap } from '../src/image/render.js';
import type { Pixels } from '../src/image/types.js';
import { floatsOf, imageFile, imageRefs } from './helpers/image-refs.js';
import { testGpu } from './helpers/gpu.js';
import { rng } from './helpers/synthetic.js';

function upload(gpu: Gpu, data: Float32Array): GPUBuffer {
  const buffer = gpu.device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  new Float32Array(buffer.getMappedRange(0, data.byteLength)).set(data);
  buffer.unmap();
  return buffer;
}

async function renderAndRead(gpu: Gpu, relevance: Float32Array, layout: RelevanceLayout, options: HeatmapOptions) {
  const buffer = upload(gpu, relevance);
  try {
    const texture = await renderHeatmap(gpu, buffer, layout, options);
    expect(texture.format).toBe('rgba8unorm');
    expect(texture.usage).toBe(GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC);
    const image = await readTexture(gpu, texture);
    texture.destroy();
    return image;
  } finally {
    buffer.destroy();
  }
}

/**
 * The GPU (float32 sums) against the float64 reference: every channel within 1 (the overlay's
 * rounding), except where the reference's u * 256 lies within 1e-3 of a colour-map index
 * boundary; there the neighbouring entry is also right.
 */
function expectClose(gpuImage: Uint8Array, relevance: Float32Array, layout: RelevanceLayout, options: HeatmapOptions) {
  const reference = heatmap(relevance, layout, options).data;
  const sums = channelSum(relevance, layout);
  const scale = heatmapScale(sums, options.scale);
  const lut = colormapLut(options.colormap ?? 'bwr');
  let boundary = 0;
  sums.forEach((s, p) => {
    const position = ((s / scale + 1) / 2) * 256;
    const near = Math.abs(position - Math.round(position)) < 1e-3 && position > 0.5 && position < 255.5;
    for (let c = 0; c < 4; c++) {
      const got = gpuImage[p * 4 + c];
      if (Math.abs(got - reference[p * 4 + c]) <= 1) continue;
      expect(near && !options.overlay && got === lut[lutIndex((Math.round(position) - 0.5) / 256) * 3 + c], `pixel ${p} channel ${c}: ${got} vs ${reference[p * 4 + c]}`).toBe(true);
      boundary++;
    }
  });
  expect(boundary).toBeLessThanOrEqual(3);
}

const gpu = await testGpu();
const random = rng(61);
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const shape = [2, 37, 23, 3];
const relevance = Float32Array.from({ length: 2 * 37 * 23 * 3 }, normal);
const photo: Pixels = { width: 23, height: 37, channels: 3, data: Uint8Array.from({ length: 37 * 23 * 3 }, () => Math.floor(random() * 256)) };
const grey: Pixels = { width: 23, height: 37, channels: 1, data: Uint8Array.from({ length: 37 * 23 }, () => Math.floor(random() * 256)) };

describe('heatmap rendering in WGSL (heatmap_scale + heatmap_render)', () => {
  it.each(COLORMAPS)('%s, max scale reduced on the GPU, second sample of a batch of 2: equals the float64 reference', async (colormap) => {
    const options = { colormap };
    expectClose((await renderAndRead(gpu, relevance, { shape, sample: 1 }, options)).data, relevance, { shape, sample: 1 }, options);
  });

  it.each([
    ['99.5th percentile clip', { colormap: 'seismic', scale: { percentile: 99.5 } }],
    ['fixed scale 0.5', { colormap: 'viridis', scale: 0.5 }],
    ['overlay on a colour image at opacity 0.4', { colormap: 'coldnhot', overlay: { image: photo, opacity: 0.4 } }],
    ['overlay on a grey image at opacity 0.75, 90th percentile', { colormap: 'hot', scale: { percentile: 90 }, overlay: { image: grey, opacity: 0.75 } }],
  ] as [string, HeatmapOptions][])('%s: equals the float64 reference within 1', async (_, options) => {
    expectClose((await renderAndRead(gpu, relevance, { shape }, options)).data, relevance, { shape }, options);
  });

  it('the golden heatmap (matplotlib imsave) within one bwr step (2 levels), 99% of pixels exact', async () => {
    const golden = decodeImage(imageFile('golden-bwr.png'));
    const image = await renderAndRead(gpu, floatsOf(imageRefs.heatmap.relevance), { shape: imageRefs.heatmap.shape }, {});
    let worst = 0;
    let exact = 0;
    for (let p = 0; p < golden.width * golden.height; p++) {
      const diff = Math.max(...[0, 1, 2, 3].map((c) => Math.abs(image.data[p * 4 + c] - golden.data[p * 4 + c])));
      worst = Math.max(worst, diff);
      if (diff === 0) exact++;
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(exact / (golden.width * golden.height)).toBeGreaterThanOrEqual(0.99);
  });

  it('all-zero relevance renders the centre colour, not NaN', async () => {
    const image = await renderAndRead(gpu, new Float32Array(12), { shape: [1, 2, 2, 3] }, { colormap: 'gray' });
    expect(Array.from(image.data)).toEqual(new Array(4).fill([128, 128, 128, 255]).flat());
  });

  it('a layout larger than the buffer, or a bad sample, is an ImageError before any GPU work', async () => {
    const buffer = upload(gpu, new Float32Array(12));
    try {
      await expect(renderHeatmap(gpu, buffer, { shape: [1, 4, 4, 3] })).rejects.toThrow(ImageError);
      await expect(renderHeatmap(gpu, buffer, { shape: [1, 4, 4, 3] })).rejects.toThrow(/needs 48 values, but only 12 are there/);
      await expect(renderHeatmap(gpu, buffer, { shape: [1, 2, 2, 3], sample: 1 })).rejects.toThrow(/sample 1 is not in the batch of 1/);
    } finally {
      buffer.destroy();
    }
  });

  it('a relevance buffer that cannot be bound for reading is a GpuError, not a crash', async () => {
    const buffer = gpu.device.createBuffer({ size: 48, usage: GPUBufferUsage.COPY_SRC });
    try {
      await expect(renderHeatmap(gpu, buffer, { shape: [1, 2, 2, 3] })).rejects.toThrow(GpuError);
      await expect(renderHeatmap(gpu, buffer, { shape: [1, 2, 2, 3] })).rejects.toThrow(/rendering a heatmap: WebGPU validation error/);
    } finally {
      buffer.destroy();
    }
  });
});
