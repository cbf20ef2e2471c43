import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError, UnknownModelError } from '../src/errors.js';
import { parseModelConfig, parseModelJson } from '../src/keras/config.js';
import { cachedDownload, defaultCacheDir } from '../src/zoo/download.js';
import { resolveModel } from '../src/zoo/index.js';
import { KERAS_APPLICATIONS_BASE, ZOO, zooEntry } from '../src/zoo/registry.js';

// The download cache against a local HTTP server on 127.0.0.1 (never the real network): fresh
// download, resume after a dropped connection, a server that ignores Range, 416, redirects, hash
// mismatch, offline use of a verified file, a corrupted cached file, and the model registry.
// Hashes of the served bytes were computed with Python's hashlib (independently of node:crypto).
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BODY = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + 7 * (i >> 8)) % 256);
const BODY_MD5 = 'f7ff97dd2b3ebf764f316c026c971feb';
const BODY_SHA256 = 'fb5c491a1319338ac34ccf550f0faef06557940ed060e979d8968d18b24e589c';
const MOBILENET_BODY = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13 + 5) % 256);
const MOBILENET_SHA256 = 'b76bf31be170d9df8eafbd020941b5fd4b7ab017af6a1e5c1c03e909aa8f9fb7';

interface Seen { path: string; range?: string }

/** Serves files with Range support; behaviours for the failure cases are switched per test. */
class TestServer {
  seen: Seen[] = [];
  encodings: string[] = [];
  /** Destroy the socket after this many body bytes, once. */
  dropAfter?: number;
  /** Send the status line, headers and this many bytes, then nothing (a stalled connection). */
  stallAfter?: number;
  ignoreRange = false;
  /** Compress the body even though the client asks for identity. */
  gzip = false;
  private server?: Server;
  private readonly stalled: ServerResponse[] = [];
  constructor(private readonly files: Map<string, Uint8Array>) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.stalled.forEach((r) => r.destroy());
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.seen.push({ path, range: req.headers.range });
    this.encodings.push(String(req.headers['accept-encoding']));
    if (path.startsWith('/moved/')) {
      res.writeHead(302, { location: path.slice('/moved'.length) }).end();
      return;
    }
    const body = this.files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    if (this.gzip) {
      const packed = gzipSync(body);
      res.writeHead(200, { 'content-length': packed.length, 'content-encoding': 'gzip' }).end(packed);
      return;
    }
    const start = !this.ignoreRange ? Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? NaN) : NaN;
    let payload = body;
    if (Number.isFinite(start)) {
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      payload = body.subarray(start);
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': payload.length });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    if (this.dropAfter !== undefined) {
      const n = this.dropAfter;
      this.dropAfter = undefined;
      res.write(payload.subarray(0, n), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (this.stallAfter !== undefined) {
      res.write(payload.subarray(0, this.stallAfter));
      this.stalled.push(res);
      return;
    }
    res.end(payload);
  }
}

const bytesOf = (path: string) => new Uint8Array(readFileSync(path));
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('download cache (local HTTP server)', () => {
  let server: TestServer;
  let base: string;
  let dir: string;
  let target: string;
  const url = () => `${base}/files/body.bin`;

  beforeEach(async () => {
    server = new TestServer(new Map([['/files/body.bin', BODY]]));
    base = await server.start();
    dir = mkdtempSync(join(tmpdir(), 'rlrp-zoo-'));
    target = join(dir, 'cache', 'body.bin');
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fresh download: the file, a .verified record, no .part; progress reaches the total', async () => {
    const progress: [number, number | undefined][] = [];
    const result = await cachedDownload({ url: url(), target, hash: BODY_MD5, onProgress: (r, t) => progress.push([r, t]) });
    expect(result).toEqual({ path: target, fromCache: false });
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
    expect(readdirSync(dirname(target)).sort()).toEqual(['body.bin', 'body.bin.verified']);
    const record = JSON.parse(readFileSync(`${target}.verified`, 'utf8'));
    expect(record).toMatchObject({ size: BODY.length, algorithm: 'md5', hash: BODY_MD5, url: url() });
    expect(progress.at(-1)).toEqual([BODY.length, BODY.length]);
    expect(progress.every(([r], i) => i === 0 || r >= progress[i - 1][0])).toBe(true);
    expect(server.seen).toEqual([{ path: '/files/body.bin', range: undefined }]);
  });

  it('a 64-hex hash is checked as sha256 (Keras validate_file)', async () => {
    await cachedDownload({ url: url(), target, hash: BODY_SHA256 });
    expect(JSON.parse(readFileSync(`${target}.verified`, 'utf8'))).toMatchObject({ algorithm: 'sha256', hash: BODY_SHA256 });
  });

  it('resume: a connection dropped mid-way keeps the .part; the next call asks for the rest with Range', async () => {
    server.dropAfter = 100_000;
    const error = await cachedDownload({ url: url(), target, hash: BODY_MD5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/interrupted after \d+ of 300000 bytes .*run again to resume/);
    expect(existsSync(target)).toBe(false);
    const kept = statSync(`${target}.part`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(100_000);
    expect(sameBytes(bytesOf(`${target}.part`), BODY.subarray(0, kept))).toBe(true);

    const progress: number[] = [];
    const result = await cachedDownload({ url: url(), target, hash: BODY_MD5, onProgress: (r) => progress.push(r) });
    expect(result.fromCache).toBe(false);
    expect(server.seen.map((s) => s.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(progress[0]).toBe(kept);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('a server that ignores Range (200): the .part is started over, not appended to', async () => {
    server.ignoreRange = true;
    mkdirSync(dirname(target), { recursive: true });
    // A .part with the wrong bytes: appending the full body to it would fail the hash check.
    writeFileSync(`${target}.part`, new Uint8Array(1234).fill(0xee));
    const result = await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    expect(result.fromCache).toBe(false);
    expect(server.seen).toEqual([{ path: '/files/body.bin', range: 'bytes=1234-' }]);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
  });

  it('416 for a complete .part: nothing downloaded again; for a too long .part: started over', async () => {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(`${target}.part`, BODY);
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    expect(server.seen).toEqual([{ path: '/files/body.bin', range: `bytes=${BODY.length}-` }]);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);

    rmSync(target);
    rmSync(`${target}.verified`);
    writeFileSync(`${target}.part`, new Uint8Array(BODY.length + 10));
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    expect(server.seen.slice(1).map((s) => s.range)).toEqual([`bytes=${BODY.length + 10}-`, undefined]);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
  });

  it("asks for the file's bytes as they are (accept-encoding: identity); a server that compresses anyway still works", async () => {
    server.gzip = true;
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    expect(server.encodings).toEqual(['identity']);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
  });

  it('follows redirects', async () => {
    await cachedDownload({ url: `${base}/moved/files/body.bin`, target, hash: BODY_MD5 });
    expect(server.seen.map((s) => s.path)).toEqual(['/moved/files/body.bin', '/files/body.bin']);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
  });

  it('hash mismatch: an error naming the URL, both hashes and the algorithm; nothing left in the cache', async () => {
    const wrong = '0123456789abcdef0123456789abcdef';
    const error = await cachedDownload({ url: url(), target, hash: wrong, what: 'test weights' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toContain(`test weights downloaded from ${url()} has md5 ${BODY_MD5}, expected ${wrong}`);
    expect(readdirSync(dirname(target))).toEqual([]);
  });

  it('offline once verified: no request, even with the server gone', async () => {
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    await server.close();
    const calls: string[] = [];
    const noNetwork = (async (input: string | URL | Request) => {
      calls.push(String(input));
      throw new Error('network used');
    }) as typeof fetch;
    const result = await cachedDownload({ url: url(), target, hash: BODY_MD5, fetch: noNetwork });
    expect(result).toEqual({ path: target, fromCache: true });
    expect(calls).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('a file already in the cache without a record (downloaded by Keras) is hashed once, not downloaded', async () => {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, BODY);
    expect(await cachedDownload({ url: url(), target, hash: BODY_MD5 })).toEqual({ path: target, fromCache: true });
    expect(server.seen).toEqual([]);
    expect(JSON.parse(readFileSync(`${target}.verified`, 'utf8'))).toMatchObject({ hash: BODY_MD5, size: BODY.length });
  });

  it('a cached file changed since it was verified (size or mtime differ): hashed again, deleted and downloaded again, as Keras does', async () => {
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    const corrupt = BODY.slice();
    corrupt[1000] ^= 0xff;
    writeFileSync(target, corrupt);
    const result = await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    expect(result.fromCache).toBe(false);
    expect(server.seen).toHaveLength(2);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);

    // Offline, the corrupt copy is removed and the error says where to put a good one.
    writeFileSync(target, corrupt);
    await server.close();
    await expect(cachedDownload({ url: url(), target, hash: BODY_MD5 })).rejects.toThrow(/could not download file from http:\/\/127\.0\.0\.1:\d+\/files\/body\.bin: .*copy it to .*body\.bin \(its md5 must be f7ff97dd/);
    expect(existsSync(target)).toBe(false);
  });

  it('without a published hash (MobileNet): the first copy is accepted, its sha256 recorded, and a later change fetches it again', async () => {
    await cachedDownload({ url: url(), target });
    expect(JSON.parse(readFileSync(`${target}.verified`, 'utf8'))).toMatchObject({ algorithm: 'sha256', hash: BODY_SHA256 });
    writeFileSync(target, BODY.subarray(0, 1000));
    expect((await cachedDownload({ url: url(), target })).fromCache).toBe(false);
    expect(server.seen).toHaveLength(2);
    expect(sameBytes(bytesOf(target), BODY)).toBe(true);
  });

  it('a change that keeps size and mtime is not noticed: the record is trusted (no re-hash of 500 MB on every run)', async () => {
    await cachedDownload({ url: url(), target, hash: BODY_MD5 });
    const { mtime, atime } = statSync(target);
    const corrupt = BODY.slice();
    corrupt[5] ^= 1;
    writeFileSync(target, corrupt);
    utimesSync(target, atime, mtime);
    expect((await cachedDownload({ url: url(), target, hash: BODY_MD5 })).fromCache).toBe(true);
  });

  it('HTTP errors and refused connections: a DownloadError naming the URL and how to place the file by hand', async () => {
    await expect(cachedDownload({ url: `${base}/missing.bin`, target, hash: BODY_MD5 })).rejects.toThrow(/from http:\/\/127\.0\.0\.1:\d+\/missing\.bin: HTTP 404 .*copy it to /);
    await server.close();
    const error = await cachedDownload({ url: url(), target, hash: BODY_MD5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/could not download file from http:\/\/127\.0\.0\.1:\d+\/files\/body\.bin: fetch failed: ECONNREFUSED/);
    expect(existsSync(target)).toBe(false);
  });

  it('a stalled connection gives up after the idle timeout, keeping what arrived', async () => {
    server.stallAfter = 5000;
    await expect(cachedDownload({ url: url(), target, hash: BODY_MD5, idleTimeoutMs: 300 })).rejects.toThrow(/interrupted after 5000 of 300000 bytes \(no data for 0\.3 s\)/);
    expect(statSync(`${target}.part`).size).toBe(5000);
  });
});

describe('models by name', () => {
  let server: TestServer;
  let base: string;
  let dir: string;
  const saved = { mirror: process.env.RLRP_ZOO_MIRROR, cache: process.env.RLRP_CACHE_DIR };

  beforeEach(async () => {
    server = new TestServer(new Map([
      ['/mirror/mobilenet/mobilenet_1_0_224_tf.h5', MOBILENET_BODY],
      ['/mirror/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5', BODY],
    ]));
    base = await server.start();
    dir = mkdtempSync(join(tmpdir(), 'rlrp-zoo-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    for (const [key, value] of [['RLRP_ZOO_MIRROR', saved.mirror], ['RLRP_CACHE_DIR', saved.cache]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("the registry holds the file names, URLs and hashes that Keras's get_file receives (weights/zoo/keras_downloads.json)", () => {
    const keras = JSON.parse(readFileSync(join(ROOT, 'weights/zoo/keras_downloads.json'), 'utf8')).models;
    expect([...ZOO.keys()].sort()).toEqual(Object.keys(keras).sort());
    for (const entry of ZOO.values()) {
      const call = keras[entry.name];
      expect(`${KERAS_APPLICATIONS_BASE}${entry.path}`).toBe(call.origin);
      expect(entry.fileName).toBe(call.fname);
      expect(entry.hash ?? null).toBe(call.file_hash);
      expect(call.cache_subdir).toBe('models');
      expect(existsSync(join(ROOT, 'weights/zoo', `${entry.name}.json`))).toBe(true);
    }
    expect(Object.fromEntries([...ZOO.values()].map((e) => [e.name, e.preset]))).toEqual({ vgg16: 'caffe', vgg19: 'caffe', resnet50: 'caffe', mobilenet: 'tf' });
  });

  it('the architectures: 224x224x3 input, 1000 outputs, and the weighted layers the official files hold (VGG16: 16, ...)', () => {
    // Keras's legacy loader pairs weighted layers by order and fails on a count mismatch; these
    // counts are the networks' own (ResNet50: 53 convolutions, 53 BatchNormalizations, 1 Dense;
    // MobileNet: 27 convolutions, 27 BatchNormalizations, 1 classifier convolution).
    const weighted = { vgg16: 16, vgg19: 19, resnet50: 107, mobilenet: 55 };
    for (const entry of ZOO.values()) {
      const text = readFileSync(join(ROOT, 'weights/zoo', `${entry.name}.json`), 'utf8');
      const { layers } = parseModelConfig(parseModelJson(text, entry.name), entry.name);
      expect(layers.filter((l) => ['Conv2D', 'DepthwiseConv2D', 'Dense', 'BatchNormalization'].includes(l.className)).length).toBe(weighted[entry.name as keyof typeof weighted]);
      expect(layers[0].config.batch_shape).toEqual([null, ...entry.inputShape]);
      const last = layers.filter((l) => ['Dense', 'Conv2D'].includes(l.className)).at(-1)!;
      expect(last.config.units ?? last.config.filters).toBe(entry.classes);
    }
  });

  it('unknown name: an error listing the known names', async () => {
    await expect(resolveModel('vgg17', { cacheDir: dir })).rejects.toThrow(UnknownModelError);
    expect(() => zooEntry('inception')).toThrow("unknown model name 'inception'; the models known by name are vgg16, vgg19, resnet50, mobilenet");
  });

  it('downloads from a mirror (baseUrl, then RLRP_ZOO_MIRROR) into the cache under the name Keras uses; offline afterwards', async () => {
    const resolved = await resolveModel('MobileNet', { cacheDir: dir, baseUrl: `${base}/mirror/` });
    expect(resolved).toMatchObject({
      name: 'mobilenet', weightsPath: join(dir, 'mobilenet_1_0_224_tf.h5'), preset: 'tf', inputShape: [224, 224, 3], classes: 1000,
      url: `${base}/mirror/mobilenet/mobilenet_1_0_224_tf.h5`, fromCache: false,
    });
    expect(resolved.configPath).toBe(join(ROOT, 'weights', 'zoo', 'mobilenet.json'));
    expect(sameBytes(bytesOf(resolved.weightsPath), MOBILENET_BODY)).toBe(true);
    // Keras publishes no hash for MobileNet: the first copy's sha256 is recorded to detect later changes.
    expect(JSON.parse(readFileSync(`${resolved.weightsPath}.verified`, 'utf8'))).toMatchObject({ algorithm: 'sha256', hash: MOBILENET_SHA256 });

    await server.close();
    process.env.RLRP_ZOO_MIRROR = `${base}/mirror`;
    process.env.RLRP_CACHE_DIR = dir;
    expect(await resolveModel('mobilenet')).toMatchObject({ weightsPath: join(dir, 'mobilenet_1_0_224_tf.h5'), fromCache: true });
    expect(server.seen).toHaveLength(1);
  });

  it("a file that does not have Keras's published hash is rejected and not kept", async () => {
    const error = await resolveModel('vgg16', { cacheDir: dir, baseUrl: `${base}/mirror` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toContain(`vgg16 weights downloaded from ${base}/mirror/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5 has md5 ${BODY_MD5}, expected 64373286793e3c8b2b4e3219cbf3544b`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("default cache folder: RLRP_CACHE_DIR, else Keras's $KERAS_HOME/models, else ~/.keras/models", async () => {
    expect(await defaultCacheDir({ RLRP_CACHE_DIR: '/a/b', KERAS_HOME: '/k' })).toBe('/a/b');
    expect(await defaultCacheDir({ KERAS_HOME: '/k' })).toBe(join('/k', 'models'));
    expect(await defaultCacheDir({})).toBe(join(homedir(), '.keras', 'models'));
  });
});
