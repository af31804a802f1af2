#!/usr/bin/env bash
# Policy distribution against real servers on loopback: a Docker registry
# (Debian's docker-registry; it, openssl and curl are installed here if missing,
# by apt-install.sh) and an https file
# server with a throwaway CA, then the ignored tests of host/tests/distribution.rs
# and the controller image (scripts/build-image.sh --push).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for tool in docker-registry:docker-registry openssl:openssl curl:curl; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then scripts/apt-install.sh "${missing[@]}"; fi
run=$(pwd)/target/distribution
rm -rf "$run" && mkdir -p "$run/data" "$run/files"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
registry_port=$(free_port)
cat > "$run/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $run/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$registry_port}
YAML
docker-registry serve "$run/registry.yml" > "$run/registry.log" 2>&1 &
pids+=($!)

# A CA and a server certificate for 127.0.0.1, trusted through SSL_CERT_FILE.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$run/ca.key" -out "$run/ca.pem" -days 2 -subj /CN=rewind-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$run/server.key" -out "$run/server.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$run/server.ext"
openssl x509 -req -in "$run/server.csr" -CA "$run/ca.pem" -CAkey "$run/ca.key" -CAcreateserial \
  -out "$run/server.pem" -days 2 -extfile "$run/server.ext" 2>/dev/null
https_port=$(free_port)
python3 - "$run" "$https_port" > "$run/https.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
run, port = sys.argv[1], int(sys.argv[2])
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=f"{run}/files")
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(f"{run}/server.pem", f"{run}/server.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
pids+=($!)

for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$registry_port/v2/" >/dev/null && curl -sf --cacert "$run/ca.pem" "https://127.0.0.1:$https_port/" >/dev/null && break
  sleep 0.2
done
REWIND_E2E_REGISTRY=127.0.0.1:$registry_port \
REWIND_E2E_HTTPS=https://127.0.0.1:$https_port \
REWIND_E2E_HTTPS_DIR=$run/files \
SSL_CERT_FILE=$run/ca.pem \
  cargo test --workspace --test distribution -- --ignored --test-threads=1
# The controller image, built without a container engine, pushed to the same
# registry and checked there.
scripts/build-image.sh --push "127.0.0.1:$registry_port" >/dev/null
