#!/usr/bin/env bash
# Builds target/deb/glusterrs_<version>_<arch>.deb with dpkg-deb from the release
# build (make deb runs `make build` first):
#   /usr/lib/<multiarch>/libglusterrs.so   the fio engine; fio finds it by name
#                                          (--ioengine=external:libglusterrs.so)
#   /usr/bin/glusterrs-bench               the benchmark harness
#   /usr/share/glusterrs/jobs/*.fio        the job files
#   /usr/share/man/man1/glusterrs-bench*.1.gz  from its clap definition
#   /usr/share/man/man7/libglusterrs.7.gz  from the engine's option table (fio --enghelp)
# Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."

bench=target/release/glusterrs-bench
engine=target/release/libglusterrs.so
for f in "$bench" "$engine"; do
  [ -f "$f" ] || { echo "deb: $f missing; run 'make build' first" >&2; exit 2; }
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "deb: no version in Cargo.toml's [workspace.package]" >&2; exit 2; }
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# The engine is built against fio's headers (FIO_IOOPS_VERSION and fio's structs),
# so it needs the fio release it was built for.
fio_version=$(dpkg-query -W -f='${Version}' fio)
fio_upstream=${fio_version%%-*}
fio_next="${fio_upstream%.*}.$(( ${fio_upstream##*.} + 1 ))"

pkg=glusterrs_${version}_${arch}
root=target/deb/$pkg
rm -rf "$root"
install -D -m 0644 "$engine" "$root/usr/lib/$multiarch/libglusterrs.so"
install -D -m 0755 "$bench" "$root/usr/bin/glusterrs-bench"
# Debian ships binaries without debug sections.
strip --strip-unneeded "$root/usr/lib/$multiarch/libglusterrs.so" "$root/usr/bin/glusterrs-bench"
install -d "$root/usr/share/glusterrs/jobs"
install -m 0644 jobs/*.fio "$root/usr/share/glusterrs/jobs/"

man1=$root/usr/share/man/man1
man7=$root/usr/share/man/man7
install -d "$man1" "$man7"
"$bench" manpages "$man1" >/dev/null
scripts/engine-manpage.sh "$engine" "$version" > "$man7/libglusterrs.7"
gzip -9n "$man1"/*.1 "$man7"/*.7

doc=$root/usr/share/doc/glusterrs
install -d "$doc"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: glusterrs

Files: *
Copyright: the glusterrs authors
License: GPL-2.0-or-later
 On Debian systems the full text of the GNU General Public License version 2 is in
 /usr/share/common-licenses/GPL-2.
COPYRIGHT

# Shared-library dependencies of both binaries, as Debian computes them.
shlibs=$(mkdir -p "target/deb/shlibs/debian" && cd target/deb/shlibs &&
  : > debian/control &&
  dpkg-shlibdeps -O --ignore-missing-info -e"../$pkg/usr/lib/$multiarch/libglusterrs.so" \
    -e"../$pkg/usr/bin/glusterrs-bench" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

install -d "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: glusterrs
Version: $version
Architecture: $arch
Maintainer: glusterrs developers <glusterrs@localhost>
Installed-Size: $size
Depends: $shlibs, fio (>= $fio_upstream), fio (<< $fio_next)
Recommends: glusterfs-client, fonts-dejavu-core
Section: utils
Priority: optional
Description: GlusterFS I/O engine for fio, and its benchmark harness
 libglusterrs is a fio I/O engine (--ioengine=external:libglusterrs.so) that
 reads and writes GlusterFS volumes through libgfapi, in Rust. glusterrs-bench
 runs fio jobs across GlusterFS setups and peers, writes tables and plots, and
 is a performance regression gate for CI (statistical verdicts, JSON, JUnit).
CONTROL
# A new library in the multiarch directory: refresh the linker cache so fio's
# dlopen("libglusterrs.so") finds it, on install and on removal.
echo "activate-noawait ldconfig" > "$root/DEBIAN/triggers"
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) > "$root/DEBIAN/md5sums"

dpkg-deb --build --root-owner-group "$root" "target/deb/$pkg.deb" >/dev/null
echo "target/deb/$pkg.deb"
