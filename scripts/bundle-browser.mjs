// Bundles the library for browsers: dist/browser/rlrp.js, one ES module with h5wasm (its wasm
// is embedded) and the WGSL kernels inside. The Node-only branches (Dawn from npm `webgpu`,
// node:fs for file paths) are reached only through dynamic imports when `navigator.gpu` or
// `fetch` does not apply; they are replaced by a stub that rejects with a clear message.
//
// Usage: node scripts/bundle-browser.mjs [--minify]
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(root, 'dist/browser/rlrp.js');

/** Resolves `webgpu` and every node:* builtin to a module that throws when loaded. */
export const nodeOnlyStub = {
  name: 'node-only-stub',
  setup(b) {
    b.onResolve({ filter: /^(webgpu|node:.*)$/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`'${args.path}' is only available in Node; this is the browser build of rlrp-webgpu`)});`,
      loader: 'js',
    }));
  },
};

/**
 * The kernels reach a bundle through src/gpu/shader-sources.gen.ts; regenerating it from
 * shaders/*.wgsl (cheap) before bundling means a bundle never carries stale kernels.
 */
export function embedShaders() {
  execFileSync(process.execPath, [join(root, 'scripts/embed-shaders.mjs')], { stdio: 'inherit' });
}

export async function bundleBrowser({ minify = false } = {}) {
  embedShaders();
  const result = await build({
    entryPoints: [join(root, 'src/index.ts')],
    outfile: BUNDLE,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [nodeOnlyStub],
  });
  if (result.errors.length) throw new Error(`esbuild failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await bundleBrowser({ minify: process.argv.includes('--minify') });
  console.log(`wrote ${out}`);
}
