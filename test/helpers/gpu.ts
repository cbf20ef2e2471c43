import { acquireGpu, type Gpu } from '../../src/gpu/device.js';
import { Model } from '../../src/model.js';
import { rng, SyntheticModel } from './synthetic.js';

let shared: Promise<Gpu> | undefined;

/** One device per test file. A missing adapter fails the test: GPU tests never skip. */
export function testGpu(): Promise<Gpu> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  shared ??= acquireGpu();
  return shared;
}

/**
 * Builds a synthetic Keras model on the test GPU, optionally with the adapter's limits
 * lowered (to force weight chunking and micro-batches), or with the kernel shapes of a GPU
 * (`gpuShapes`: CI's adapters are all CPUs). Returns the model and the seeded random source, to
 * draw inputs from.
 */
export async function syntheticOnGpu(seed: number, make: (m: SyntheticModel) => string, limits?: Partial<Gpu['limits']>, gpuShapes = false): Promise<{ model: Model; random: () => number }> {
  const random = rng(seed);
  const synthetic = new SyntheticModel(random);
  const keras = synthetic.build(make(synthetic));
  const real = await testGpu();
  const gpu = limits || gpuShapes ? { ...real, limits: { ...real.limits, ...limits }, cpu: real.cpu && !gpuShapes } : real;
  return { model: await Model.fromKeras(keras, { gpu }), random };
}
