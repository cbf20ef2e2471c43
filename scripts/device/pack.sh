#!/usr/bin/env bash
# Packs into .devpack/ (git-ignored) what a GPU machine without network or Node needs to run the
# bench and the cross-adapter check (scripts/device/run.sh): this machine's node binary, the
# built library with the runtime packages for linux-x64, skeletons of the Keras Applications
# models (their weights are regenerated there, so the pack stays small), reference results from
# this machine's adapter, and the Vulkan loader's .deb.
# Needs: npm ci, scripts/keras-apps/setup.sh (the models and the venv with h5py), apt-get.
# Then, with the workplace's device tool: run `bash scripts/device/run.sh --apps --batches 1,8`
# carrying .devpack and .gl.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${KERAS_APPS_VENV:-.cache/venv}/bin/python
npm run build
mkdir -p .devpack/skel .gl
[ -f .devpack/node.xz ] || xz -T2 -c "$(command -v node)" > .devpack/node.xz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -r dist "$stage/" && rm -rf "$stage/dist/demo"
mkdir -p "$stage/node_modules/webgpu/dist" "$stage/node_modules/h5wasm/dist"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
cp -r node_modules/webgpu/dist/linux-x64 "$stage/node_modules/webgpu/dist/"
cp node_modules/h5wasm/package.json "$stage/node_modules/h5wasm/"
cp -r node_modules/h5wasm/dist/node node_modules/h5wasm/dist/esm "$stage/node_modules/h5wasm/dist/"
cp -r node_modules/wgsl-preprocessor node_modules/jpeg-js node_modules/pngjs "$stage/node_modules/"
tar -C "$stage" -cf - dist node_modules | xz -6 -T2 > .devpack/rest.tar.xz
# The skeletons, and the same models filled here, whose results the device run compares with.
mkdir -p "$stage/models"
for m in mobilenet resnet50 vgg16 vgg19; do
  "$python" scripts/device/skeleton.py make ".cache/keras-apps/$m.h5" ".devpack/skel/$m.h5"
  "$python" scripts/device/skeleton.py fill ".devpack/skel/$m.h5" "$stage/models/$m.h5"
done
XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} node scripts/device/compare.mjs write .devpack/ref "$stage/models"
(cd .gl && apt-get download libvulkan1 >/dev/null)
du -sh .devpack .gl
