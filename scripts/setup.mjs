// Makes a fresh machine ready: npm dependencies, a WebGPU adapter for Dawn (installs Mesa
// lavapipe on Debian when run as root and none is found), and with --tests, Chromium.
// Uses only Node's standard library, since it runs before `npm ci`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forTests = process.argv.includes('--tests');
const log = (msg) => console.error(`setup: ${msg}`);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const isRootOnDebian = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/etc/debian_version');

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) {
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function adapterFound() {
  const probe = "import('webgpu').then(async ({create, globals}) => { Object.assign(globalThis, globals); const a = await create([]).requestAdapter(); process.exit(a ? 0 : 3); }).catch(() => process.exit(4))";
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, env: { XDG_RUNTIME_DIR: '/tmp', ...process.env }, stdio: 'ignore', timeout: 60_000 });
  return result.status === 0;
}

if (!adapterFound()) {
  if (!isRootOnDebian) {
    log('no WebGPU adapter found. Install a Vulkan driver (Debian: mesa-vulkan-drivers from bookworm-backports, see scripts/install-system-deps.sh) or run on a machine with a GPU.');
    process.exit(1);
  }
  log('no WebGPU adapter: installing Mesa lavapipe (software Vulkan) from bookworm-backports');
  run('bash', ['scripts/install-system-deps.sh', 'lavapipe']);
  if (!adapterFound()) {
    log('still no WebGPU adapter after installing lavapipe');
    process.exit(1);
  }
}

if (forTests && !existsSync('/usr/bin/chromium')) {
  if (isRootOnDebian) run('bash', ['scripts/install-system-deps.sh', 'chromium']);
  else log('warning: /usr/bin/chromium is missing; the browser tests will fail (Debian: apt-get install chromium)');
}
