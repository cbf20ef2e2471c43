// Benchmark (not a test): load time, forward and relevance times on the adapter (timestamp
// queries), wall time, for the bundled models and, with --apps, the Keras Applications models
// that scripts/keras-apps/setup.sh writes. Medians of --runs (default 3) after one warm-up.
// Prints a table and writes bench-results/bench.json. Run `npm run build` first.
// Usage: node scripts/bench.mjs [--apps] [--runs N] [--batches 1,8]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Model, acquireGpu } from '../dist/index.js';

const { values } = parseArgs({ options: { apps: { type: 'boolean' }, runs: { type: 'string', default: '3' }, batches: { type: 'string', default: '1,8' } } });
const runs = Number(values.runs);
const batches = values.batches.split(',').map(Number);
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const models = [
  { name: 'fashion_cnn', file: 'weights/fashion_cnn.h5' },
  { name: 'fashion_resnet', file: 'weights/fashion_resnet.h5' },
];
if (values.apps) {
  for (const name of ['mobilenet', 'resnet50', 'vgg16', 'vgg19']) {
    const file = join('.cache/keras-apps', `${name}.h5`);
    if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/keras-apps/setup.sh first`);
    models.push({ name, file });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gpu = await acquireGpu();
const rows = [];
for (const { name, file } of models) {
  const t0 = performance.now();
  const model = await Model.load(file, { gpu });
  const loadMs = performance.now() - t0;
  const per = model.info.inputShape.reduce((a, b) => a * b, 1);
  for (const batch of batches) {
    const x = Float32Array.from({ length: batch * per }, (_, i) => ((i * 7919) % 1000) / 1000);
    const row = { model: name, batch, load_ms: loadMs };
    for (const method of ['rlrp', 'epsilon-plus-flat']) {
      await model.explain(x, { method }); // warm-up: compiles the plan
      const wall = [];
      const forward = [];
      const relevance = [];
      for (let r = 0; r < runs; r++) {
        const s = performance.now();
        const result = await model.explain(x, { method });
        wall.push(performance.now() - s);
        if (result.timings) { forward.push(result.timings.forwardMs); relevance.push(result.timings.relevanceMs); }
      }
      row[`${method}_wall_ms`] = median(wall);
      if (forward.length) { row.forward_ms = median(forward); row[`${method}_relevance_ms`] = median(relevance); }
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  model.destroy();
}

const columns = ['model', 'batch', 'load_ms', 'forward_ms', 'rlrp_relevance_ms', 'epsilon-plus-flat_relevance_ms', 'rlrp_wall_ms', 'epsilon-plus-flat_wall_ms'];
console.log(`\nadapter: ${gpu.adapter}; medians of ${runs} runs after a warm-up\n`);
console.log(columns.join('\t'));
for (const row of rows) console.log(columns.map((c) => (typeof row[c] === 'number' && !Number.isInteger(row[c]) ? row[c].toFixed(1) : row[c] ?? '-')).join('\t'));
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/bench.json', JSON.stringify({ adapter: gpu.adapter, runs, date: new Date().toISOString(), rows }, null, 2));
console.log('\nwrote bench-results/bench.json');
process.exit(0);
