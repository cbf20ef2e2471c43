import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNpy } from '../../src/io/npy.js';

/**
 * Access to ../shared/fixtures. In CI (CI=true) a missing folder is an error; elsewhere the
 * tests that need it are skipped with a printed reason.
 */
export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');

export function fixturesAvailable(): boolean {
  if (existsSync(join(FIXTURES, 'MANIFEST.md'))) return true;
  if (process.env.CI === 'true') throw new Error(`shared fixtures not found at ${FIXTURES}; CI must run beside ../shared`);
  console.warn(`SKIPPING fixture tests: ${FIXTURES} not found (they run in CI, where it must exist)`);
  return false;
}

export const fixture = (...parts: string[]) => join(FIXTURES, ...parts);

export function readNpy(path: string) {
  return parseNpy(readFileSync(path));
}

type Preprocess = (pixel: number) => number;

export interface FixtureModel {
  id: string;
  /** Model files, each with an optional architecture JSON. */
  forms: { file: string; config?: string }[];
  data?: { name: 'mnist' | 'fashion-mnist' | 'cifar10-ic01'; preprocess: Preprocess };
  /** reference/<id>/inputs.npy → logits.npy exists. */
  referenceInputs: boolean;
}

const scale255: Preprocess = (p) => p / 255;
const fourForms = (base: string) => [
  { file: `models/generated/${base}.h5` },
  { file: `models/generated/${base}.keras` },
  { file: `models/generated/${base}.weights.h5`, config: `models/generated/${base}.json` },
  { file: `models/generated/${base}.h5`, config: `models/generated/${base}.json` },
];

export const FIXTURE_MODELS: FixtureModel[] = [
  { id: 'tiny_resnet8', forms: [{ file: 'models/mlcommons-tiny/pretrainedResnet.h5' }], data: { name: 'cifar10-ic01', preprocess: (p) => p }, referenceInputs: false },
  { id: 'kilneta_mnist_cnn', forms: [{ file: 'models/KILNETA-CNN_MNIST/mnist_cnn.h5' }], data: { name: 'mnist', preprocess: scale255 }, referenceInputs: false },
  { id: 'moonflower_mnist_h5', forms: [{ file: 'models/Moonflower2022-MNIST-models/mnist_model.h5' }], data: { name: 'mnist', preprocess: scale255 }, referenceInputs: false },
  { id: 'moonflower_mnist_keras', forms: [{ file: 'models/Moonflower2022-MNIST-models/mnist_model.keras' }], data: { name: 'mnist', preprocess: scale255 }, referenceInputs: false },
  { id: 'sudosidd_cifar10_keras', forms: [{ file: 'models/sudo-sidd-Cifar10-CNN/cifar10_model.keras' }], data: { name: 'cifar10-ic01', preprocess: scale255 }, referenceInputs: false },
  {
    id: 'innvestigate_lenet_weights', forms: [{ file: 'models/innvestigate/LeNetWeights.h5', config: 'models/innvestigate/LeNetWeights.arch.json' }],
    data: { name: 'fashion-mnist', preprocess: (p) => (p - 72.94035) / 255 }, referenceInputs: false,
  },
  { id: 'k3_cnn_mnist_trained', forms: fourForms('k3_cnn_mnist_trained'), data: { name: 'mnist', preprocess: scale255 }, referenceInputs: true },
  { id: 'k3_extras_seed12', forms: fourForms('k3_extras_seed12'), referenceInputs: true },
  { id: 'k3_mixed_seed11', forms: fourForms('k3_mixed_seed11'), referenceInputs: true },
  { id: 'k3_resnet_cifar_trained', forms: fourForms('k3_resnet_cifar_trained'), data: { name: 'cifar10-ic01', preprocess: scale255 }, referenceInputs: true },
];

export interface Dataset {
  shape: number[];
  /** Raw uint8 pixels, NHWC. */
  pixels: Uint8Array;
  /** Label per sample; -1 where unknown. */
  labels: number[];
  /** Samples counted by the reference accuracy. */
  labelled: number;
}

export function loadDataset(name: 'mnist' | 'fashion-mnist' | 'cifar10-ic01'): Dataset {
  if (name === 'cifar10-ic01') {
    const dir = fixture('data/cifar10-ic01');
    const order = JSON.parse(readFileSync(join(dir, 'eval_order.json'), 'utf8')).files as string[];
    const csv = new Map(readFileSync(join(dir, 'y_labels.csv'), 'utf8').trim().split('\n').map((l) => l.split(',')).map(([f, , label]) => [f, Number(label)]));
    const pixels = new Uint8Array(order.length * 3072);
    order.forEach((f, i) => pixels.set(readFileSync(join(dir, f)), i * 3072));
    return { shape: [order.length, 32, 32, 3], pixels, labels: order.map((f) => csv.get(f) ?? -1), labelled: csv.size };
  }
  const dir = fixture(`data/${name === 'mnist' ? 'mnist-test-0000-0499' : 'fashion-mnist-test-0000-0499'}`);
  const meta = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'));
  const pixels = new Uint8Array(readFileSync(join(dir, 'images_u8.bin')));
  const labels: number[] = meta.labels;
  return { shape: meta.shape, pixels, labels, labelled: labels.length };
}

export function preprocess(data: Dataset, fn: Preprocess, start = 0, count = data.shape[0]): Float32Array {
  const per = data.shape.slice(1).reduce((a, b) => a * b, 1);
  return Float32Array.from(data.pixels.subarray(start * per, (start + count) * per), fn);
}

export function referenceJson(id: string) {
  return JSON.parse(readFileSync(fixture('reference', id, 'ref.json'), 'utf8'));
}
