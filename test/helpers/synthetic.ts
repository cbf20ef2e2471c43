import type { KerasLayer } from '../../src/keras/config.js';
import type { KerasModel } from '../../src/keras/load.js';
import type { Hdf5Tensor } from '../../src/keras/hdf5.js';
import { Float32Source } from '../../src/io/float32-source.js';
import { seededRandom } from '../../src/eval/statistics.js';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export const rng = seededRandom;

export function randomArray(random: () => number, n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * (random() * 2 - 1));
}

/**
 * Builds an in-memory Keras model (functional config + weights) the way the loader would
 * produce it from a file, so graphs of any layer mix can be tested without writing HDF5.
 */
export class SyntheticModel {
  private layers: KerasLayer[] = [];
  private weights = new Map<string, Map<string, Hdf5Tensor>>();
  private count = 0;

  constructor(private readonly random: () => number) {}

  input(shape: number[]): string {
    return this.layer('InputLayer', { batch_shape: [null, ...shape] }, []);
  }

  layer(className: string, config: Record<string, unknown>, inbound: string[], vars: Record<string, number[]> = {}, varScale = 0.5): string {
    const name = (config.name as string) ?? `${className.toLowerCase()}_${this.count++}`;
    this.layers.push({ name, className, config: { ...config, name }, inbound, index: this.layers.length });
    const stored = new Map<string, Hdf5Tensor>();
    for (const [role, shape] of Object.entries(vars)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = role === 'moving_variance' ? Float32Array.from({ length: n }, () => 0.3 + 2 * this.random()) : randomArray(this.random, n, varScale);
      stored.set(role, { shape, data: Float32Source.of(data) });
    }
    if (stored.size) this.weights.set(name, stored);
    return name;
  }

  build(output: string): KerasModel {
    return {
      config: { name: 'synthetic', className: 'Functional', layers: this.layers, inputs: [this.layers[0].name], outputs: [output] },
      weights: this.weights, format: 'legacy-h5', label: 'synthetic model',
    };
  }
}
