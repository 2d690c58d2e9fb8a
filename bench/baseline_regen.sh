#!/usr/bin/env bash
# Time to regenerate a .secrets.baseline after every file changed above its
# findings: statebox's relocation by hash vs `detect-secrets scan --baseline`.
# Usage: bench/baseline_regen.sh [FILES=300] [RUNS=5]
# Needs detect-secrets 1.5.0 (pip install detect-secrets==1.5.0). statebox is
# built with the dev profile (unoptimized) unless PROFILE=release is set.
set -euo pipefail
files=${1:-300}
runs=${2:-5}
profile=${PROFILE:-dev}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v detect-secrets >/dev/null || { echo "pip install detect-secrets==1.5.0" >&2; exit 1; }

cargo build --quiet --profile "$profile" --example baseline_regen --manifest-path "$here/Cargo.toml"
target=${CARGO_TARGET_DIR:-$here/target}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
bin="$target/$dir/examples/baseline_regen"

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cd "$tree"
git init -q .
python3 - "$files" <<'PY'
import os, random, sys
random.seed(1)
b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
def rnd(chars, n): return "".join(random.choice(chars) for _ in range(n))
for i in range(int(sys.argv[1])):
    body = ["# generated file %d" % i] + ["value_%d = %d" % (k, k) for k in range(40)]
    secrets = [
        'token = "ghp_%s"' % rnd(b64[:62], 36),
        'checksum = "%s"' % rnd("0123456789abcdef", 40),
        'blob = "%s"' % rnd(b64, 40),
        'key_id = "AKIA%s"' % rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    ]
    for s in secrets:
        body.insert(random.randrange(1, len(body)), s)
    os.makedirs("pkg%d" % (i % 10), exist_ok=True)
    with open("pkg%d/mod%d.py" % (i % 10, i), "w") as f:
        f.write("\n".join(body) + "\n")
PY
git add -A
# --no-verify, here and below (statebox's rescan passes it too for such a
# baseline): otherwise AWS keys next to 40-character strings make
# detect-secrets call AWS STS for each, and the timing measures the network.
detect-secrets scan --no-verify > .secrets.baseline
# Every file changes above its findings, as after a rebase over a moved main.
for f in pkg*/*.py; do sed -i '1i import os\nimport sys' "$f"; done
cp .secrets.baseline merged.baseline

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ds_ms=$(for _ in $(seq "$runs"); do
  cp merged.baseline .secrets.baseline
  s=$(date +%s%N); detect-secrets scan --no-verify --baseline .secrets.baseline; e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
done | median)
ds_findings=$(python3 -c 'import json; print(sum(len(v) for v in json.load(open(".secrets.baseline"))["results"].values()))')
cp merged.baseline .secrets.baseline
read -r ours_ms ours_findings < <("$bin" "$tree" .secrets.baseline "$runs")

echo "tree: $files files, $ds_findings findings, median of $runs runs"
echo "detect-secrets scan --no-verify --baseline: ${ds_ms} ms"
echo "statebox relocation ($profile build): ${ours_ms} ms ($ours_findings findings)"
python3 -c "print('ratio (detect-secrets / statebox): %.1fx' % ($ds_ms / max($ours_ms, 0.001)))"
