#!/usr/bin/env bash
# Builds the controller image without a container engine, with Debian's
# umoci: one layer holding the release binary, the shared libraries it links
# (from this machine's Debian, as `ldd` resolves them), CA certificates and
# the bundled policies; no shell, no package manager; user 65532.
#   scripts/build-image.sh [--push <registry host:port>]
# Writes the OCI layout target/image/oci (tag <version>), runs the image's
# own binary from its unpacked root file system as user 65532 (rewind
# --version and an evaluation of an example dump with a bundled policy), and
# with --push copies it with skopeo to <registry>/rewind-dev/rewind:<version>
# (over plain HTTP to a registry on loopback) and checks what it serves:
# entrypoint, user, labels, platform, and the layer's contents.
set -euo pipefail
cd "$(dirname "$0")/.."
registry=""
case "${1:-}" in
  --push) registry=${2:?"--push needs <host:port>"} ;;
  "") ;;
  *) echo "build-image: unknown argument $1 (usage: scripts/build-image.sh [--push <host:port>])" >&2; exit 2 ;;
esac
missing=()
for tool in umoci:umoci skopeo:skopeo strip:binutils; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then scripts/apt-install.sh "${missing[@]}"; fi

# Files owned by 65532 and running as 65532 need root (or sudo).
if [ "$(id -u)" = 0 ]; then as_root=""; else as_root="sudo"; fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
repository=rewind-dev/rewind
scripts/ensure-toolchain.sh
cargo build --release --locked -p rewind >&2
cargo build --locked --profile guest --target wasm32-wasip2 -p deployment -p bluegreen -p bookkeeper >&2

work=target/image
rootfs=$work/rootfs
$as_root rm -rf "$work" && mkdir -p "$rootfs"/{usr/local/bin,policies/custom,etc/ssl/certs,var/cache/rewind,usr/share/doc}
install -m 0755 target/release/rewind "$rootfs/usr/local/bin/rewind"
strip "$rootfs/usr/local/bin/rewind"
install -m 0644 target/wasm32-wasip2/guest/{deployment,bluegreen,bookkeeper}.wasm "$rootfs/policies/"
# The dynamic loader and libraries at the paths the binary asks for; the
# files themselves where those paths are symlinks.
libraries=$(ldd target/release/rewind | sed -n 's#.*=> \(/[^ ]*\) (.*#\1#p; s#^[[:space:]]*\(/[^ ]*\) (.*#\1#p')
[ -n "$libraries" ] || { echo "build-image: ldd found no libraries for target/release/rewind" >&2; exit 1; }
for library in $libraries; do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
  # Their licences travel with them.
  package=$(dpkg -S "$(readlink -f "$library")" 2>/dev/null | head -1 | cut -d: -f1) || true
  if [ -n "$package" ] && [ -f "/usr/share/doc/$package/copyright" ]; then
    mkdir -p "$rootfs/usr/share/doc/$package" && cp "/usr/share/doc/$package/copyright" "$rootfs/usr/share/doc/$package/"
  fi
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
chmod 0755 "$rootfs/var/cache/rewind" && $as_root chown 65532:65532 "$rootfs/var/cache/rewind"

layout=$work/oci
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci insert --image "$layout:$version" --history.created_by "scripts/build-image.sh" "$rootfs" /
umoci config --image "$layout:$version" \
  --os linux --architecture amd64 \
  --config.user 65532:65532 --config.workingdir / \
  --config.entrypoint /usr/local/bin/rewind --config.cmd controller \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --config.env REWIND_CACHE_DIR=/var/cache/rewind \
  --config.label org.opencontainers.image.title=rewind \
  --config.label "org.opencontainers.image.description=Kubernetes rollback policies as sandboxed WebAssembly components" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label org.opencontainers.image.source=https://github.com/rewind-dev/rewind \
  --history.created_by "scripts/build-image.sh (config)"
umoci gc --layout "$layout"

# Run the image's own loader, libraries and binary: unpack it and chroot into
# it as its configured user.
bundle=$work/bundle
$as_root umoci unpack --image "$layout:$version" "$bundle" >/dev/null
run_in_image() { $as_root chroot --userspec=65532:65532 "$bundle/rootfs" /usr/local/bin/rewind "$@"; }
$as_root mkdir -p "$bundle/rootfs/check"
$as_root cp examples/deployment/image-pull-backoff.yaml "$bundle/rootfs/check/"
$as_root chown -R 65532:65532 "$bundle/rootfs/check"
reported=$(run_in_image --version)
[ "$reported" = "rewind $version" ] || { echo "build-image: the image's binary says '$reported', expected 'rewind $version'" >&2; exit 1; }
# Exit status 1: the policy decided the example's rollout failed.
report=$(run_in_image eval --policy /policies/deployment.wasm --cluster /check/image-pull-backoff.yaml \
  --target Deployment/web --namespace shop --now 2024-11-06T14:34:00Z --cache-dir /check/cache --output json) ||
  [ $? -eq 1 ] || { echo "build-image: the image's eval of image-pull-backoff.yaml failed" >&2; exit 1; }
release=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["selection"]["release"])' <<<"$report")
[ "$release" = 2 ] || { echo "build-image: the image's eval of image-pull-backoff.yaml chose release '$release', expected 2" >&2; exit 1; }
compressed=$(python3 - "$layout" <<'PY'
import json, sys
layout = sys.argv[1]
index = json.load(open(f"{layout}/index.json"))
manifest = json.load(open(f"{layout}/blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
print(sum(layer["size"] for layer in manifest["layers"]))
PY
)
echo "build-image: $layout:$version, $(( compressed / 1024 / 1024 )) MiB compressed, $(du -sm "$bundle/rootfs" | cut -f1) MiB unpacked; ran as 65532: rewind --version, eval (rolls back to release 2)" >&2

if [ -n "$registry" ]; then
  image=$registry/$repository:$version
  # Registries on loopback are spoken to over HTTP, others over HTTPS.
  case "$registry" in
    127.0.0.1:*|localhost:*|127.0.0.1|localhost) tls=false scheme=http ;;
    *) tls=true scheme=https ;;
  esac
  skopeo copy --quiet --dest-tls-verify=$tls "oci:$layout:$version" "docker://$image"
  # Read back what the registry serves (with skopeo, so its credentials apply).
  skopeo copy --quiet --src-tls-verify=$tls "docker://$image" "oci:$work/pulled:$version"
  python3 - "$work/pulled" "$version" "$image" <<'PY'
import json, sys, tarfile
layout, version, image = sys.argv[1:]
def blob(digest):
    return f"{layout}/blobs/sha256/{digest.split(':', 1)[1]}"
index = json.load(open(f"{layout}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
problems = []
def expect(what, got, wanted):
    if got != wanted:
        problems.append(f"{what} is {got!r}, expected {wanted!r}")
expect("os", config.get("os"), "linux")
expect("architecture", config.get("architecture"), "amd64")
expect("user", config["config"].get("User"), "65532:65532")
expect("entrypoint", config["config"].get("Entrypoint"), ["/usr/local/bin/rewind"])
expect("version label", config["config"].get("Labels", {}).get("org.opencontainers.image.version"), version)
expect("layers", len(manifest["layers"]), 1)
with tarfile.open(blob(manifest["layers"][0]["digest"]), mode="r:gz") as tar:
    members = {m.name.removeprefix("./") for m in tar}
for path in ["usr/local/bin/rewind", "policies/deployment.wasm", "policies/bluegreen.wasm", "policies/bookkeeper.wasm",
             "etc/ssl/certs/ca-certificates.crt"]:
    if path not in members:
        problems.append(f"the layer has no {path}")
shells = sorted(m for m in members if m.rsplit("/", 1)[-1] in ("sh", "bash", "dash", "busybox"))
if shells:
    problems.append(f"the layer has a shell: {shells}")
if problems:
    sys.exit(f"build-image: {image} as the registry serves it: " + "; ".join(problems))
print(f"build-image: pushed {image} ({manifest['layers'][0]['size'] // 1024 // 1024} MiB layer); read back: "
      "linux/amd64, user 65532:65532, entrypoint, version label, layer contents, no shell", file=sys.stderr)
PY
fi
echo "$layout"
