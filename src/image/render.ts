/**
 * Heatmaps on the GPU: a relevance GPUBuffer (e.g. from Model.explainOnGpu) to an rgba8unorm
 * texture, by shaders/heatmap_render.wgsl. The default 'max' scale is a one-workgroup reduction
 * (shaders/heatmap_scale.wgsl), so nothing is read back. A percentile scale needs an order
 * statistic: for one image (at most a few hundred thousand sums) reading the sample back and
 * sorting on the CPU costs less than GPU sorting kernels would save, and matches NumPy exactly.
 */
import { checked, type Gpu } from '../gpu/device.js';
import { GpuResources } from '../gpu/resources.js';
import { WG } from '../ops/types.js';
import { colormapLut, colormapNamed } from './colormaps.js';
import { channelSum, checkLayout, checkOverlay, heatmapScale, type HeatmapOptions, type RelevanceLayout } from './heatmap.js';
import type { Pixels, RgbaImage } from './types.js';

/** An image's pixels packed as RGBA8 words (grey repeated, alpha 255). */
function packPixels(image: Pixels): Int32Array {
  const words = new Uint32Array(image.width * image.height);
  const { data, channels } = image;
  words.forEach((_, p) => {
    const [r, g, b] = channels === 1 ? [data[p], data[p], data[p]] : [data[p * channels], data[p * channels + 1], data[p * channels + 2]];
    words[p] = (r | (g << 8) | (b << 16) | (255 << 24)) >>> 0;
  });
  return new Int32Array(words.buffer);
}

/** Copies `size` bytes of a GPU buffer from `offset` back to the CPU. */
export async function readBack(gpu: Gpu, source: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
  const staging = gpu.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'heatmap read-back' });
  try {
    const encoder = gpu.device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, offset, staging, 0, size);
    gpu.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0);
  } finally {
    staging.destroy();
  }
}

/**
 * Renders one sample of `relevance` (float32 NHWC of `layout.shape`) as a heatmap texture of
 * the sample's height x width (format rgba8unorm, usage STORAGE_BINDING | TEXTURE_BINDING |
 * COPY_SRC). The texture is the caller's to destroy.
 */
export async function renderHeatmap(gpu: Gpu, relevance: GPUBuffer, layout: RelevanceLayout, options: HeatmapOptions = {}): Promise<GPUTexture> {
  const [height, width, channels, offset] = checkLayout(layout, Math.floor(relevance.size / 4));
  const opacity = checkOverlay(options.overlay, height, width);
  const lut = colormapLut(colormapNamed(options.colormap ?? 'bwr'));
  const scale = options.scale ?? 'max';
  let fixedScale: number | undefined;
  if (typeof scale === 'number') fixedScale = heatmapScale(new Float64Array(0), scale); // checks it
  else if (scale !== 'max') {
    const floats = new Float32Array(await readBack(gpu, relevance, offset * 4, height * width * channels * 4));
    fixedScale = heatmapScale(channelSum(floats, { shape: [1, height, width, channels] }), scale);
  }
  const res = new GpuResources(gpu);
  let texture: GPUTexture | undefined;
  try {
    return await checked(gpu, 'rendering a heatmap', async () => {
      const { device } = gpu;
      texture = device.createTexture({
        size: [width, height], format: 'rgba8unorm', label: 'heatmap',
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC,
      });
      const packedLut = new Int32Array(256);
      packedLut.forEach((_, i) => (packedLut[i] = lut[i * 3] | (lut[i * 3 + 1] << 8) | (lut[i * 3 + 2] << 16)));
      const scaleBuffer = fixedScale === undefined ? res.buffer(4, GPUBufferUsage.STORAGE, 'heatmap scale') : res.constants(Float32Array.of(fixedScale), 'heatmap scale');
      const opacityBits = new Uint32Array(Float32Array.of(opacity).buffer)[0];
      const encoder = device.createCommandEncoder({ label: 'heatmap' });
      const pass = encoder.beginComputePass({ label: 'heatmap' });
      if (fixedScale === undefined) {
        const reduce = await res.pipeline('heatmap_scale', { WG });
        pass.setPipeline(reduce);
        pass.setBindGroup(0, res.bindGroup(reduce, [relevance, scaleBuffer, res.uniform([height * width, channels, offset], 'heatmap scale params')], 'heatmap scale'));
        pass.dispatchWorkgroups(1);
      }
      const render = await res.pipeline('heatmap_render', { OVERLAY: !!options.overlay });
      const buffers = [relevance, scaleBuffer, res.constants(packedLut, 'colour map'), res.uniform([width, height, channels, offset, opacityBits], 'heatmap params')];
      if (options.overlay) buffers.push(res.constants(packPixels(options.overlay.image), 'overlay image'));
      // Bindings 0-3 are buffers, 4 the texture, 5 the optional overlay image.
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i < 4 ? i : 5, resource: { buffer } }));
      entries.push({ binding: 4, resource: texture.createView() });
      pass.setPipeline(render);
      pass.setBindGroup(0, device.createBindGroup({ label: 'heatmap', layout: render.getBindGroupLayout(0), entries }));
      pass.dispatchWorkgroups(Math.ceil(width / 8), Math.ceil(height / 8));
      pass.end();
      // No wait: later submissions on this queue see the texture, and the buffers destroyed
      // below stay alive until the work using them is done.
      device.queue.submit([encoder.finish()]);
      return texture;
    });
  } catch (e) {
    texture?.destroy();
    throw e;
  } finally {
    res.destroy();
  }
}

/** Reads an rgba8unorm texture back as an RgbaImage. */
export async function readTexture(gpu: Gpu, texture: GPUTexture): Promise<RgbaImage> {
  const { width, height } = texture;
  const bytesPerRow = Math.ceil((width * 4) / 256) * 256;
  return checked(gpu, 'reading a texture back', async () => {
    const staging = gpu.device.createBuffer({ size: bytesPerRow * height, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'texture read-back' });
    try {
      const encoder = gpu.device.createCommandEncoder();
      encoder.copyTextureToBuffer({ texture }, { buffer: staging, bytesPerRow }, [width, height]);
      gpu.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const rows = new Uint8Array(staging.getMappedRange());
      const data = new Uint8Array(width * height * 4);
      for (let y = 0; y < height; y++) data.set(rows.subarray(y * bytesPerRow, y * bytesPerRow + width * 4), y * width * 4);
      return { width, height, data };
    } finally {
      staging.destroy();
    }
  });
}
