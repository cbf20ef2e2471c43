#!/usr/bin/env bash
# Rebuild the Fashion-MNIST models and reference data in weights/ (see weights/README.md).
#
#   weights/make.sh            install what is missing; train only if an output is missing
#   weights/make.sh --force    retrain even if every output exists
#   weights/make.sh --verify   only check that the .h5 files reload and reproduce fashion_reference.json
#
# Needs: Debian/Ubuntu (apt-get) for the data, python3 with venv, and a pip index that has
# keras, torch, h5py and numpy (the one configured on this machine does).  Idempotent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${VENV:-$root/.cache/venv-train}"
data_dir="/usr/share/datasets/fashion-mnist"
outputs=(fashion_cnn.h5 fashion_resnet.h5 fashion_sample.npy fashion_samples.npy fashion_reference.json)

mode=build
case "${1:-}" in
  --force) mode=force ;;
  --verify) mode=verify ;;
  "") ;;
  *) echo "usage: $0 [--force|--verify]" >&2; exit 2 ;;
esac

# 1. Data: Fashion-MNIST (MIT) from Debian's dataset-fashion-mnist package.
if [ ! -f "$data_dir/t10k-labels-idx1-ubyte.gz" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo apt-get install -y dataset-fashion-mnist
fi

# 2. Python environment (own venv so it does not clash with other tooling in .cache/).
export KERAS_BACKEND=torch   # also needed for the import check: keras's default backend is tensorflow
if ! "$venv/bin/python" -c 'import keras, torch, h5py, numpy' 2>/dev/null; then
  python3 -m venv "$venv"
  # Pinned to the versions that made the shipped files (see weights/README.md).
  "$venv/bin/pip" install keras==3.15.1 torch==2.13.0 h5py==3.16.0 numpy==2.4.6
fi

cd "$root"

# 3. Train (only when needed) and write the reference data, then check it.
if [ "$mode" != verify ]; then
  missing=0
  for f in "${outputs[@]}"; do [ -f "$here/$f" ] || missing=1; done
  if [ "$mode" = force ] || [ "$missing" = 1 ]; then
    "$venv/bin/python" weights/train_fashion_models.py
  else
    echo "weights/: all outputs present (use --force to retrain)"
  fi
fi
"$venv/bin/python" weights/train_fashion_models.py --verify
