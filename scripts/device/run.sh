#!/usr/bin/env bash
# Runs on a GPU machine from the repository root, over what scripts/device/pack.sh packed:
# unpacks node, the library and the Vulkan loader, fills the Keras Applications skeletons with
# the same weights as on the packing machine, prints the adapter Dawn finds, compares the results
# with the packing machine's (compare.txt) and runs the bench with the given options. Every output
# goes to $OUT too.
# Usage: bash scripts/device/run.sh [bench options, e.g. --apps --batches 1,8]
set -o pipefail
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
start=$SECONDS
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for deb in .gl/*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
export XDG_RUNTIME_DIR=/tmp PATH=/tmp/devpack-node:$PATH
python3 - <<'PY' || exit 1
import lzma, os, shutil, tarfile
os.makedirs('/tmp/devpack-node', exist_ok=True)
with lzma.open('.devpack/node.xz') as src, open('/tmp/devpack-node/node', 'wb') as dst:
    shutil.copyfileobj(src, dst, 1 << 24)
os.chmod('/tmp/devpack-node/node', 0o755)
with tarfile.open('.devpack/rest.tar.xz', 'r:xz') as pack:
    pack.extractall('.')
PY
mkdir -p .cache/keras-apps
for m in mobilenet resnet50 vgg16 vgg19; do
  [ -f ".cache/keras-apps/$m.h5" ] || python3 scripts/device/skeleton.py fill ".devpack/skel/$m.h5" ".cache/keras-apps/$m.h5" || exit 1
done
echo "node $(node -v), models ready after $((SECONDS - start)) s"
node --input-type=module -e "
import { acquireGpu } from './dist/index.js';
const gpu = await acquireGpu();
console.log('adapter:', gpu.adapter, '| features:', [...gpu.device.features].join(','), '| maxStorageBufferBindingSize', gpu.limits.maxStorageBufferBindingSize);
process.exit(0);
" 2>&1 | grep -v '^Warning' | tee "$OUT/adapter.txt"
timeout 150 node scripts/device/compare.mjs check .devpack/ref 2>&1 | grep -v '^Warning' | tee "$OUT/compare.txt"
timeout 420 node scripts/bench/bench.mjs --out "$OUT/bench.json" "$@" 2>&1 | grep -v '^Warning' | tee "$OUT/bench.log"
echo "done after $((SECONDS - start)) s"
