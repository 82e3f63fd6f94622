#!/usr/bin/env bash
# Assembles the release archive from a built engram binary (`make dist` builds one with
# `swift build -c release` and calls this):
#
#   packaging/make-dist.sh --bin .build/release/engram [--out dist] [--version V] [--arch A]
#
# writes OUT/engram-VERSION-linux-ARCH.tar.gz (and its .sha256) holding, under engram-VERSION-linux-ARCH/:
#   bin/engram                the binary, debug info stripped (symbols kept for backtraces)
#   bin/*.resources/          the resource bundles SwiftPM built beside it (the admin pages, the schemas)
#   bin/lib*.so               the Swift runtime libraries, when the binary links them dynamically from the
#                             toolchain (its RUNPATH has $ORIGIN, so they are found beside it)
#   packaging/                install.sh, engram.service, engram.env.sample, fetch-model.sh
#   README.md, LICENSE        (LICENSE when the checkout has one)
# VERSION defaults to `git describe --tags --always`, ARCH to `uname -m`. The archive is reproducible: names
# sorted, owner root, times from the last commit (SOURCE_DATE_EPOCH when set). DIST_GZIP_LEVEL (default 9)
# trades size for time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bin="" out="$repo/dist" version="" arch=""
die() { echo "make-dist.sh: $*" >&2; exit 1; }
usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) [[ $# -ge 2 ]] || die "--bin needs a path"; bin=$2; shift 2 ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a directory"; out=$2; shift 2 ;;
    --version) [[ $# -ge 2 ]] || die "--version needs a value"; version=$2; shift 2 ;;
    --arch) [[ $# -ge 2 ]] || die "--arch needs a value"; arch=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ -n $bin ]] || { usage >&2; die "--bin is required"; }
[[ -f $bin && -x $bin ]] || die "$bin is not an executable file"
bin=$(readlink -f "$bin")
bindir=$(dirname "$bin")
[[ -n $version ]] || version=$(git -C "$repo" describe --tags --always 2>/dev/null) || die "no --version and git describe failed"
[[ -n $arch ]] || arch=$(uname -m)
[[ $version =~ ^[A-Za-z0-9._+-]+$ ]] || die "version '$version' has characters unfit for a file name"
level=${DIST_GZIP_LEVEL:-9}
[[ $level =~ ^[1-9]$ ]] || die "DIST_GZIP_LEVEL must be 1-9"
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

command -v readelf >/dev/null || die "readelf (binutils) is needed to find the Swift runtime libraries"
name="engram-$version-linux-$arch"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
umask 022
mkdir -p "$root/bin" "$root/packaging"

if command -v strip >/dev/null; then
  strip --strip-debug -o "$root/bin/engram" "$bin"
else
  cp "$bin" "$root/bin/engram"
fi
chmod 0755 "$root/bin/engram"

shopt -s nullglob
for bundle in "$bindir"/*.resources; do
  case $(basename "$bundle") in *Tests.resources) continue ;; esac
  cp -R "$bundle" "$root/bin/"
done
shopt -u nullglob

# Swift runtime libraries found through the binary's RUNPATH (other than $ORIGIN): the toolchain's, which a
# machine without that toolchain lacks. System libraries (OpenBLAS, SQLite, curl) come from its packages.
runpaths=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' | tr ':' '\n' | grep -v '^\$ORIGIN' || true)
if [[ -n $runpaths ]]; then
  while read -r lib path; do
    [[ -n $path ]] || continue
    while read -r dir; do
      if [[ -n $dir && $(dirname "$path") == "$(readlink -f "$dir")" ]]; then cp -L "$path" "$root/bin/$lib"; fi
    done <<< "$runpaths"
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
fi

for f in install.sh engram.service engram.env.sample fetch-model.sh; do
  install -m "$([[ $f == *.sh ]] && echo 0755 || echo 0644)" "$here/$f" "$root/packaging/$f"
done
install -m 0644 "$repo/README.md" "$root/README.md"
if [[ -f $repo/LICENSE ]]; then install -m 0644 "$repo/LICENSE" "$root/LICENSE"; fi
find "$root" -type d -exec chmod 0755 {} +
find "$root/bin" -mindepth 1 -type f ! -name engram -exec chmod 0644 {} +

mkdir -p "$out"
out=$(cd "$out" && pwd)
archive="$out/$name.tar.gz"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" |
  gzip -n "-$level" > "$archive.part"
mv -f "$archive.part" "$archive"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$archive"
