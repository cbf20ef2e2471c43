#!/usr/bin/env bash
# Installs system packages on Debian bookworm (as root):
#   lavapipe  Mesa's software Vulkan driver, which gives Dawn a WebGPU adapter on a machine
#             without a GPU. Mesa 22 from plain bookworm is too old: it comes from bookworm-backports.
#   chromium  Debian's Chromium, for the browser tests.
# Usage: install-system-deps.sh [lavapipe] [chromium]   (both when none is named)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then echo "install-system-deps: needs root for apt-get" >&2; exit 1; fi
what=("$@")
[ ${#what[@]} -gt 0 ] || what=(lavapipe chromium)
if [ ! -f /etc/apt/sources.list.d/backports.list ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/backports.list
fi
apt-get update -q
for item in "${what[@]}"; do
  case "$item" in
    lavapipe) apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers ;;
    chromium) apt-get install -y -q chromium ;;
    *) echo "install-system-deps: unknown item '$item'" >&2; exit 2 ;;
  esac
done
