#!/usr/bin/env bash
# make deb-test: installs the package `make deb` built, checks what it installed
# (binaries, job files, man pages, the linker cache), runs a 1-block write and a
# 1-block read on a real volume through the installed engine: the write by name
# (--ioengine=libglusterrs.so: fio dlopen()s an engine name it does not know, which
# finds /usr/lib/<multiarch> through the linker cache), the read as
# --ioengine=external:/usr/lib/<multiarch>/libglusterrs.so (fio 3.33's external:
# stat()s its argument, so it needs the path: external:libglusterrs.so would only
# look in the current directory). Then
# removes the package and checks nothing of it is left. Its volume and brick are
# its own and are removed on exit, also on failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=$(ls -t target/deb/glusterrs_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "deb-test: no target/deb/glusterrs_*.deb; run 'make deb'" >&2; exit 2; }
if dpkg-query -W -f='${Status}' glusterrs 2>/dev/null | grep -q "install ok installed"; then
  echo "deb-test: package glusterrs is already installed; remove it first (dpkg -r glusterrs)" >&2
  exit 2
fi
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=/usr/lib/$multiarch/libglusterrs.so

vol=grs-deb-$$-$RANDOM
brick_root=/var/tmp/$vol
scratch=$(mktemp -d /tmp/glusterrs-deb-test.XXXXXX)
installed=0
cleanup() {
  local st=$?
  trap - EXIT INT TERM
  if gluster --mode=script volume info "$vol" >/dev/null 2>&1; then
    gluster --mode=script volume stop "$vol" force >/dev/null 2>&1 || true
    gluster --mode=script volume delete "$vol" >/dev/null 2>&1 || true
  fi
  rm -rf "$brick_root" "$scratch"
  if [ $installed = 1 ]; then dpkg -r glusterrs >/dev/null 2>&1 || true; fi
  exit $st
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }

echo "deb-test: installing $deb"
dpkg -i "$deb"
installed=1
dpkg -L glusterrs > "$scratch/files"
for f in "$lib" /usr/bin/glusterrs-bench /usr/share/glusterrs/jobs/one-block.fio \
         /usr/share/glusterrs/jobs/rand-read-4k.fio; do
  [ -f "$f" ] || fail "$f not installed"
done
# With merged /usr the cache may name it /lib/<multiarch>/...: compare real paths.
cached_lib() { ldconfig -p | sed -n 's/^[[:space:]]*libglusterrs\.so (.*) => //p' | head -1; }
cached=$(cached_lib)
[ -n "$cached" ] && [ "$(readlink -f "$cached")" = "$(readlink -f "$lib")" ] ||
  fail "$lib not in the linker cache (ldconfig -p: ${cached:-nothing})"
glusterrs-bench --version
man -w glusterrs-bench >/dev/null || fail "no glusterrs-bench(1)"
man -w glusterrs-bench-compare >/dev/null || fail "no glusterrs-bench-compare(1)"
man -w 7 libglusterrs >/dev/null || fail "no libglusterrs(7)"
man 7 libglusterrs 2>/dev/null | grep -q "posix_read_only" || fail "libglusterrs(7) lacks the engine's options"

echo "deb-test: volume $vol"
mkdir -p "$brick_root"
gluster --mode=script volume create "$vol" "$(hostname):$brick_root/b0" force >/dev/null
gluster --mode=script volume start "$vol" >/dev/null

# One 4 KiB block written, then read back, through the installed engine.
run_fio() { # rw output ioengine
  LD_DEBUG=libs fio --name=deb-test --ioengine="$3" --volume="$vol" \
    --brick=localhost --filename=deb-test.bin --rw="$1" --bs=4k --size=4k --direct=1 \
    --output-format=json --output="$2" 2> "$2.ld" || {
    grep -v '^ *[0-9]*:' "$2.ld" >&2 || true
    cat "$2" >&2 || true
    fail "fio --rw=$1 --ioengine=$3 failed"
  }
}
run_fio write "$scratch/write.json" libglusterrs.so
run_fio read "$scratch/read.json" "external:$lib"
loaded=$(sed -n 's/.*calling init: \(.*libglusterrs\.so\)$/\1/p' "$scratch/write.json.ld" | head -1)
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$lib")" ] ||
  fail "fio did not load $lib by name (loaded: ${loaded:-nothing})"
for rw in write read; do
  bytes=$(grep -o "\"io_bytes\" : [0-9]*" "$scratch/$rw.json" | awk -v rw=$rw '
    { n++; v[n] = $3 } END { print (rw == "read") ? v[1] : v[2] }')
  [ "$bytes" = 4096 ] || fail "$rw moved $bytes bytes, not one 4 KiB block"
done
size=$(stat -c %s "$brick_root/b0/deb-test.bin")
[ "$size" = 4096 ] || fail "the brick's file is $size bytes, not 4096"
echo "deb-test: one block written (--ioengine=libglusterrs.so, loaded from $loaded) and read back (external:$lib)"

echo "deb-test: removing the package"
dpkg -r glusterrs
installed=0
dpkg-query -W -f='${Status}' glusterrs 2>/dev/null | grep -q "install ok installed" &&
  fail "glusterrs still installed"
left=()
while IFS= read -r f; do
  [ -f "$f" ] || [ -L "$f" ] && left+=("$f")
done < "$scratch/files"
[ ${#left[@]} = 0 ] || fail "left behind: ${left[*]}"
[ -z "$(cached_lib)" ] || fail "libglusterrs.so still in the linker cache: $(cached_lib)"
echo "deb-test: ok: installed, ran a 1-block job by name, removed cleanly"
