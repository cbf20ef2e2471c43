#!/usr/bin/env node
// Writes the evaluation set used by `rlrp evaluate` and docs/results.md: the first N (default 64)
// Fashion-MNIST test images, preprocessed as the bundled models expect (uint8 / 255, NHWC
// float32 [N, 28, 28, 1]), and their labels as a JSON array of class indices. The data comes from
// Debian's dataset-fashion-mnist package, as for weights/train_fashion_models.py.
//   node scripts/make-fashion-eval-set.mjs [N] [data dir]
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { formatNpy } from '../dist/io/npy.js';

const count = Number(process.argv[2] ?? 64);
const dir = process.argv[3] ?? '/usr/share/datasets/fashion-mnist';
const idx = (name, magic) => {
  const bytes = gunzipSync(readFileSync(`${dir}/${name}`));
  if (bytes.readUInt32BE(0) !== magic) throw new Error(`${name}: not an idx file with magic ${magic}`);
  return bytes;
};
const images = idx('t10k-images-idx3-ubyte.gz', 2051);
const labels = idx('t10k-labels-idx1-ubyte.gz', 2049);
const data = Float32Array.from(images.subarray(16, 16 + count * 784), (p) => Math.fround(p / 255));
writeFileSync(`weights/fashion_test${count}.npy`, formatNpy({ shape: [count, 28, 28, 1], data }));
writeFileSync(`weights/fashion_test${count}.labels.json`, `${JSON.stringify(Array.from(labels.subarray(8, 8 + count)))}\n`);
console.log(`wrote weights/fashion_test${count}.npy and weights/fashion_test${count}.labels.json`);
