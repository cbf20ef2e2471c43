import { GpuError } from '../errors.js';
import type { Gpu } from './device.js';
import { shaderCode, type Defines } from './shaders.js';

/** A byte range of a GPU buffer that holds one tensor (for the current micro-batch). */
export interface TensorRef {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

/** Live GPU buffers and their bytes, counted per owner (a model) through the Gpu it passes around. */
export interface GpuMemory {
  buffers: number;
  bytes: number;
}

export class MemoryCounter implements GpuMemory {
  buffers = 0;
  bytes = 0;

  add(bytes: number): void {
    this.buffers++;
    this.bytes += bytes;
  }

  remove(bytes: number): void {
    this.buffers--;
    this.bytes -= bytes;
  }

  snapshot(): GpuMemory {
    return { buffers: this.buffers, bytes: this.bytes };
  }
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** How a memory-bound kernel walks its values (GpuResources.stream): defines, Values per row, grid. */
export interface StreamShape {
  defines: { WG: number; VEC: boolean };
  /** Values per row: vec4 when VEC, else scalars. */
  units: number;
  workgroups: [number, number, number];
}

/**
 * Creates and owns GPU objects for one lifetime (a model's weights, or one compiled plan),
 * so that `destroy()` releases exactly what it made. Pipelines are cached per device.
 */
export class GpuResources {
  private readonly buffers: GPUBuffer[] = [];
  private readonly scratchBuffers = new Map<string, GPUBuffer>();

  /** Conv/dense weights uploaded through these resources are stored as f16 when 'f16' (halves their memory; see LoadOptions.weightPrecision). */
  constructor(readonly gpu: Gpu, readonly weightPrecision: 'f32' | 'f16' = 'f32') {}

  get device(): GPUDevice {
    return this.gpu.device;
  }

  pipeline(shader: string, defines: Defines): Promise<GPUComputePipeline> {
    let cache = pipelineCache.get(this.device);
    if (!cache) pipelineCache.set(this.device, (cache = new Map()));
    const key = `${shader}:${JSON.stringify(defines)}`;
    let pipeline = cache.get(key);
    if (!pipeline) {
      const code = shaderCode(shader, defines);
      const module = this.device.createShaderModule({ code, label: shader });
      pipeline = this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: shader }).catch(async (e: Error) => {
        const info = await module.getCompilationInfo?.();
        const messages = info?.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
        cache.delete(key);
        throw new GpuError(`could not build WGSL kernel '${shader}': ${messages || e.message}`);
      });
      cache.set(key, pipeline);
    }
    return pipeline;
  }

  private track(buffer: GPUBuffer): GPUBuffer {
    this.buffers.push(buffer);
    this.gpu.memory?.add(buffer.size);
    return buffer;
  }

  buffer(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    if (size > this.gpu.limits.maxBufferSize) throw new GpuError(`${label}: ${size} bytes exceed the adapter's maxBufferSize (${this.gpu.limits.maxBufferSize})`);
    return this.track(this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage, label }));
  }

  /**
   * Storage for values that live only within one layer's dispatches (Winograd's transformed
   * tiles): every caller in this lifetime that asks by the same label shares one buffer, since
   * passes run one after another. A larger request replaces it (bind groups recorded earlier
   * keep the smaller one). A dispatch that writes one scratch buffer reads another: WebGPU
   * forbids binding one buffer as writable and anything else in the same dispatch.
   */
  scratch(size: number, label: string): GPUBuffer {
    let buffer = this.scratchBuffers.get(label);
    if (!buffer || buffer.size < size) this.scratchBuffers.set(label, (buffer = this.buffer(size, GPUBufferUsage.STORAGE, label)));
    return buffer;
  }

  /** A storage buffer holding `data` (weights, per-channel constants, per-sample targets). */
  constants(data: Float32Array | Int32Array | Uint16Array, label: string, extraUsage: GPUBufferUsageFlags = 0): GPUBuffer {
    const buffer = this.track(this.device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extraUsage, label }));
    this.write(buffer, 0, data);
    return buffer;
  }

  /**
   * Queues a write of `data`'s bytes (not values: an Int32Array's bits must arrive unchanged) at
   * `offset`, a multiple of 4; a last partial word is padded with zeros. writeBuffer rather than
   * a buffer mapped at creation: Dawn fills a staging copy of a mapped buffer and copies it again
   * at unmap, which takes twice as long for VGG16's 528 MB of weights on lavapipe.
   */
  write(buffer: GPUBuffer, offset: number, data: Float32Array | Int32Array | Uint16Array): void {
    const words = data.byteLength & ~3;
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, words);
    if (words < data.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(new Uint8Array(data.buffer, data.byteOffset + words, data.byteLength - words));
      this.device.queue.writeBuffer(buffer, offset + words, tail);
    }
  }

  /** A uniform buffer of u32 words, padded to 16 bytes. */
  uniform(words: number[], label: string): GPUBuffer {
    const padded = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4));
    words.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new GpuError(`${label}: kernel parameter ${i} = ${w} does not fit a u32`);
      padded[i] = w;
    });
    const buffer = this.track(this.device.createBuffer({ size: padded.byteLength, usage: GPUBufferUsage.UNIFORM, label, mappedAtCreation: true }));
    new Uint32Array(buffer.getMappedRange()).set(padded);
    buffer.unmap();
    return buffer;
  }

  /** Binds resources to bindings 0, 1, ...; an undefined entry is a binding the variant leaves out. */
  bindGroup(pipeline: GPUComputePipeline, resources: (GPUBuffer | TensorRef | undefined)[], label: string): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    resources.forEach((r, binding) => {
      if (r) entries.push({ binding, resource: 'buffer' in r ? { buffer: r.buffer, offset: r.offset, size: r.size } : { buffer: r } });
    });
    return this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  }

  /**
   * How a memory-bound kernel (stream.wgsl) walks `count` values in each of `rows` rows
   * (samples, workgroup y): as vec4 Values where `vectorizable` and the count allows, in a
   * grid-stride loop. CPU adapters get 8-wide workgroups, at most 64 in all, that each loop
   * long (5-8x faster on lavapipe than one 256-wide workgroup per 256 values); GPUs get 64-wide
   * workgroups, up to one invocation per Value.
   */
  stream(count: number, vectorizable = true, rows = 1): StreamShape {
    const vec = vectorizable && count % 4 === 0;
    const units = vec ? count / 4 : count;
    const wg = this.gpu.cpu ? 8 : 64;
    const cap = this.gpu.cpu ? Math.max(1, Math.floor(64 / rows)) : this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (rows > this.gpu.limits.maxComputeWorkgroupsPerDimension) throw new GpuError(`a batch of ${rows} exceeds the adapter's workgroup limits`);
    return { defines: { WG: wg, VEC: vec }, units, workgroups: [Math.max(1, Math.min(cap, Math.ceil(units / wg))), rows, 1] };
  }

  /** Workgroup counts for `total` invocations of `wg` threads, folded into y past the per-dimension limit. */
  grid(total: number, wg: number): [number, number, number] {
    const groups = Math.max(1, Math.ceil(total / wg));
    const limit = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= limit) return [groups, 1, 1];
    const y = Math.ceil(groups / limit);
    if (y > limit) throw new GpuError(`a dispatch of ${total} threads exceeds the adapter's workgroup limits`);
    return [limit, y, 1];
  }

  destroy(): void {
    this.scratchBuffers.clear();
    for (const b of this.buffers.splice(0)) {
      b.destroy();
      this.gpu.memory?.remove(b.size);
    }
  }
}
