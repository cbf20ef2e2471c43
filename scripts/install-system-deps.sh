#!/usr/bin/env bash
# Installs the software Vulkan driver (Mesa lavapipe) that gives Dawn a WebGPU adapter on a
# machine without a GPU, and Chromium for the browser tests. Debian bookworm, as root.
# Mesa 22 from plain bookworm is too old for Dawn: lavapipe comes from bookworm-backports.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then echo "install-system-deps: run as root (apt-get)" >&2; exit 1; fi
if [ ! -f /etc/apt/sources.list.d/backports.list ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/backports.list
fi
apt-get update -q
apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
apt-get install -y -q chromium
