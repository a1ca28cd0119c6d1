#!/usr/bin/env bash
# Renders libglusterrs.7, the fio engine's man page, from the engine's own option
# table as fio reports it (`fio --enghelp=ENGINE` lists the options,
# `fio --enghelp=ENGINE,OPTION` gives each one's type, default and values), so the
# page cannot drift from the code.
#   scripts/engine-manpage.sh ENGINE.so VERSION > libglusterrs.7
set -euo pipefail
engine=${1:?usage: engine-manpage.sh ENGINE.so VERSION}
version=${2:?usage: engine-manpage.sh ENGINE.so VERSION}
[ -f "$engine" ] || { echo "engine-manpage: $engine: no such file" >&2; exit 2; }

# roff-safe text: backslashes escaped, a leading . or ' neutralised.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

list=$(fio --enghelp="$engine")
[ -n "$list" ] || { echo "engine-manpage: fio --enghelp=$engine printed no options" >&2; exit 1; }

cat <<ROFF
.TH LIBGLUSTERRS 7 "" "glusterrs $version" "glusterrs"
.SH NAME
libglusterrs \- GlusterFS I/O engine for fio, in Rust
.SH SYNOPSIS
.B fio
.B \-\-ioengine=libglusterrs.so
.RI \-\-volume= VOLUME
.RI \-\-brick= HOST
.RI [ OPTION = VALUE ...]
.I jobfile
.SH DESCRIPTION
libglusterrs is a fio I/O engine that reads and writes files of a GlusterFS volume
through libgfapi, without a FUSE mount. Installed in the system library directory
(the Debian package puts it in /usr/lib/<multiarch>), fio finds it by name:
\fB\-\-ioengine=libglusterrs.so\fP, which fio dlopen()s through the linker cache.
fio 3.33's \fBexternal:\fP prefix insists on the path of an existing file, so with
it give the full path, e.g.
\fB\-\-ioengine=external:/usr/lib/x86_64\-linux\-gnu/libglusterrs.so\fP.
It can also open a brick directory in-process
(\fBposix=\fP, rpc\-bypass) or use a hand\-written client volfile (\fBvolfile=\fP).
File names are paths in the volume; \fBgluster://HOST[:PORT]/VOLUME/PATH\fP names
work too.
.SH OPTIONS
Engine options, as \fBfio \-\-enghelp=libglusterrs.so\fP reports them:
ROFF
# Each option line is "name<spaces>: description".
while IFS= read -r line; do
  name=${line%%:*}
  name=${name%"${name##*[![:space:]]}"}
  [ -n "$name" ] || continue
  echo ".TP"
  printf '.B %s\n' "$(printf '%s\n' "$name" | esc)"
  # Details: the lines after the first of --enghelp=ENGINE,NAME, "key: value".
  # fio's "(opt=bla)" after a type is its syntax example, not this option's.
  fio --enghelp="$engine,$name" | sed -e 's/^[[:space:]]*//' -e 's/ (opt=[^)]*)//' | {
    read -r first || true
    printf '%s\n' "${first#*: }" | esc
    while IFS= read -r detail; do
      [ -n "$detail" ] || continue
      echo ".br"
      case $detail in
        :*) printf '%s\n' "    ${detail#: }" | esc ;;
        *) printf '%s\n' "$detail" | esc ;;
      esac
    done
  }
done <<<"$list"

cat <<'ROFF'
.SH EXAMPLE
Random 4 KiB reads of one file on volume \fBvol\fP served by this host:
.PP
.nf
fio \-\-name=rr \-\-ioengine=libglusterrs.so \-\-volume=vol \e
    \-\-brick=localhost \-\-rw=randread \-\-bs=4k \-\-size=64m \-\-iodepth=32 \e
    \-\-direct=1
.fi
.SH FILES
.TP
.I /usr/share/glusterrs/jobs/
The job files the glusterrs benchmarks run.
.SH SEE ALSO
.BR fio (1),
.BR glusterrs\-bench (1),
.BR gluster (8)
ROFF
