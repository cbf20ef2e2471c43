#!/usr/bin/env bash
# Makes the Keras Applications test models (see make_models.py): creates a Python venv with
# Keras in .cache/venv if needed, then writes the models to OUT_DIR (default .cache/keras-apps).
# Idempotent: an up-to-date venv is not touched and cached models are not rewritten.
#
# Usage: scripts/keras-apps/setup.sh [OUT_DIR] [make_models.py options]
# Env: KERAS_BACKEND=jax (default) or torch; KERAS_APPS_VENV=path of the venv.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${KERAS_APPS_VENV:-$root/.cache/venv}
out=${1:-$root/.cache/keras-apps}
shift || true
backend=${KERAS_BACKEND:-jax}

# JAX by default: from this machine's pip index it installs in ~20 s (torch in ~50 s) and every
# part of it is in the index; the models take about as long with either. torch must be pinned
# to the CPU build, else pip picks a CUDA build with gigabytes of NVIDIA wheels.
case "$backend" in
  jax) pkgs="keras jax h5py numpy" ;;
  torch) pkgs="keras torch==2.13.0+cpu h5py numpy" ;;
  *) echo "KERAS_BACKEND must be jax or torch, not '$backend'" >&2; exit 2 ;;
esac

# Where the default index (PyPI) is unreachable and only a configured extra index answers,
# pip's retries with backoff would add minutes; a reachable index needs none.
export PIP_RETRIES=${PIP_RETRIES:-0} PIP_DISABLE_PIP_VERSION_CHECK=1

start=$SECONDS
# Test files that need these models may run this at the same time: one set-up at a time.
mkdir -p "$out"
exec 9>"$out/.setup.lock"
flock 9
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
stamp="$venv/.keras-apps-installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "$pkgs" ]; then
  # shellcheck disable=SC2086  # $pkgs is a list of package specs
  "$venv/bin/pip" install -q $pkgs
  echo "$pkgs" > "$stamp"
  echo "keras-apps: installed $pkgs in $((SECONDS - start)) s"
fi

gen=$SECONDS
KERAS_BACKEND=$backend "$venv/bin/python" "$here/make_models.py" "$out" "$@" 2>&1 \
  | grep -v 'saving your model as an HDF5 file'  # Keras's legacy-format warning, once per model
echo "keras-apps: models in $out ($((SECONDS - gen)) s; total $((SECONDS - start)) s)"
