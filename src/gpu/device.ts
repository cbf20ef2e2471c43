import { GpuError, RlrpError } from '../errors.js';
import type { MemoryCounter } from './resources.js';

/**
 * One device layer for the three hosts: Node (Dawn via npm `webgpu`), the browser
 * (`navigator.gpu`), or a GPUDevice handed in by the caller, which we never destroy.
 */
export interface Gpu {
  device: GPUDevice;
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (vulkan)". */
  adapter: string;
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number };
  hasTimestamps: boolean;
  /** Whether kernels may use f16 (the adapter's 'shader-f16', for weights stored in half precision). */
  hasF16: boolean;
  /** A software adapter on the CPU (lavapipe, SwiftShader, WARP): memory-bound kernels then use few, small workgroups. */
  cpu: boolean;
  /** Set once the device is lost; every later use fails with this reason. */
  lostReason?: string;
  /** Whether we created the device (and so may destroy it, and replace it when it is lost). */
  owned: boolean;
  /** Where GpuResources count their buffers: set on an owner's view (see `countingView`). */
  memory?: MemoryCounter;
  /** How the device was requested, to request a new one after a loss. */
  options?: GpuOptions;
  /** A replacement device being acquired, shared by every model on this Gpu. */
  recovering?: Promise<void>;
}

export interface GpuOptions {
  /** Use this device (an embedding app's own); we never destroy it. */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
}

let nodeGpu: Promise<GPU> | undefined;

async function gpuEntryPoint(): Promise<{ entry: GPU; host: 'browser' | 'node' }> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator & { gpu?: GPU }).gpu) return { entry: navigator.gpu, host: 'browser' };
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) throw new GpuError('WebGPU is not available in this browser (navigator.gpu is missing); use a recent Chrome or enable WebGPU');
  nodeGpu ??= (async () => {
    let dawn: { create(flags: string[]): GPU; globals: object };
    try {
      dawn = (await import('webgpu')) as unknown as typeof dawn;
    } catch (e) {
      throw new GpuError(`could not load Dawn for Node (npm package 'webgpu'): ${(e as Error).message}`);
    }
    // Dawn's constants (GPUBufferUsage, ...) must be globals, as in a browser.
    for (const [key, value] of Object.entries(dawn.globals)) if (!(key in globalThis)) Object.assign(globalThis, { [key]: value });
    // Dawn rounds timestamps down to 65.5 us by default, a browser's guard against timing
    // attacks; in Node there is no page to guard, and a small model's passes take less than that.
    return dawn.create(['disable-dawn-features=timestamp_quantization']);
  })();
  return { entry: await nodeGpu, host: 'node' };
}

const CPU_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i;

function isCpuAdapter(info: GPUAdapterInfo | undefined): boolean {
  if (!info) return false;
  return !!(info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter || CPU_ADAPTER.test([info.description, info.device, info.vendor, info.architecture].join(' '));
}

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.description || info.device || '', info.vendor ? `vendor ${info.vendor}` : '', info.architecture || ''].filter(Boolean);
  return parts.join(', ') || 'unknown adapter';
}

function watchLoss(gpu: Gpu): void {
  const device = gpu.device;
  void device.lost.then((info) => {
    // A replaced device's late loss report must not mark its successor lost.
    if (gpu.device === device) gpu.lostReason = `${info.reason ?? 'unknown'}: ${info.message || 'no message'}`;
  });
}

/**
 * After a device loss: a device we created is replaced in place (every model on this Gpu sees
 * the new one and uploads its weights again); a caller's device cannot be, so that is an error.
 */
export async function recoverGpu(gpu: Gpu): Promise<void> {
  if (!gpu.lostReason) return;
  if (!gpu.owned) {
    throw new GpuError(`the GPUDevice passed in was lost (${gpu.lostReason}); create a new device and load the model again with it`);
  }
  gpu.recovering ??= (async () => {
    try {
      const fresh = await acquireGpu(gpu.options);
      Object.assign(gpu, { device: fresh.device, adapter: fresh.adapter, limits: fresh.limits, hasTimestamps: fresh.hasTimestamps, lostReason: undefined });
      watchLoss(gpu);
    } catch (e) {
      throw new GpuError(`the GPU device was lost (${gpu.lostReason}) and could not be replaced: ${(e as Error).message}`);
    } finally {
      gpu.recovering = undefined;
    }
  })();
  await gpu.recovering;
}

/**
 * A view of a shared Gpu that counts the buffers made through it: device, limits and loss state
 * are read through to the shared object (so a replaced device is seen at once).
 */
export function countingView(gpu: Gpu, memory: MemoryCounter): Gpu {
  return Object.create(gpu, { memory: { value: memory, enumerable: true } }) as Gpu;
}

export async function acquireGpu(options: GpuOptions = {}): Promise<Gpu> {
  if (options.device) {
    const d = options.device;
    const gpu: Gpu = {
      device: d, adapter: describe((d as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo), owned: false, cpu: isCpuAdapter((d as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo),
      hasTimestamps: d.features.has('timestamp-query'), hasF16: d.features.has('shader-f16'),
      limits: { maxStorageBufferBindingSize: d.limits.maxStorageBufferBindingSize, maxBufferSize: d.limits.maxBufferSize, maxComputeWorkgroupStorageSize: d.limits.maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension: d.limits.maxComputeWorkgroupsPerDimension },
    };
    watchLoss(gpu);
    return gpu;
  }
  const { entry, host } = await gpuEntryPoint();
  const adapter = await entry.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new GpuError(host === 'node'
      ? 'no WebGPU adapter found. On Linux without a GPU install a Vulkan driver such as Mesa lavapipe (Debian: apt-get install -t bookworm-backports mesa-vulkan-drivers)'
      : 'no WebGPU adapter found: navigator.gpu.requestAdapter() returned null, so WebGPU is disabled or blocklisted for this GPU (in Chrome on Linux: chrome://flags/#enable-unsafe-webgpu and Vulkan)');
  }
  // Ask for the adapter's real limits, not WebGPU's defaults: big models need big bindings.
  const wanted = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension'] as const;
  const requiredLimits: Record<string, number> = {};
  for (const key of wanted) requiredLimits[key] = adapter.limits[key];
  const requiredFeatures = (['timestamp-query', 'shader-f16'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new GpuError(`the WebGPU adapter refused to create a device: ${(e as Error).message}`);
  }
  const gpu: Gpu = {
    device, adapter: describe(adapter.info), cpu: isCpuAdapter(adapter.info), owned: true, hasTimestamps: requiredFeatures.includes('timestamp-query'), hasF16: requiredFeatures.includes('shader-f16'), options: { powerPreference: options.powerPreference },
    limits: { maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize, maxBufferSize: device.limits.maxBufferSize, maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension },
  };
  watchLoss(gpu);
  return gpu;
}

export function assertUsable(gpu: Gpu): void {
  if (gpu.lostReason) {
    throw new GpuError(`the GPU device was lost (${gpu.lostReason}); ${gpu.owned ? 'the next call creates a new one' : 'load the model again with a new GPUDevice'}`);
  }
}

/** Runs `work` inside validation and out-of-memory error scopes and turns any GPU error into a GpuError. */
export async function checked<T>(gpu: Gpu, what: string, work: () => T | Promise<T>): Promise<T> {
  assertUsable(gpu);
  const { device } = gpu;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await work() };
  } catch (error) {
    outcome = { error };
  }
  const validation = await device.popErrorScope().catch(() => null);
  const memory = await device.popErrorScope().catch(() => null);
  // A lost device explains every other failure, so it is reported first. Work pending when the
  // device went away fails with the platform's own error, which may come before the loss is
  // reported. Success needs no such wait (two timer ticks, a third of a small model's call):
  // on a lost device every map rejects, and the loss settles before it does.
  if ('error' in outcome || validation || memory) {
    const foreign = 'error' in outcome && !(outcome.error instanceof RlrpError);
    await Promise.race([device.lost, new Promise((resolve) => setTimeout(resolve, foreign ? 200 : 0))]);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assertUsable(gpu);
  if (memory) throw new GpuError(`${what}: out of GPU memory (${memory.message})`);
  if (validation) throw new GpuError(`${what}: WebGPU validation error: ${validation.message}`);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
