// Runs every fixture model's reference inputs through the built library on whatever WebGPU
// adapter Dawn finds, and prints adapter, max |logit diff| / logit range and timings.
// Usage: node scripts/device/check-fixtures.mjs <fixtures-dir> [dist-dir]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const fixtures = resolve(process.argv[2] ?? '../shared/fixtures');
const dist = resolve(process.argv[3] ?? 'dist');
const { Model, acquireGpu, parseNpy } = await import(pathToFileURL(join(dist, 'index.js')).href);
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const cases = [
  ['k3_cnn_mnist_trained', 'models/generated/k3_cnn_mnist_trained.keras'],
  ['k3_extras_seed12', 'models/generated/k3_extras_seed12.h5'],
  ['k3_mixed_seed11', 'models/generated/k3_mixed_seed11.weights.h5', 'models/generated/k3_mixed_seed11.json'],
  ['k3_resnet_cifar_trained', 'models/generated/k3_resnet_cifar_trained.keras'],
];
const gpu = await acquireGpu();
console.log(`adapter: ${gpu.adapter}; maxStorageBufferBindingSize ${gpu.limits.maxStorageBufferBindingSize}`);
let worst = 0;
for (const [id, file, config] of cases) {
  const t0 = performance.now();
  const model = await Model.load(join(fixtures, file), { gpu, config: config && join(fixtures, config) });
  const t1 = performance.now();
  const x = parseNpy(readFileSync(join(fixtures, 'reference', id, 'inputs.npy')));
  const want = parseNpy(readFileSync(join(fixtures, 'reference', id, 'logits.npy'))).data;
  const { logits } = await model.predict(x.data, x.shape);
  const t2 = performance.now();
  const times = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    await model.predict(x.data, x.shape);
    times.push(performance.now() - s);
  }
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(logits[i] - want[i]));
  const range = Math.max(...want) - Math.min(...want);
  worst = Math.max(worst, diff / range);
  times.sort((a, b) => a - b);
  console.log(`${id}: batch ${x.shape[0]}, max|diff|/range ${(diff / range).toExponential(2)}, load ${(t1 - t0).toFixed(0)} ms, first predict ${(t2 - t1).toFixed(0)} ms, median predict ${times[2].toFixed(1)} ms`);
  model.destroy();
}
console.log(worst <= 1e-3 ? 'PASS' : 'FAIL');
process.exit(worst <= 1e-3 ? 0 : 1);
