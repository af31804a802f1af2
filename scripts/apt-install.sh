#!/usr/bin/env bash
# Installs Debian packages for the project's scripts on a machine that
# lacks them (CI starts from a fresh one): apt-install.sh <package>...
set -euo pipefail
echo "installing $* from Debian" >&2
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
