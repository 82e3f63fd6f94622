#!/usr/bin/env bash
# Installs Engram as a systemd service: the binary, the unit, a sample environment file, the model fetch
# script and the README. Run it from a release archive (make dist) or from a checkout after `make release`.
#
#   sudo ./packaging/install.sh                     # into /usr/local and /etc
#   ./packaging/install.sh --root /tmp/stage        # or DESTDIR=/tmp/stage: a staging root (packages, tests)
#   ./packaging/install.sh --prefix /usr --bin .build/release/engram
#
# Options (each also read from the environment variable in brackets):
#   --root DIR     install under DIR instead of / [DESTDIR]; nothing is started or reloaded then
#   --prefix DIR   where the program goes, default /usr/local [PREFIX]
#   --bin PATH     the engram binary, default bin/engram of the archive, else .build/release/engram [ENGRAM_BIN]
#
# What goes where (PREFIX=/usr/local):
#   PREFIX/lib/engram/engram            the binary, with its resource bundles (and, in a release archive,
#                                       the Swift runtime libraries it was built against) beside it
#   PREFIX/bin/engram                   a symbolic link to it
#   PREFIX/share/engram/                fetch-model.sh, engram.env.sample
#   PREFIX/share/doc/engram/            README.md (and LICENSE when the source has one)
#   /etc/systemd/system/engram.service  the hardened unit, its paths following PREFIX
#   /etc/engram/engram.env              created from the sample (mode 0600) only when missing: never overwritten
#
# Running it again gives the same result (an existing environment file is kept as it is). It never starts the
# service: set ENGRAM_JWT_SECRET in /etc/engram/engram.env, fetch the model, then `systemctl enable --now engram`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(dirname "$here")
destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}
bin=${ENGRAM_BIN:-}

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --root) [[ $# -ge 2 ]] || die "--root needs a directory"; destdir=$2; shift 2 ;;
    --root=*) destdir=${1#*=}; shift ;;
    --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --bin) [[ $# -ge 2 ]] || die "--bin needs a path"; bin=$2; shift 2 ;;
    --bin=*) bin=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

# PREFIX is written into the unit, so keep it to plain absolute paths.
[[ $prefix =~ ^/[A-Za-z0-9._/+-]*$ && $prefix != *//* ]] || die "PREFIX must be an absolute path of plain characters, not '$prefix'"
prefix=${prefix%/}   # "" for /
if [[ -n $destdir ]]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
  [[ $destdir != / ]] || destdir=""
fi
if [[ -z $destdir && $(id -u) -ne 0 ]]; then
  die "installing into / needs root (or give --root DIR / DESTDIR=DIR for a staging root)"
fi

if [[ -z $bin ]]; then
  for candidate in "$source_root/bin/engram" "$source_root/.build/release/engram"; do
    if [[ -x $candidate ]]; then bin=$candidate; break; fi
  done
  [[ -n $bin ]] || die "no engram binary: build one (make release) or pass --bin PATH"
fi
[[ -f $bin && -x $bin ]] || die "$bin is not an executable file"
bin=$(readlink -f "$bin")
bindir=$(dirname "$bin")

for f in engram.service engram.env.sample fetch-model.sh; do
  [[ -f $here/$f ]] || die "missing $here/$f"
done
[[ -f $source_root/README.md ]] || die "missing $source_root/README.md"

# The unit and the sample name /usr/local paths; follow PREFIX.
with_prefix() { sed "s|/usr/local/|$prefix/|g" "$1"; }

root=${destdir}
libdir=$root$prefix/lib/engram
sharedir=$root$prefix/share/engram
docdir=$root$prefix/share/doc/engram
unitdir=$root/etc/systemd/system
etcdir=$root/etc/engram

umask 022
install -d -m 0755 "$root$prefix/bin" "$root$prefix/lib" "$sharedir" "$docdir" "$unitdir"

# The program directory is rebuilt beside the old one and swapped in, so files an older version shipped
# (a runtime library, a resource) do not linger, and a running service keeps its open binary.
staging=$(mktemp -d "$root$prefix/lib/.engram.XXXXXX")
trap 'rm -rf "$staging"' EXIT
chmod 0755 "$staging"
install -m 0755 "$bin" "$staging/engram"
shopt -s nullglob
for bundle in "$bindir"/*.resources; do
  case $(basename "$bundle") in *Tests.resources) continue ;; esac
  cp -R "$bundle" "$staging/"
done
# Libraries beside the binary that it loads (a release archive's Swift runtime, found through $ORIGIN);
# anything else a build directory holds stays behind.
needed=" $(ldd "$bin" 2>/dev/null | awk '{print $1}' | tr '\n' ' ') "
for lib in "$bindir"/lib*.so "$bindir"/lib*.so.*; do
  if [[ $needed == *" $(basename "$lib") "* ]]; then install -m 0644 "$lib" "$staging/"; fi
done
shopt -u nullglob
find "$staging" -mindepth 1 -type d -exec chmod 0755 {} +
find "$staging" -mindepth 1 -type f ! -name engram -exec chmod 0644 {} +
if [[ -e $libdir ]]; then
  rm -rf "$libdir.old"
  mv "$libdir" "$libdir.old"
fi
mv "$staging" "$libdir"
rm -rf "$libdir.old"
trap - EXIT
ln -sfn ../lib/engram/engram "$root$prefix/bin/engram"

install -m 0755 "$here/fetch-model.sh" "$sharedir/fetch-model.sh"
with_prefix "$here/engram.env.sample" > "$sharedir/engram.env.sample.tmp"
chmod 0644 "$sharedir/engram.env.sample.tmp"
mv -f "$sharedir/engram.env.sample.tmp" "$sharedir/engram.env.sample"
install -m 0644 "$source_root/README.md" "$docdir/README.md"
if [[ -f $source_root/LICENSE ]]; then install -m 0644 "$source_root/LICENSE" "$docdir/LICENSE"; fi

with_prefix "$here/engram.service" > "$unitdir/engram.service.tmp"
chmod 0644 "$unitdir/engram.service.tmp"
mv -f "$unitdir/engram.service.tmp" "$unitdir/engram.service"

# /etc/engram holds the JWT secret: readable by root only (systemd reads EnvironmentFile= as root).
if [[ ! -d $etcdir ]]; then install -d -m 0750 "$etcdir"; fi
if [[ -e $etcdir/engram.env ]]; then
  echo "install.sh: kept the existing $etcdir/engram.env"
else
  (umask 077 && with_prefix "$here/engram.env.sample" > "$etcdir/engram.env")
  chmod 0600 "$etcdir/engram.env"
fi

missing=$(ldd "$libdir/engram" 2>/dev/null | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ' || true)
if [[ -n $missing ]]; then
  echo "install.sh: WARNING: libraries engram needs are missing: $missing" >&2
  echo "install.sh: on Debian/Ubuntu: apt-get install libopenblas0-pthread libsqlite3-0 libcurl4 libssl3" >&2
fi

if [[ -z $destdir && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi

echo "install.sh: installed engram into ${destdir:-/} (prefix ${prefix:-/})"
if [[ -z $destdir ]]; then
  cat <<EOF
Next:
  1. set ENGRAM_JWT_SECRET (openssl rand -base64 48), ENGRAM_ENCRYPTION_KEY (openssl rand -base64 32) and
     ENGRAM_PUBLIC_URL in /etc/engram/engram.env
  2. $prefix/share/engram/fetch-model.sh $prefix/share/engram/models/all-MiniLM-L6-v2
  3. systemctl enable --now engram && systemctl status engram
EOF
fi
