// Runs every oracle case and method through the built library on whatever WebGPU adapter Dawn
// finds (a real GPU, say) and prints the worst per-sample rel-L2 against ../shared/oracle.
// Usage: node scripts/device/check-oracle.mjs <fixtures-dir> <oracle-dir> [dist-dir]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [fixtures, oracle] = [resolve(process.argv[2] ?? '../shared/fixtures'), resolve(process.argv[3] ?? '../shared/oracle')];
const { Model, acquireGpu, parseNpy } = await import(pathToFileURL(join(resolve(process.argv[4] ?? 'dist'), 'index.js')).href);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const npy = (path) => parseNpy(readFileSync(path));
const configs = { innvestigate_lenet_weights: 'models/innvestigate/LeNetWeights.arch.json' };
const optionsFor = (name, [low, high]) => {
  if (name.startsWith('rlrp')) return { method: name.startsWith('rlrp-plus') ? 'rlrp-plus' : 'rlrp', skip: name.endsWith('-ratio') ? 'ratio' : 'product' };
  return name === 'epsilon-gamma-box' ? { method: name, low, high } : { method: name };
};

const gpu = await acquireGpu();
console.log(`adapter: ${gpu.adapter}`);
let failures = 0;
for (const c of JSON.parse(readFileSync(join(oracle, 'index.json'), 'utf8')).cases) {
  const model = await Model.load(join(fixtures, c.model), { gpu, config: configs[c.id] && join(fixtures, configs[c.id]) });
  const x = npy(join(oracle, c.id, 'input.npy'));
  const targets = Array.from(npy(join(oracle, c.id, 'targets.npy')).data);
  const per = x.data.length / x.shape[0];
  const parts = [];
  for (const [name, spec] of Object.entries(c.methods)) {
    if (spec.tol_rel_l2 === null) continue;
    const { relevance } = await model.explain(x.data, { ...optionsFor(name, c.input.domain), target: targets, shape: x.shape });
    const ref = npy(join(oracle, c.id, spec.file)).data;
    let worst = 0;
    for (let n = 0; n < x.shape[0]; n++) {
      if (spec.fragile_samples?.includes(n)) continue;
      let d = 0;
      let r = 0;
      for (let i = n * per; i < (n + 1) * per; i++) { d += (relevance[i] - ref[i]) ** 2; r += ref[i] ** 2; }
      worst = Math.max(worst, Math.sqrt(d / r));
    }
    if (!(worst <= spec.tol_rel_l2)) failures++;
    parts.push(`${name} ${worst.toExponential(1)}${worst <= spec.tol_rel_l2 ? '' : ` > tol ${spec.tol_rel_l2}`}`);
  }
  console.log(`${c.id}: ${parts.join(', ')}`);
  model.destroy();
}
console.log(failures === 0 ? 'PASS' : `FAIL (${failures})`);
process.exit(failures === 0 ? 0 : 1);
