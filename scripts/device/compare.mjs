// Explains fixed inputs with the built library and either writes the results (`write DIR`, on
// the reference adapter: this machine's lavapipe) or compares with them (`check DIR`, on another
// adapter): rel-L2 of the logits and of the relevance per case. The Keras Applications models are
// the ones scripts/device/skeleton.py fills (same seed, same weights on both machines).
// Usage: node scripts/device/compare.mjs write|check DIR [models-dir] [dist-dir]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { relL2 } from '../lib/rel-l2.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const [mode, dir, apps = '.cache/keras-apps', dist = 'dist'] = process.argv.slice(2);
if (mode !== 'write' && mode !== 'check') throw new Error('usage: compare.mjs write|check DIR [models-dir] [dist-dir]');
const { Model, acquireGpu } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
const gpu = await acquireGpu();
console.log(`${mode} on ${gpu.adapter}`);
const cases = [
  ['weights/fashion_cnn.h5', 1, 'rlrp'], ['weights/fashion_cnn.h5', 3, 'rlrp'], ['weights/fashion_cnn.h5', 3, 'rlrp-plus'], ['weights/fashion_cnn.h5', 3, 'epsilon-plus-flat'],
  ['weights/fashion_resnet.h5', 2, 'rlrp'], ['weights/fashion_resnet.h5', 2, 'epsilon-gamma-box'],
  [`${apps}/mobilenet.h5`, 1, 'rlrp'], [`${apps}/resnet50.h5`, 1, 'rlrp'], [`${apps}/vgg16.h5`, 1, 'rlrp'], [`${apps}/vgg16.h5`, 1, 'epsilon-plus-flat'],
];
mkdirSync(dir, { recursive: true });
for (const [file, batch, method] of cases) {
  const model = await Model.load(file, { gpu });
  const per = model.info.inputShape.reduce((a, b) => a * b, 1);
  const input = Float32Array.from({ length: per * batch }, (_, i) => ((i * 7919) % 1000) / 1000);
  const result = await model.explain(input, { method, low: 0, high: 1 });
  const name = `${file.split('/').pop().replace('.h5', '')}-b${batch}-${method}`;
  if (mode === 'write') {
    writeFileSync(`${dir}/${name}.logits.f32`, Buffer.from(result.logits.buffer));
    writeFileSync(`${dir}/${name}.relevance.f32`, Buffer.from(result.relevance.buffer));
  } else {
    const want = (kind) => new Float32Array(new Uint8Array(readFileSync(`${dir}/${name}.${kind}.f32`)).buffer);
    console.log(`${name}: logits rel-L2 ${relL2(result.logits, want('logits')).toExponential(2)}, relevance rel-L2 ${relL2(result.relevance, want('relevance')).toExponential(2)}`);
  }
  model.dispose();
}
process.exit(0);
