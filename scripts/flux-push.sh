#!/usr/bin/env bash
# Usage: scripts/flux-push.sh <host:port>/<repository>:<tag> <dir>
#
# Publishes the files under <dir> as a Flux OCI artifact, the way
# `flux push artifact` does, to a registry over plain HTTP (a test registry
# on loopback; no authentication): a gzipped tarball of <dir> as the one
# layer (application/vnd.cncf.flux.content.v1.tar+gzip) and a config of
# type application/vnd.cncf.flux.config.v1+json, in an OCI image manifest
# tagged <tag>, through the OCI distribution API. Needs only python3.
# Prints the pushed reference, <host:port>/<repository>@sha256:<digest>;
# an OCIRepository that follows <tag> reports the revision
# <tag>@sha256:<digest>. Pushing the same tag again moves it.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <host:port>/<repository>:<tag> <dir>" >&2; exit 2; }
[ -d "$2" ] || { echo "flux-push: $2 is not a directory" >&2; exit 2; }
exec python3 - "$1" "$2" <<'PY'
import datetime, gzip, hashlib, io, json, os, sys, tarfile, urllib.error, urllib.parse, urllib.request

ref, src = sys.argv[1], sys.argv[2]
host, _, rest = ref.partition("/")
repo, sep, tag = rest.rpartition(":")
if not (host and sep and repo and tag and "/" not in tag):
    sys.exit(f"flux-push: {ref} is not <host:port>/<repository>:<tag>")
base = f"http://{host}/v2/{repo}"

def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()

# The layer: every file under src, paths relative to it, in a stable order,
# owned by root, as Flux's own tarballs are (kustomize-controller builds
# the kustomization at the root of it, or generates one from its YAML).
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            info = tar.gettarinfo(path, os.path.relpath(path, src))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as f:
                tar.addfile(info, f)
tar_bytes = raw.getvalue()
layer = gzip.compress(tar_bytes, mtime=0)

created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
# What go-containerregistry writes for Flux's (otherwise empty) config.
config = json.dumps({
    "architecture": "", "created": created, "os": "", "config": {},
    "rootfs": {"type": "layers", "diff_ids": [digest(tar_bytes)]},
}, separators=(",", ":")).encode()

def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        return urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as e:
        if method == "HEAD" and e.code == 404:
            return None
        sys.exit(f"flux-push: {method} {url}: {e.code} {e.read().decode(errors='replace')[:500]}")

def push_blob(data):
    d = digest(data)
    if request("HEAD", f"{base}/blobs/{d}") is not None:
        return d
    location = request("POST", f"{base}/blobs/uploads/", b"").headers["Location"]
    url = urllib.parse.urljoin(f"http://{host}/", location)
    url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": d})
    request("PUT", url, data, {"Content-Type": "application/octet-stream"})
    return d

manifest = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json",
               "size": len(config), "digest": push_blob(config)},
    "layers": [{"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip",
                "size": len(layer), "digest": push_blob(layer)}],
    "annotations": {
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.source": os.path.abspath(src),
        "org.opencontainers.image.revision": tag,
    },
}, separators=(",", ":")).encode()
request("PUT", f"{base}/manifests/{tag}", manifest,
        {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
print(f"{host}/{repo}@{digest(manifest)}")
PY
