import { heatmap } from '../image/heatmap.js';
import type { RgbaImage } from '../image/types.js';
import { encodePng } from '../image/png.js';
import type { EvaluationReport, Examples } from './evaluate.js';

/**
 * The evaluation report as one self-contained HTML page: a table per metric (mean and 95%
 * interval over samples), the perturbation curves as inline SVG, and a grid of example heatmaps
 * as inline PNGs. `deflate` is zlib's (Node: zlib.deflateSync).
 */

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#000000'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const anchor = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

const tick = (v: number) => (Number.isInteger(v) ? String(v) : fmt(v));

interface Series { name: string; color: string; x: number[]; y: (number | null)[] }

/** A line plot: one polyline per series, axes with min/max ticks, a legend. */
function linePlot(id: string, title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const [w, h, left, right, top, bottom] = [520, 300, 56, 150, 28, 40];
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.filter((v): v is number => v !== null && Number.isFinite(v)));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * (w - left - right);
  const py = (v: number) => top + (1 - (v - y0) / (y1 - y0)) * (h - top - bottom);
  const lines = series.map((s) => {
    const points = s.x.map((v, i) => (s.y[i] === null || !Number.isFinite(s.y[i]!) ? null : `${px(v).toFixed(1)},${py(s.y[i]!).toFixed(1)}`)).filter((p) => p !== null);
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${points.join(' ')}"><title>${escape(s.name)}</title></polyline>`;
  });
  const legend = series.map((s, i) => `<g transform="translate(${w - right + 12},${top + i * 16})"><rect width="12" height="3" y="5" fill="${s.color}"/><text x="16" y="10" font-size="11">${escape(s.name)}</text></g>`);
  const axis = [
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#444"/>`,
    `<text x="${left}" y="${h - bottom + 14}" font-size="10" text-anchor="middle">${tick(x0)}</text>`,
    `<text x="${w - right}" y="${h - bottom + 14}" font-size="10" text-anchor="middle">${tick(x1)}</text>`,
    `<text x="${left - 4}" y="${h - bottom}" font-size="10" text-anchor="end">${fmt(y0)}</text>`,
    `<text x="${left - 4}" y="${top + 8}" font-size="10" text-anchor="end">${fmt(y1)}</text>`,
    `<text x="${(left + w - right) / 2}" y="${h - 8}" font-size="11" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text x="14" y="${(top + h - bottom) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(top + h - bottom) / 2})">${escape(yLabel)}</text>`,
    `<text x="${left}" y="16" font-size="12" font-weight="bold">${escape(title)}</text>`,
  ];
  return `<svg id="${id}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escape(title)}">${axis.join('')}${lines.join('')}${legend.join('')}</svg>`;
}

/** A sample's input as an image: min-max scaled, grey for one channel, RGB for three. */
function inputImage(examples: Examples, sample: number): RgbaImage {
  const { height, width, channels } = examples.image;
  const per = height * width * channels;
  const x = examples.inputs.subarray(sample * per, (sample + 1) * per);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const data = new Uint8Array(height * width * 4);
  for (let p = 0; p < height * width; p++) {
    const value = (c: number) => Math.round((x[p * channels + Math.min(c, channels - 1)] - lo) * scale);
    data.set(channels >= 3 ? [value(0), value(1), value(2), 255] : [value(0), value(0), value(0), 255], p * 4);
  }
  return { width, height, data };
}

function pngUri(image: RgbaImage, deflate: (raw: Uint8Array) => Uint8Array): string {
  const scale = Math.max(1, Math.floor(112 / Math.max(image.width, image.height)));
  const bytes = encodePng(image, deflate, scale);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}

export function renderReportHtml(report: EvaluationReport, examples: Examples, deflate: (raw: Uint8Array) => Uint8Array, title = 'rlrp evaluate report'): string {
  const methods = Object.keys(report.methods);
  const color = new Map(methods.map((m, i) => [m, COLORS[i % COLORS.length]]));
  const keys = Object.keys(report.metric_info).filter((k) => methods.some((m) => report.summary[m]?.[k]));
  const sections: { id: string; title: string; html: string }[] = [];

  for (const key of keys) {
    const info = report.metric_info[key];
    const rows = methods.map((m) => ({ m, s: report.summary[m]?.[key] ?? null }));
    // The random baseline is left out of "best": it is trivially stable.
    const ranked = rows.filter((r) => r.s && r.m !== 'random').map((r) => r.s!.mean);
    const best = info.better === 'higher' ? Math.max(...ranked) : Math.min(...ranked);
    const body = rows.map(({ m, s }) => `<tr${s && m !== 'random' && s.mean === best ? ' class="best"' : ''}><td><a href="#method-${anchor(m)}">${escape(m)}</a></td><td>${fmt(s?.mean)}</td><td>${s ? `[${fmt(s.ci95[0])}, ${fmt(s.ci95[1])}]` : '–'}</td><td>${s?.n ?? 0}</td></tr>`);
    sections.push({
      id: `metric-${anchor(key)}`, title: info.label,
      html: `<p>${escape(info.description)}. <b>${info.better === 'higher' ? 'Higher' : 'Lower'} is better.</b> Key <code>${escape(key)}</code>.</p>
<table><thead><tr><th>method</th><th>mean</th><th>95% interval</th><th>n</th></tr></thead><tbody>${body.join('')}</tbody></table>`,
    });
  }

  const curveMethods = methods.filter((m) => report.curves[m]);
  if (curveMethods.length) {
    const plot = (which: 'morf' | 'lerf' | 'insertion', label: string) => linePlot(`plot-${which}`, label, 'fraction of patches perturbed', report.config.score === 'logit' ? 'target logit' : 'target probability',
      curveMethods.map((m) => ({ name: m, color: color.get(m)!, x: report.curves[m].fractions, y: report.curves[m][which] })));
    sections.push({
      id: 'curves', title: 'Perturbation curves',
      html: `<p>Mean over samples of the target's score as patches (${report.config.patch}px, replaced by <code>${escape(String(report.config.replacement))}</code>) are perturbed.</p>
${plot('morf', 'Deletion, most relevant first (lower is better)')}${plot('lerf', 'Deletion, least relevant first (higher is better)')}${plot('insertion', 'Insertion, most relevant first (higher is better)')}`,
    });
  }

  if (report.randomization) {
    const r = report.randomization;
    const stages = r.layers.map((_, i) => i + 1);
    const plot = (which: 'spearman' | 'ssim') => linePlot(`plot-randomization-${which}`, `Cascading randomisation: ${which === 'spearman' ? 'Spearman of |map|' : 'SSIM of |map|'}`, 'layers randomised (top down)', which,
      methods.filter((m) => r.methods[m]).map((m) => ({ name: m, color: color.get(m)!, x: stages, y: r.methods[m][which] })));
    sections.push({
      id: 'randomization', title: 'Randomisation sanity check',
      html: `<p>Similarity to the trained model's explanation as the weights of the top k layers (${r.layers.map(escape).join(', ')}) are replaced by noise, over ${r.samples} samples. An explanation that stays similar does not reflect what the model learnt (the <code>random</code> baseline ignores the model, so it stays at 1 by construction).</p>${plot('spearman')}${plot('ssim')}`,
    });
  }

  const layerMethods = methods.filter((m) => report.layers[m]);
  if (layerMethods.length) {
    const names = report.layers[layerMethods[0]].map((l) => l.name);
    const rows = names.map((name, i) => `<tr><td>${escape(name)}</td>${layerMethods.map((m) => `<td>${fmt(report.layers[m][i]?.conservation_error)} / ${fmt(report.layers[m][i]?.conservation_error_l1)}</td>`).join('')}</tr>`);
    sections.push({
      id: 'layers', title: 'Conservation per layer',
      html: `<p>Mean relative error of each Keras layer's relevance total against the output layer's: signed sum / L1 norm.</p>
<table><thead><tr><th>layer</th>${layerMethods.map((m) => `<th>${escape(m)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`,
    });
  }

  if (examples.count > 0) {
    const { height, width, channels } = examples.image;
    const per = height * width * channels;
    const head = `<tr><th>sample</th><th>input</th>${methods.map((m) => `<th>${escape(m)}</th>`).join('')}</tr>`;
    const rows = Array.from({ length: examples.count }, (_, n) => {
      const cells = methods.map((m) => {
        const relevance = examples.relevance[m]?.subarray(n * per, (n + 1) * per);
        return `<td>${relevance ? `<img alt="${escape(m)} heatmap of sample ${n}" src="${pngUri(heatmap(relevance, { shape: [1, height, width, channels] }), deflate)}">` : '–'}</td>`;
      });
      const label = report.samples.labels ? `label ${report.samples.labels[n]}, ` : '';
      return `<tr><td>#${n}<br><small>${label}predicted ${report.samples.predicted[n]}</small></td><td><img alt="input sample ${n}" src="${pngUri(inputImage(examples, n), deflate)}"></td>${cells.join('')}</tr>`;
    });
    sections.push({ id: 'heatmaps', title: 'Example heatmaps', html: `<p>Channels summed; red positive, blue negative, each map scaled by its largest |R|.</p><table class="grid"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>` });
  }

  const methodRows = methods.map((m) => `<tr id="method-${anchor(m)}"><td><span class="swatch" style="background:${color.get(m)}"></span>${escape(m)}</td>${keys.map((k) => `<td><a href="#metric-${anchor(k)}">${fmt(report.methods[m][k])}</a></td>`).join('')}</tr>`);
  const overview = `<table><thead><tr><th>method</th>${keys.map((k) => `<th title="${escape(report.metric_info[k].label)}">${escape(k)}</th>`).join('')}</tr></thead><tbody>${methodRows.join('')}</tbody></table>`;
  const config = Object.entries(report.config).map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('');
  const accuracy = report.samples.accuracy === null ? '' : `; accuracy on them ${(report.samples.accuracy * 100).toFixed(1)}%`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}
td:first-child,th:first-child{text-align:left;white-space:nowrap}tr.best td{font-weight:bold;background:#eef6ee}
.grid img{image-rendering:pixelated;display:block}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}
svg{margin:0 1em 1em 0;border:1px solid #eee}nav a{margin-right:1em}
</style></head><body>
<h1>${escape(title)}</h1>
<p>${report.samples.count} samples${accuracy}; target: ${escape(String(report.config.target))}; adapter: ${escape(String(report.config.adapter))}.</p>
<nav>${[{ id: 'overview', title: 'Overview' }, ...sections].map((s) => `<a href="#${s.id}">${escape(s.title)}</a>`).join(' ')}</nav>
<h2 id="overview">Overview (means)</h2>${overview}
<details><summary>Configuration</summary><table>${config}</table></details>
${sections.map((s) => `<section><h2 id="${s.id}">${escape(s.title)}</h2>\n${s.html}</section>`).join('\n')}
</body></html>
`;
}
