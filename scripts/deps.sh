#!/usr/bin/env bash
# Installs every Debian package glusterrs needs and fetches the fio source that
# matches the installed fio binary. Idempotent: safe to run again and again.
#
#   scripts/deps.sh          what building and `make test` need
#   scripts/deps.sh --bench  also QEMU's gluster driver (qemu-block-extra), the
#                            `qemu` peer of the benchmarks
set -euo pipefail

with_bench=0
case "${1:-}" in
  "") ;;
  --bench) with_bench=1 ;;
  *) echo "deps: unknown argument '$1' (expected nothing or --bench)" >&2; exit 2 ;;
esac

PACKAGES=(
  fio glusterfs-server glusterfs-client libglusterfs-dev liburcu-dev
  libclang-dev clang pkg-config build-essential dpkg-dev
  libaio-dev librdmacm-dev libibverbs-dev libnuma-dev
  fuse3 psmisc procps util-linux attr
  fonts-dejavu-core
)

root_dir=$(cd "$(dirname "$0")/.." && pwd)
fio_src_dir=${FIO_SRC_DIR:-$root_dir/target/fio-src}

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

src_list=/etc/apt/sources.list.d/glusterrs-bookworm-src.sources
if [ "$(id -u)" != 0 ] && { [ ${#missing[@]} -gt 0 ] || [ ! -f "$src_list" ]; }; then
  echo "deps: run as root to install: ${missing[*]:-} (and the bookworm deb-src entry)" >&2
  exit 1
fi
need_update=0
if [ ! -f "$src_list" ]; then
  # fio's headers are not packaged: the matching source comes from deb-src.
  # Reuse the mirror already configured for the binary packages.
  uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "deps: cannot find a Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
  cat > "$src_list" <<SRC
Types: deb-src
URIs: $uri
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi

if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The fio source of exactly the installed version, configured as Debian built it.
fio_version=$(dpkg-query -W -f='${Version}' fio)
stamp=$fio_src_dir/.glusterrs-configured-$fio_version
if [ ! -f "$stamp" ]; then
  rm -rf "$fio_src_dir" "$fio_src_dir.tmp"
  mkdir -p "$fio_src_dir.tmp"
  # The deb-src index may be missing (entry added by an interrupted run): update once.
  (cd "$fio_src_dir.tmp" && apt-get source -qq --download-only "fio=$fio_version" >/dev/null 2>&1) \
    || { apt-get update -qq && (cd "$fio_src_dir.tmp" && apt-get source -qq --download-only "fio=$fio_version" >/dev/null); }
  (cd "$fio_src_dir.tmp" && dpkg-source -x --no-check ./fio_*.dsc tree >/dev/null)
  mv "$fio_src_dir.tmp/tree" "$fio_src_dir"
  rm -rf "$fio_src_dir.tmp"
  (cd "$fio_src_dir" && ./configure --disable-native >/dev/null)
  touch "$stamp"
fi
if [ $with_bench = 1 ] && ! dpkg-query -W -f='${Status}' qemu-block-extra 2>/dev/null | grep -q "install ok installed"; then
  # qemu-block-extra (block-gluster.so) must match qemu-utils exactly. Debian 12 has
  # both at 7.2; an image that carries a newer qemu-utils without the gluster module
  # gets qemu-utils moved to Debian 12's version, said here rather than done quietly.
  [ "$(id -u)" = 0 ] || { echo "deps: run as root to install qemu-block-extra" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  version=$(apt-cache policy qemu-block-extra | awk '/Candidate:/ {print $2}')
  [ -n "$version" ] && [ "$version" != "(none)" ] \
    || { echo "deps: no qemu-block-extra package in the configured Debian archive" >&2; exit 1; }
  installed_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  if [ -n "$installed_utils" ] && [ "$installed_utils" != "$version" ]; then
    echo "deps: qemu-utils $installed_utils -> $version, to match qemu-block-extra $version (the qemu peer)"
  fi
  apt-get install -y -qq --no-install-recommends --allow-downgrades \
    "qemu-block-extra=$version" "qemu-utils=$version"
fi

# Not packages, but the tests need them: say so early instead of failing obscurely later.
[ -c /dev/fuse ] || echo "deps: warning: /dev/fuse is missing (try 'modprobe fuse'); FUSE mounts will fail" >&2
getent hosts "$(hostname)" >/dev/null \
  || echo "deps: warning: host name '$(hostname)' does not resolve; gluster needs it as brick host (add it to /etc/hosts)" >&2
echo "deps: ok (fio $fio_version source in $fio_src_dir)"
