#!/usr/bin/env bash
# Builds the Python policy (plugins/rollback-on-crash-py) into a component
# with componentize-py, installed from PyPI into target/python-venv on first
# use. Prints the component's path.
#
# --stub-wasi replaces every WASI import of the Python runtime (sockets,
# files, clocks ...) with a trapping stub, so the component imports only
# rewind:policy/host, as the sandbox requires.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
version=0.25.1
if [ ! -x "$venv/bin/componentize-py" ] || ! "$venv/bin/componentize-py" --version | grep -q "$version"; then
  # Debian's python3 makes virtual environments only with python3-venv.
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    scripts/apt-install.sh python3 python3-venv
  fi
  echo "installing componentize-py $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "componentize-py==$version" >&2
fi
mkdir -p target/python
out=target/python/rollback-on-crash-py.wasm
"$venv/bin/componentize-py" -d wit/0.5.0 -w rollback-policy componentize --stub-wasi \
  -p plugins/rollback-on-crash-py app -o "$out" >&2
echo "$out"
