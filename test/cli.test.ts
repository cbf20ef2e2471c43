import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixture, fixturesAvailable, readNpy } from './helpers/fixtures.js';

// The CLI as other tools call it: the built dist/cli/main.js (npm test builds first).
const available = fixturesAvailable();
const cli = resolve('dist/cli/main.js');
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

describe.runIf(available)('rlrp CLI', () => {
  it('predict --json prints Keras-matching logits, top classes and the adapter', async () => {
    const { code, stdout } = await run(['predict', '--model', fixture('models/generated/k3_mixed_seed11.keras'), '--input', fixture('reference/k3_mixed_seed11/inputs.npy'), '--json', '--top', '3']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    const want = readNpy(fixture('reference/k3_mixed_seed11/logits.npy'));
    expect(out.logits.length).toBe(want.shape[0]);
    out.logits.flat().forEach((v: number, i: number) => expect(Math.abs(v - want.data[i])).toBeLessThan(1e-3));
    expect(out.top[0]).toHaveLength(3);
    const row: number[] = out.logits[0];
    expect(out.top[0][0].class).toBe(row.indexOf(Math.max(...row)));
    expect(out.top[0][0].score).toBeGreaterThan(0);
    expect(typeof out.adapter).toBe('string');
  });

  it('a weights-only file with --config', async () => {
    const { code, stdout } = await run(['predict', '--model', fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), '--config', fixture('models/generated/k3_cnn_mnist_trained.json'), '--input', fixture('reference/k3_cnn_mnist_trained/inputs.npy'), '--json']);
    expect(code).toBe(0);
    const want = readNpy(fixture('reference/k3_cnn_mnist_trained/logits.npy'));
    JSON.parse(stdout).logits.flat().forEach((v: number, i: number) => expect(Math.abs(v - want.data[i])).toBeLessThan(1e-3));
  });

  it('inspect prints the layer table with shapes and parameter counts', async () => {
    const { code, stdout } = await run(['inspect', '--model', fixture('models/mlcommons-tiny/pretrainedResnet.h5')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/conv2d_8\s+Conv2D\s+\(None, 8, 8, 64\)\s+2112\s+yes/);
    expect(stdout).toMatch(/total params: 78666/);
    expect(stdout).toMatch(/all layers supported/);
  });

  it('inspect names unsupported layers', async () => {
    const arch = JSON.parse(readFileSync(fixture('models/generated/k3_cnn_mnist_trained.json'), 'utf8'));
    arch.config.layers[2].class_name = 'LSTM';
    const path = join(mkdtempSync(join(tmpdir(), 'rlrp-')), 'arch.json');
    writeFileSync(path, JSON.stringify(arch));
    const { code, stdout } = await run(['inspect', '--model', fixture('models/generated/k3_cnn_mnist_trained.weights.h5'), '--config', path, '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.supported).toBe(false);
    expect(out.layers.filter((l: { supported: boolean }) => !l.supported).map((l: { className: string }) => l.className)).toEqual(['LSTM']);
    expect(out.problem).toMatch(/LSTM, position 1\) is not supported/);
  });

  it('explain --json: oracle-matching relevance in --out-npy, targets, per-layer sums, timings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlrp-'));
    const oracle = join(FIXTURES, '..', 'oracle', 'k3_cnn_mnist_trained');
    const { code, stdout } = await run(['explain', '--model', fixture('models/generated/k3_cnn_mnist_trained.h5'), '--input', join(oracle, 'input.npy'), '--method', 'rlrp-plus', '--target', '7,2,1,0', '--out-npy', join(dir, 'rel.npy'), '--out-png', join(dir, 'rel.png'), '--json']);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.target).toEqual([7, 2, 1, 0]);
    expect(out.method).toBe('rlrp-plus');
    expect(out.layers.map((l: { name: string }) => l.name)).toContain('conv2d');
    // R-LRP+ on a net without merges keeps |R|_1 = 1 at every layer.
    for (const layer of out.layers) layer.l1.forEach((v: number) => expect(v).toBeCloseTo(1, 5));
    expect(out.timings.explain_ms).toBeGreaterThan(0);
    // lavapipe and Chrome offer timestamp queries: GPU times of this call's two passes.
    expect(out.timings.forward_ms).toBeGreaterThan(0);
    expect(out.timings.relevance_ms).toBeGreaterThan(0);
    const rel = readNpy(join(dir, 'rel.npy'));
    const ref = readNpy(join(oracle, 'rlrp-plus.npy'));
    expect(rel.shape).toEqual(ref.shape);
    let diff = 0;
    let norm = 0;
    ref.data.forEach((v, i) => { diff += (rel.data[i] - v) ** 2; norm += v * v; });
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-4);
    expect(readFileSync(join(dir, 'rel.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('explain with a classical composite and its parameters matches zennit (the oracle)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlrp-'));
    const oracle = join(FIXTURES, '..', 'oracle', 'k3_cnn_mnist_trained');
    const { code } = await run(['explain', '--model', fixture('models/generated/k3_cnn_mnist_trained.h5'), '--input', join(oracle, 'input.npy'), '--method', 'epsilon-gamma-box', '--low', '0', '--high', '1', '--epsilon', '1e-6', '--gamma', '0.25', '--target', '7,2,1,0', '--out-npy', join(dir, 'rel.npy')]);
    expect(code).toBe(0);
    const rel = readNpy(join(dir, 'rel.npy'));
    const ref = readNpy(join(oracle, 'epsilon-gamma-box.npy'));
    let diff = 0;
    let norm = 0;
    ref.data.forEach((v, i) => { diff += (rel.data[i] - v) ** 2; norm += v * v; });
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-4);
  });

  it('explain rejects unknown methods and out-of-range targets', async () => {
    const args = ['explain', '--model', fixture('models/generated/k3_cnn_mnist_trained.h5'), '--input', fixture('reference/k3_cnn_mnist_trained/inputs.npy')];
    const method = await run([...args, '--method', 'lrp-magic']);
    expect(method.code).toBe(1);
    expect(method.stderr).toMatch(/unknown method 'lrp-magic'/);
    const target = await run([...args, '--target', '10']);
    expect(target.code).toBe(1);
    expect(target.stderr).toMatch(/target 10 of sample 0 is not a class index in \[0, 10\)/);
    const targets = await run([...args, '--target', '1,2']);
    expect(targets.stderr).toMatch(/2 targets for a batch of 6/);
    const bad = await run([...args, '--target', 'x']);
    expect(bad.code).toBe(2);
    const epsilon = await run([...args, '--method', 'epsilon', '--epsilon=-1']);
    expect(epsilon.code).toBe(1);
    expect(epsilon.stderr).toMatch(/epsilon must be a finite number >= 0, got -1/);
    const alphaBeta = await run([...args, '--method', 'alpha-beta', '--alpha', '3', '--beta', '1']);
    expect(alphaBeta.stderr).toMatch(/alpha - beta must be 1/);
    const rules = await run([...args, '--method', 'epsilon', '--rules', 'no_such_layer=zplus']);
    expect(rules.code).toBe(1);
    expect(rules.stderr).toMatch(/no_such_layer/);
  });

  it('errors go to stderr with a non-zero exit', async () => {
    const wrongShape = await run(['predict', '--model', fixture('models/generated/k3_extras_seed12.keras'), '--input', fixture('reference/k3_cnn_mnist_trained/inputs.npy')]);
    expect(wrongShape.code).toBe(1);
    expect(wrongShape.stderr).toMatch(/InputShapeError: input shape \[6, 28, 28, 1\] does not match the model's input \[batch, 20, 18, 3\]/);
    const notModel = await run(['predict', '--model', fixture('MANIFEST.md'), '--input', fixture('reference/k3_cnn_mnist_trained/inputs.npy')]);
    expect(notModel.code).toBe(1);
    expect(notModel.stderr).toMatch(/not a Keras model/);
    const usage = await run(['predict', '--model']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage:/);
  });
});
