// The browser demo (demo/): bundles its page, worker and embedding example with esbuild into
// dist/demo/, then serves them with the bundled models and images on 127.0.0.1:$PORT (default
// 5173). Everything is local, so the page works offline once served.
//
// Usage: node scripts/demo.mjs [--build-only]     (npm run demo)
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { embedShaders, nodeOnlyStub } from './bundle-browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'dist/demo');

/** URL path -> file: the pages, the bundles, and only the bundled files the demo offers. */
const PAGES = { '/': 'demo/index.html', '/index.html': 'demo/index.html', '/embed.html': 'demo/embed.html' };
const BUNDLES = ['main.js', 'worker.js', 'embed.js'];
const WEIGHTS = ['fashion_cnn.h5', 'fashion_resnet.h5', 'fashion_reference.json', 'imagenet_classes.json', 'images/fashion_sample.png', 'images/cat.jpg'];

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg', '.h5': 'application/octet-stream',
};

export async function buildDemo() {
  embedShaders();
  const result = await build({
    entryPoints: BUNDLES.map((name) => join(root, 'demo', name.replace(/\.js$/, '.ts'))),
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [nodeOnlyStub],
  });
  if (result.errors.length) throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return OUT;
}

function fileFor(path) {
  if (PAGES[path]) return join(root, PAGES[path]);
  const name = path.slice(1);
  if (BUNDLES.includes(name) || BUNDLES.some((b) => name === `${b}.map`)) return join(OUT, name);
  if (path.startsWith('/weights/') && WEIGHTS.includes(path.slice('/weights/'.length))) return join(root, path.slice(1));
  return undefined;
}

/** Serves the demo on 127.0.0.1:port; resolves with the server and its address. */
export function serveDemo(port) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = fileFor(path);
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(body);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildDemo();
  console.log(`built ${out}`);
  if (!process.argv.includes('--build-only')) {
    const { url } = await serveDemo(Number(process.env.PORT ?? 5173));
    console.log(`demo at ${url} (?example explains the bundled example; embed.html is the embedding example)`);
  }
}
