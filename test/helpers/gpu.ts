import { acquireGpu, type Gpu } from '../../src/gpu/device.js';

let shared: Promise<Gpu> | undefined;

/** One device per test file. A missing adapter fails the test: GPU tests never skip. */
export function testGpu(): Promise<Gpu> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  shared ??= acquireGpu();
  return shared;
}
