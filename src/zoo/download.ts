import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DownloadError } from '../errors.js';
import { hashAlgorithm, type HashAlgorithm } from './registry.js';

/**
 * A download cache for large files (Node only: md5 is not in the browser's SubtleCrypto).
 * Downloads go to `<file>.part` and resume from it with an HTTP Range request; the hash is
 * computed while streaming (nothing held in memory), and a verified file is renamed into place
 * atomically. `<file>.verified` records the size, mtime and hash of a verified file, so later
 * runs trust it without re-hashing (VGG19 is 575 MB) and without touching the network.
 */

/**
 * Keras's own cache folder for applications weights (`$KERAS_HOME/models`, else
 * `~/.keras/models`, with /tmp in place of an unwritable home, as keras.src.backend.config does),
 * so files Keras already downloaded are reused. `RLRP_CACHE_DIR` replaces the whole path.
 */
export async function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.RLRP_CACHE_DIR) return env.RLRP_CACHE_DIR;
  if (env.KERAS_HOME) return join(env.KERAS_HOME, 'models');
  const home = homedir();
  const writable = await access(home, constants.W_OK).then(() => true, () => false);
  return join(writable ? home : tmpdir(), '.keras', 'models');
}

/** Hashes a file in chunks (streaming). */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hasher = createHash(algorithm);
  await hashInto(path, hasher);
  return hasher.digest('hex');
}

async function hashInto(path: string, hasher: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
}

export interface DownloadOptions {
  url: string;
  /** Final path of the file; `<target>.part` and `<target>.verified` sit beside it. */
  target: string;
  /** Expected md5 (32 hex) or sha256 (64 hex). Without one, the file is accepted as Keras does, and
   * its sha256 recorded, so a file that later changes is detected and fetched again. */
  hash?: string;
  /** What the file is, for messages: e.g. "vgg16 weights". */
  what?: string;
  /** Called as bytes arrive; `received` counts bytes already in a resumed `.part` too. */
  onProgress?: (received: number, total?: number) => void;
  /** Injected fetch (tests); default globalThis.fetch (follows redirects). */
  fetch?: typeof fetch;
  /** Give up on a connection that sends nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Appended to the advice in network errors, e.g. how to use a mirror. */
  hint?: string;
}

export interface Downloaded {
  path: string;
  /** true when the cached file was used and the network not touched. */
  fromCache: boolean;
}

interface Sidecar { size: number; mtimeMs: number; algorithm: HashAlgorithm; hash: string; url: string }

const sidecarPath = (target: string) => `${target}.verified`;

async function readSidecar(target: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(sidecarPath(target), 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

async function writeSidecar(target: string, algorithm: HashAlgorithm, hash: string, url: string): Promise<void> {
  const { size, mtimeMs } = await stat(target);
  const record: Sidecar = { size, mtimeMs, algorithm, hash, url };
  await writeFile(sidecarPath(target), `${JSON.stringify(record)}\n`);
}

function manualHint(o: DownloadOptions): string {
  return `To install it by hand, download ${o.url} on a machine with network access and copy it to ${o.target}` +
    `${o.hash ? ` (its ${hashAlgorithm(o.hash)} must be ${o.hash})` : ''}${o.hint ? `; ${o.hint}` : ''}`;
}

/** Undici reports "fetch failed" with the reason (ECONNREFUSED, ENOTFOUND, ...) as its cause. */
function reason(e: unknown): string {
  const error = e as Error & { cause?: Error & { code?: string } };
  const cause = error?.cause;
  return cause ? `${error.message}: ${cause.code ?? ''}${cause.code && cause.message ? ' ' : ''}${cause.message ?? ''}`.trim() : String(error?.message ?? e);
}

// Content-Range: "bytes START-END/TOTAL", or "bytes */TOTAL" with a 416.
function contentRange(header: string | null): { start?: number; total?: number } | undefined {
  const m = header?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i);
  if (!m) return undefined;
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/**
 * Streams `url` into `part`, resuming after the bytes it already holds when the server honours a
 * Range request, starting over when it does not. Returns the hash of the whole file.
 */
async function fetchToPart(o: DownloadOptions, part: string, algorithm: HashAlgorithm): Promise<string> {
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const what = o.what ?? 'file';
  const idleMs = o.idleTimeoutMs ?? 60_000;
  // A second round only after the server refused the range we asked for (416, or a 206 for other bytes).
  for (let round = 0; round < 2; round++) {
    const offset = (await stat(part).catch(() => undefined))?.size ?? 0;
    const controller = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
    };
    armIdle();
    try {
      let response: Response;
      try {
        // identity: byte offsets and Content-Length must count the file's bytes, not compressed ones.
        const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
        response = await fetchImpl(o.url, { headers, signal: controller.signal, redirect: 'follow' });
      } catch (e) {
        throw new DownloadError(`could not download ${what} from ${o.url}: ${reason(e)}. ${manualHint(o)}`);
      }
      const range = contentRange(response.headers.get('content-range'));
      if (response.status === 416) {
        await response.body?.cancel();
        // The .part already holds the whole file (a crash between the last byte and the rename).
        if (range?.total === offset) return hashFile(part, algorithm);
        await rm(part, { force: true });
        continue;
      }
      if (response.status === 206 && (range?.start !== offset || offset === 0)) {
        await response.body?.cancel();
        await rm(part, { force: true });
        continue;
      }
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw new DownloadError(`could not download ${what} from ${o.url}: HTTP ${response.status} ${response.statusText}. ${manualHint(o)}`);
      }
      if (!response.body) throw new DownloadError(`could not download ${what} from ${o.url}: the response has no body`);
      const resuming = response.status === 206;
      const hasher = createHash(algorithm);
      // A 200 to a Range request: the server sends the whole file; start the .part over.
      if (resuming) await hashInto(part, hasher);
      const encoded = !/^(identity)?$/i.test(response.headers.get('content-encoding') ?? '');
      const length = encoded ? null : response.headers.get('content-length');
      const total = resuming ? range?.total : length !== null ? Number(length) : undefined;
      let received = resuming ? offset : 0;
      const file = await open(part, resuming ? 'a' : 'w');
      try {
        o.onProgress?.(received, total);
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          armIdle();
          await file.write(value);
          hasher.update(value);
          received += value.length;
          o.onProgress?.(received, total);
        }
      } catch (e) {
        throw new DownloadError(
          `download of ${what} from ${o.url} was interrupted after ${received} of ${total ?? 'unknown'} bytes (${reason(controller.signal.reason ?? e)}); ` +
          `the part is kept in ${part}: run again to resume. ${manualHint(o)}`,
        );
      } finally {
        await file.close();
      }
      if (total !== undefined && received !== total) {
        throw new DownloadError(`download of ${what} from ${o.url} ended after ${received} of ${total} bytes; the part is kept in ${part}: run again to resume`);
      }
      return hasher.digest('hex');
    } finally {
      clearTimeout(idle);
    }
  }
  throw new DownloadError(`could not download ${what} from ${o.url}: the server twice refused to resume from ${part}. ${manualHint(o)}`);
}

/**
 * The verified local copy of `url` at `target`: from the cache when its record still matches
 * (no network), else downloaded (resuming a `.part`), checked against `hash`, and moved into place.
 * A cached file that no longer matches its record is hashed again; if its hash is wrong it is
 * deleted and downloaded again, as Keras's get_file does.
 */
export async function cachedDownload(o: DownloadOptions): Promise<Downloaded> {
  const algorithm = o.hash ? hashAlgorithm(o.hash) : 'sha256';
  const expected = o.hash?.toLowerCase();
  const current = await stat(o.target).catch(() => undefined);
  if (current) {
    const record = await readSidecar(o.target);
    const recordFits = record !== undefined && record.algorithm === algorithm && (expected === undefined || record.hash === expected);
    // Within 1 ms: timestamps pass through tools (utimes, cp -p) at millisecond precision.
    if (recordFits && record.size === current.size && Math.abs(record.mtimeMs - current.mtimeMs) < 1) return { path: o.target, fromCache: true };
    const actual = await hashFile(o.target, algorithm);
    // Without a published hash, trust the first copy seen (as Keras does) and detect later changes.
    const wanted = expected ?? (recordFits ? record.hash : actual);
    if (actual === wanted) {
      await writeSidecar(o.target, algorithm, actual, o.url);
      return { path: o.target, fromCache: true };
    }
    await rm(sidecarPath(o.target), { force: true });
    await rm(o.target, { force: true });
  }
  const dir = dirname(o.target);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    throw new DownloadError(`cannot write to the cache folder ${dir} (${(e as Error).message}); choose another with the cacheDir option or RLRP_CACHE_DIR`);
  }
  const part = `${o.target}.part`;
  const actual = await fetchToPart(o, part, algorithm);
  if (expected !== undefined && actual !== expected) {
    await rm(part, { force: true });
    throw new DownloadError(`${o.what ?? 'file'} downloaded from ${o.url} has ${algorithm} ${actual}, expected ${expected}; the file was deleted. Run again; if it persists, the server or a proxy serves a different file`);
  }
  await rename(part, o.target);
  await writeSidecar(o.target, algorithm, actual, o.url);
  return { path: o.target, fromCache: false };
}
