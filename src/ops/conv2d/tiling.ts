import { GpuError } from '../../errors.js';
import type { GpuResources } from '../../gpu/resources.js';
import type { Defines } from '../../gpu/shaders.js';

/** TM x TN outputs per thread, WGM x WGN threads per workgroup, SPLIT_K threads sharing each output tile's sums (split_k_sum.wgsl). */
export interface Tiling { TM: number; TN: number; WGM: number; WGN: number; SPLIT_K: number }

/**
 * Register tiles of the implicit GEMMs (conv2d.wgsl, conv2d_transposed.wgsl) for M rows and N
 * columns: 4 rows x 8 columns per thread in workgroups of 32 threads, 8 x 4 (the shape of the
 * fastest plain matmul on lavapipe) when N spans 8 column blocks; for narrower N, fewer column
 * threads and more row threads, so that no thread repeats the last column's work (N = 16 or 32
 * left half or more of an 8-wide workgroup idle). Fewer rows per thread when M is tiny (dense
 * layers on small batches); their forward product then gives each thread one vec4 of columns in
 * workgroups of 4, so that a narrow layer still spreads over the cores (fashion_cnn's fc1, 64
 * columns: 182 -> 94 us at batch 1, 635 -> 221 us at batch 8; VGG16's fc2 14 -> 8 ms). `width`:
 * columns are read as vec4 (TN a multiple of 4) or one by one.
 */
export function tiling(m: number, n: number, width: 1 | 4 = 1): Tiling {
  const TN = width === 4 ? (n > 4 ? 8 : 4) : Math.min(8, n);
  if (m < 16) return width === 4 ? { TM: Math.min(4, m), TN: 4, WGM: 1, WGN: 4, SPLIT_K: 1 } : { TM: Math.min(4, m), TN, WGM: 1, WGN: 32, SPLIT_K: 1 };
  const WGN = Math.min(8, 2 ** Math.ceil(Math.log2(Math.ceil(n / TN))));
  return { TM: 4, TN, WGM: 32 / WGN, WGN, SPLIT_K: 1 };
}

/** Threads below which a GPU's product splits its sums over K (productTiling). */
const GPU_SPLIT_BELOW_THREADS = 16384;
const SPLIT_K = 32;

/**
 * The tiles of a convolution's own products (conv2d.wgsl forward, conv2d_transposed.wgsl for its
 * message): tiling()'s, except on a GPU where they would give fewer than GPU_SPLIT_BELOW_THREADS
 * threads, each with a long sum (`sumVecs` vectors per tap, at least SPLIT_K): dense layers on
 * small batches, late convolutions at batch 1. A few thousand threads leave most of a GPU idle
 * (VGG16's fc1 at batch 1 took 6.1 ms forward on an H100 for 392 MiB of weights), so 32 threads
 * share each 4 x 4 tile's sum, in workgroups of 8 tiles: 16 KiB of workgroup memory, WebGPU's
 * default limit.
 */
export function productTiling(res: GpuResources, m: number, n: number, sumVecs: number, width: 1 | 4 = 1): Tiling {
  const plain = tiling(m, n, width);
  const threads = Math.ceil(m / plain.TM) * Math.ceil(n / plain.TN);
  if (res.gpu.cpu || threads >= GPU_SPLIT_BELOW_THREADS || sumVecs < SPLIT_K) return plain;
  return { TM: Math.min(4, m), TN: 4, WGM: 1, WGN: 8, SPLIT_K };
}

/** The GEMM kernels' defines for a tiling. */
export function gemmDefines(tile: Tiling): Defines {
  return { ...tile, HAS_SPLIT_K: tile.SPLIT_K > 1 };
}

/** Workgroup grid for an M x N GEMM, checked against the adapter's dispatch limit. */
export function gemmGrid(res: GpuResources, tile: Tiling, m: number, n: number, layer: string, slices = 1): [number, number, number] {
  const grid: [number, number, number] = [Math.ceil(n / (tile.TN * tile.WGN)), Math.ceil(m / (tile.TM * tile.WGM)), slices];
  if (Math.max(...grid) > res.gpu.limits.maxComputeWorkgroupsPerDimension) throw new GpuError(`layer '${layer}': a ${m} x ${n} product exceeds one dispatch; use a smaller batch`);
  return grid;
}
