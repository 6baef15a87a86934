#!/usr/bin/env bash
# Builds the alipay-sim container image without pulling anything: statically linked binaries
# (glibc, `-C target-feature=+crt-static`), a minimal root filesystem staged under
# target/docker/, then `docker build` of the Dockerfile at the root (FROM scratch).
#
#   bash docker/build.sh [TAG]        default tag: alipay-sim:local
#   bash docker/build.sh --binaries   only the static binaries (target/$TRIPLE/release/)
#   bash docker/build.sh --stage      only the root filesystem (target/docker/rootfs$ROOTFS_SUFFIX)
#
# The release workflow (.github/workflows/release.yml) builds the binaries once per architecture
# with --binaries (TRIPLE=aarch64-unknown-linux-gnu on an arm64 runner), ships them, and stages a
# root filesystem per architecture from them with --stage (BIN_DIR=where they are,
# ROOTFS_SUFFIX=-amd64 / -arm64, which the Dockerfile's COPY picks by TARGETARCH).
#
# Needs a Rust toolchain and Docker; installs Debian's ca-certificates when the bundle is missing.
# Prints the image size on its last line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=image
case ${1:-} in
  --binaries) mode=binaries; shift ;;
  --stage) mode=stage; shift ;;
esac
tag=${1:-alipay-sim:local}
triple=${TRIPLE:-$(rustc -vV | sed -n 's/^host: //p')}
bin=${BIN_DIR:-target/$triple/release}
stage=target/docker

# Static binaries. The explicit --target keeps RUSTFLAGS off build scripts and proc macros;
# symbols are stripped, debug info dropped, the code optimised for size (opt-level s; the crypto
# crates keep opt-level 3 through their [profile.release.package] entries in Cargo.toml) and the
# whole program optimised at link time (fat LTO, one codegen unit): the image must stay under
# 25 MiB (the host release profile keeps line tables and builds faster).
if [ -z "${BIN_DIR:-}" ]; then
echo "== docker/build.sh: static release build ($triple, crt-static, LTO)"
RUSTFLAGS='-C target-feature=+crt-static' \
CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_STRIP=symbols \
CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
CARGO_PROFILE_RELEASE_LTO=fat \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo build --release --locked --target "$triple" --bins
fi
for b in alipay-sim alipay-harness; do
  if ! ldd "$bin/$b" 2>&1 | grep -Eq 'not a dynamic executable|statically linked'; then
    echo "docker/build.sh: $bin/$b is not statically linked:" >&2
    ldd "$bin/$b" >&2 || true
    exit 2
  fi
done
[ "$mode" = binaries ] && { echo "docker/build.sh: static binaries in $bin"; exit 0; }

ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca" ]; then
  echo "== docker/build.sh: installing ca-certificates (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ca-certificates >/dev/null
fi

root=$stage/rootfs${ROOTFS_SUFFIX:-}
echo "== docker/build.sh: staging $root"
rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/keys" "$root/scenarios" "$stage/data"
install -m 0755 "$bin/alipay-sim" "$bin/alipay-harness" "$root/usr/local/bin/"
install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/:/nonexistent\nalipay:x:10001:10001:alipay-sim:/data:/nonexistent\n' >"$root/etc/passwd"
printf 'root:x:0:\nalipay:x:10001:\n' >"$root/etc/group"
# glibc's static getaddrinfo has the files and dns services built in: these two files are all it
# needs (Docker replaces /etc/hosts and /etc/resolv.conf at run time).
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/etc/nsswitch.conf "$root"/etc/hosts

[ "$mode" = stage ] && { echo "docker/build.sh: staged $root"; exit 0; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' simulator/Cargo.toml | head -1)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
echo "== docker/build.sh: docker build -t $tag (version $version, revision $revision)"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" \
  --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  . >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "docker/build.sh: built $tag, $((size / 1024)) KiB ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB)"
