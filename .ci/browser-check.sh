#!/usr/bin/env bash
# Opens a report in headless Chromium and fails when the browser reports a
# console error or the page loads anything from outside the file; saves a
# screenshot to look at.
#
#   .ci/browser-check.sh [REPORT.html]
#
# Without an argument it checks two fresh reports made with the stormcast the
# tests built: the run report of topologies/retry-storm.yaml (90 s simulated;
# screenshot target/browser-check/report.png) and the experiment report of
# experiments/retry-policies.yaml reduced to 2 replications of 90 s
# (target/browser-check/experiment-report.png). With an argument it checks
# that file (target/browser-check/report.png). Where no Chromium is
# installed it says "skipped: no chromium" and exits 0: the reports'
# self-containment is also asserted by the test suite, without a browser.
# (Debian: apt-get install chromium.) Takes some seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
  echo "browser-check: skipped: no chromium"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shots=target/browser-check
mkdir -p "$shots"

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --hide-scrollbars --host-resolver-rules="MAP * ~NOTFOUND")

# A copy with a probe in <head>: it logs every failed load and every
# resource fetched (a self-contained report fetches none), then "loaded".
cat > "$work/probe.js" <<'EOF'
<script>
addEventListener('error', e => { if (e.target !== window) console.error('browser-check: failed to load ' + (e.target.src || e.target.href || e.target.tagName)); }, true);
addEventListener('load', () => { for (const r of performance.getEntriesByType('resource')) console.error('browser-check: fetched from outside the file: ' + r.name); console.log('browser-check: loaded'); });
</script>
EOF

# check REPORT.html SCREENSHOT.png TAG: loads the report with the probe,
# fails on a console error or a fetch, then checks the rendered page.
check() {
  local report=$1 shot=$2 n=$3 console svgs
  [ -f "$report" ] || { echo "browser-check: no file $report" >&2; exit 2; }
  report=$(realpath "$report")
  sed "/<head>/r $work/probe.js" "$report" > "$work/probe-$n.html"
  timeout 60 "$browser" "${flags[@]}" --user-data-dir="$work/profile-$n" --enable-logging=stderr --v=0 \
    --window-size=1280,2400 --screenshot="$shot" "file://$work/probe-$n.html" >/dev/null 2>"$work/stderr-$n.log" || {
    echo "browser-check: chromium failed on $report:" >&2
    tail -20 "$work/stderr-$n.log" >&2
    exit 1
  }
  if ! grep -q '"browser-check: loaded"' "$work/stderr-$n.log"; then
    echo "browser-check: $report did not finish loading" >&2
    exit 1
  fi
  console=$(grep 'CONSOLE' "$work/stderr-$n.log" | grep -v '"browser-check: loaded"' || true)
  if [ -n "$console" ]; then
    echo "browser-check: console errors in $report:" >&2
    echo "$console" >&2
    exit 1
  fi
  # The page as the browser built it: the title and the inline charts are there.
  timeout 60 "$browser" "${flags[@]}" --user-data-dir="$work/dom-profile-$n" --dump-dom "file://$report" \
    >"$work/dom-$n.html" 2>/dev/null
  svgs=$(grep -o '<svg' "$work/dom-$n.html" | wc -l)
  if ! grep -q '<h1>' "$work/dom-$n.html" || [ "$svgs" -eq 0 ]; then
    echo "browser-check: $report has no title or no chart once rendered" >&2
    exit 1
  fi
  echo "browser-check: ok — $report: $svgs inline SVG figures, no console error, nothing fetched; screenshot $shot"
}

if [ $# -ge 1 ]; then
  check "$1" "$shots/report.png" given
  exit 0
fi

bin=""
for b in target/ci/stormcast target/release/stormcast target/debug/stormcast; do
  if [ -x "$b" ]; then bin=$b; break; fi
done
if [ -z "$bin" ]; then
  cargo build --profile ci --bin stormcast -q
  bin=target/ci/stormcast
fi
"$bin" run topologies/retry-storm.yaml --duration 90s -q --out "$work/run" >/dev/null
check "$work/run/report.html" "$shots/report.png" run

# The bundled experiment, reduced: 2 replications of 90 s (its variants, SLO
# and fault as they are; its topology found from the temporary copy).
sed -e 's/^replications: .*/replications: 2/' -e 's/^duration: .*/duration: 90s/' \
  -e "s|^topology: \.\./|topology: $PWD/|" experiments/retry-policies.yaml > "$work/retry-policies.yaml"
status=0
"$bin" experiment "$work/retry-policies.yaml" -q --out "$work/experiment" >/dev/null || status=$?
# Exit status 1 says no point met the SLOs: a result, not a failure.
if [ "$status" -gt 1 ]; then
  echo "browser-check: stormcast experiment failed (exit status $status)" >&2
  exit 1
fi
check "$work/experiment/report.html" "$shots/experiment-report.png" experiment
