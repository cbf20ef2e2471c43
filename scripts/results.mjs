#!/usr/bin/env node
// Generates docs/results.md: runs `rlrp evaluate` on the bundled Fashion-MNIST models (trained,
// on their test data) and on the Keras Applications models that scripts/keras-apps/setup.sh
// writes (random weights: runtime and robustness only), then writes the tables from the reports.
//   npm run results                      (build, run everything, write docs/results.md)
//   node scripts/results.mjs --only fashion_cnn,resnet50   (rerun some; others are read from out/results/)
//   node scripts/results.mjs --render-only                  (rewrite docs/results.md from out/results/)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { only: { type: 'string' }, 'render-only': { type: 'boolean' } } });
const FASHION_METHODS = 'rlrp,rlrp-plus,epsilon,zplus,epsilon-plus-flat,gradient-x-input,random';
const fashion = (name, samples, methods = FASHION_METHODS) => ({
  name, trained: true,
  args: ['--model', `weights/${name}.h5`, '--data', 'weights/fashion_test64.npy', '--labels', 'weights/fashion_test64.labels.json', '--samples', String(samples), '--method', methods],
});
// Random-weight ImageNet architectures: one image, one noise radius and draw, no perturbation curves (a VGG16 forward pass takes ~3.5 s on an idle software adapter).
const app = (name, methods, metrics = 'robustness,conservation') => ({
  name, trained: false, file: `.cache/keras-apps/${name}.h5`,
  args: ['--model', `.cache/keras-apps/${name}.h5`, '--data', `.cache/keras-apps/${name}.inputs.npy`, '--samples', '1', '--method', methods,
    '--metrics', metrics, '--radii', '0.01', '--draws', '1', '--examples', '1'],
});
const APP_METHODS = 'rlrp,rlrp-plus,epsilon,zplus,epsilon-plus-flat,gradient-x-input';
const RUNS = [
  fashion('fashion_cnn', 32, 'all'),
  fashion('fashion_resnet', 24),
  app('resnet50', APP_METHODS),
  app('vgg16', APP_METHODS),
  app('vgg19', APP_METHODS),
];

const only = values.only?.split(',');
for (const run of RUNS) {
  if (values['render-only'] || (only && !only.includes(run.name))) continue;
  if (run.file && !existsSync(run.file)) { console.error(`skipping ${run.name}: ${run.file} is missing (scripts/keras-apps/setup.sh writes it)`); continue; }
  const out = `out/results/${run.name}`;
  mkdirSync(out, { recursive: true });
  const args = ['dist/cli/main.js', 'evaluate', ...run.args, '--out', out, '--title', `${run.name}${run.trained ? '' : ' (random weights)'}`];
  console.error(`$ node ${args.join(' ')}`);
  const load = loadavg()[0];
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (result.status !== 0) { console.error(`${run.name}: evaluate exited with ${result.status}`); process.exitCode = 1; continue; }
  // The machine's load beside the report: wall-clock figures from a shared machine need it.
  writeFileSync(`${out}/load.json`, `${JSON.stringify({ load_average_1min: { start: load, end: loadavg()[0] } })}\n`);
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? '–' : Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : v.toFixed(digits));
const cell = (s) => (!s ? '–' : s.n === 1 ? fmt(s.mean) : `${fmt(s.mean)} [${fmt(s.ci95[0])}, ${fmt(s.ci95[1])}]`);

function table(report, keys) {
  const methods = Object.keys(report.methods);
  const best = Object.fromEntries(keys.map((k) => {
    const info = report.metric_info[k];
    const means = methods.filter((m) => m !== 'random').map((m) => report.methods[m][k]).filter((v) => v !== null && v !== undefined);
    return [k, info.better === 'higher' ? Math.max(...means) : Math.min(...means)];
  }));
  const head = `| method | ${keys.map((k) => `${k} (${report.metric_info[k].better === 'higher' ? '↑' : '↓'})`).join(' | ')} |`;
  const rows = methods.map((m) => `| ${m} | ${keys.map((k) => {
    const text = cell(report.summary[m][k]);
    return m !== 'random' && report.methods[m][k] === best[k] ? `**${text}**` : text;
  }).join(' | ')} |`);
  return [head, `|${' --- |'.repeat(keys.length + 1)}`, ...rows].join('\n');
}

/**
 * Where R-LRP or R-LRP+ is beaten: per metric, the classical methods ahead of it with the 95% intervals
 * apart (named), how many more are ahead within the intervals, and whether the random baseline is ahead.
 */
function losses(report, keys) {
  const lines = [];
  const classical = Object.keys(report.methods).filter((m) => !['rlrp', 'rlrp-plus', 'random'].includes(m));
  for (const ours of ['rlrp', 'rlrp-plus']) {
    if (!report.methods[ours]) continue;
    for (const k of keys) {
      const info = report.metric_info[k];
      const mine = report.summary[ours][k];
      if (!mine) continue;
      const ahead = (s) => s && (info.better === 'higher' ? s.mean > mine.mean : s.mean < mine.mean);
      const apart = (s) => (info.better === 'higher' ? s.ci95[0] > mine.ci95[1] : s.ci95[1] < mine.ci95[0]);
      const winners = classical.filter((m) => ahead(report.summary[m][k]));
      const clear = winners.filter((m) => apart(report.summary[m][k]));
      const random = k !== 'non_finite' && !k.startsWith('max_sensitivity') && !k.startsWith('lipschitz') && ahead(report.summary.random?.[k]) ? report.summary.random[k] : null;
      if (!winners.length && !random) continue;
      const parts = [];
      if (clear.length) parts.push(`clearly by ${clear.map((m) => `${m} ${fmt(report.summary[m][k].mean)}`).join(', ')}`);
      if (winners.length > clear.length) parts.push(`within the intervals by ${winners.length - clear.length}${clear.length ? ' more' : ''} (${winners.filter((m) => !clear.includes(m)).join(', ')})`);
      if (random) parts.push(`**and by the random baseline** (${fmt(random.mean)})`);
      lines.push(`- **${ours}** \`${k}\` ${fmt(mine.mean)}: beaten ${parts.join('; ')}.`);
    }
  }
  return lines.length ? lines.join('\n') : '- none among these metrics.';
}

const sections = [];
for (const run of RUNS) {
  const path = `out/results/${run.name}/report.json`;
  if (!existsSync(path)) { sections.push(`## ${run.name}\n\nNot run here (${run.file ? `${run.file} missing` : 'no report'}).\n`); continue; }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const keys = Object.keys(report.metric_info).filter((k) => Object.values(report.summary).some((s) => s[k]));
  const faith = keys.filter((k) => ['aopc_morf', 'aopc_lerf', 'abpc', 'deletion_auc', 'insertion_auc'].includes(k));
  const robust = keys.filter((k) => k.startsWith('max_sensitivity') || k.startsWith('lipschitz') || k === 'non_finite');
  const other = keys.filter((k) => !faith.includes(k) && !robust.includes(k));
  const c = report.config;
  const load = existsSync(`out/results/${run.name}/load.json`) ? JSON.parse(readFileSync(`out/results/${run.name}/load.json`, 'utf8')).load_average_1min : null;
  const parts = [
    `## ${run.name}${run.trained ? '' : ' — RANDOM WEIGHTS (no ImageNet weights offline): runtime and robustness only'}`,
    '',
    '```sh',
    report.command.replace(/^rlrp /, 'npx rlrp '),
    '```',
    '',
    `${report.samples.count} sample(s)${report.samples.accuracy === null ? ', target: the predicted class' : `, target: the true label (model accuracy on them ${(report.samples.accuracy * 100).toFixed(1)}%)`}; ` +
      `${c.metrics.includes('perturbation') ? `patches ${c.patch}px (${c.patches}), ${c.steps} steps, replacement \`${c.replacement}\`, score: target ${c.score}; ` : ''}` +
      `${c.metrics.includes('robustness') ? `noise radii ${c.radii.join(', ')} of the data range, ${c.draws} draw(s); ` : 'no noisy copies (robustness not run); '}adapter ${c.adapter}; wall ${report.wall_s.toFixed(0)} s${load ? ` (1-minute load average ${load.start.toFixed(1)} at the start, ${load.end.toFixed(1)} at the end, on a shared machine)` : ''}. Mean [95% interval] over samples; best non-random method in bold.`,
  ];
  if (faith.length) parts.push('', '### Faithfulness (perturbation)', '', table(report, faith));
  if (robust.length) parts.push('', '### Robustness', '', table(report, robust));
  if (other.length) parts.push('', '### Conservation, randomisation, runtime', '', table(report, other));
  if (report.randomization) {
    const r = report.randomization;
    parts.push('', `### Cascading randomisation (Spearman of |map| with the trained model's, ${r.samples} samples; layers randomised top down)`, '',
      `| method | ${r.layers.map((l) => `+${l}`).join(' | ')} |`, `|${' --- |'.repeat(r.layers.length + 1)}`,
      ...Object.entries(r.methods).map(([m, v]) => `| ${m} | ${v.spearman.map((x) => fmt(x)).join(' | ')} |`));
  }
  if (run.trained) parts.push('', '### Where R-LRP / R-LRP+ lose to a classical method here', '', losses(report, [...faith, ...robust, ...other.filter((k) => k !== 'explain_ms_per_sample')]));
  sections.push(parts.join('\n'));
}

const md = `# Results: R-LRP beside the classical rules

GENERATED by \`npm run results\` (\`scripts/results.mjs\`); do not edit by hand. Each section gives the exact
\`rlrp evaluate\` command that produced it; the full reports (JSON with per-sample values and curves, and
an HTML page with plots and heatmaps) are written to \`out/results/<model>/\`.

Machine: ${cpus().length} CPU core(s) (${cpus()[0]?.model ?? 'unknown'}), the adapter named in each section. Generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

How to read it: ↑ higher is better, ↓ lower is better. \`aopc_morf\` is the mean score drop as the most relevant
patches are replaced first (faithfulness), \`aopc_lerf\` the same least relevant first, \`abpc\` their difference;
deletion / insertion AUC are areas under the score curves. Max-sensitivity and the Lipschitz estimate measure how
much the map moves under small uniform input noise. \`random\` (seeded Gaussian noise, independent of input and
model) is the faithfulness floor; it is trivially "robust" and fails the randomisation check by construction.
The conservation errors compare each method's relevance total at the input with the seed's (1 on the target
logit): R-LRP conserves the L1 norm, not the signed sum. The randomisation check (Adebayo et al. 2018) wants the
similarity to fall as layers are randomised. The ImageNet architectures run with random weights: their
faithfulness numbers would mean nothing, so only runtime, robustness and conservation are shown.

${sections.join('\n\n')}
`;
mkdirSync('docs', { recursive: true });
writeFileSync('docs/results.md', md);
console.error('wrote docs/results.md');
