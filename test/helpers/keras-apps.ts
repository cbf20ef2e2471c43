import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Keras Applications MobileNet test files (random weights; scripts/keras-apps/setup.sh): the
 * full model, inputs and Keras's logits for them, and the weights-only legacy HDF5 that Keras's
 * own legacy writer makes (the layout of the official ImageNet files). Missing files are
 * generated (about a minute, once); generation failing fails the test: it never skips.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KERAS_APPS_DIR = process.env.KERAS_APPS_DIR ?? join(ROOT, '.cache', 'keras-apps');
export const MOBILENET_WEIGHTS = 'mobilenet.legacy-weights.h5';

export interface KerasAppsEntry { inputs: string; logits: string; files: Record<string, number> }

function mobilenetEntry(): KerasAppsEntry | undefined {
  const path = join(KERAS_APPS_DIR, 'manifest.json');
  if (!existsSync(path)) return undefined;
  const entry = (JSON.parse(readFileSync(path, 'utf8')) as { models: Record<string, KerasAppsEntry> }).models.mobilenet;
  const complete = entry && MOBILENET_WEIGHTS in entry.files && Object.entries(entry.files).every(([f, size]) => existsSync(join(KERAS_APPS_DIR, f)) && statSync(join(KERAS_APPS_DIR, f)).size === size);
  return complete ? entry : undefined;
}

export function ensureMobilenet(): KerasAppsEntry {
  let entry = mobilenetEntry();
  if (!entry) {
    console.log(`generating the Keras Applications MobileNet test files in ${KERAS_APPS_DIR} (about a minute, once)`);
    execFileSync('bash', [join(ROOT, 'scripts', 'keras-apps', 'setup.sh'), KERAS_APPS_DIR, '--models', 'mobilenet'], { stdio: 'inherit', timeout: 15 * 60_000 });
    entry = mobilenetEntry();
    if (!entry) throw new Error(`scripts/keras-apps/setup.sh ran but ${KERAS_APPS_DIR}/manifest.json still lacks MobileNet's ${MOBILENET_WEIGHTS}`);
  }
  return entry;
}

export interface Mirror {
  /** The mirror's base URL (RLRP_ZOO_MIRROR / baseUrl). */
  base: string;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server that serves MobileNet's weights-only file where a Keras Applications mirror has it. */
export async function serveMobilenetMirror(): Promise<Mirror> {
  const bytes = readFileSync(join(KERAS_APPS_DIR, MOBILENET_WEIGHTS));
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/mirror/mobilenet/mobilenet_1_0_224_tf.h5') res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
