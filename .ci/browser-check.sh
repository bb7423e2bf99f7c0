#!/usr/bin/env bash
# Opens a run report in headless Chromium and fails when the browser
# reports a console error or the page loads anything from outside the file;
# saves a screenshot to look at (target/browser-check/report.png).
#
#   .ci/browser-check.sh [REPORT.html]
#
# Without an argument it checks a fresh report of topologies/retry-storm.yaml
# (90 s simulated), made with the stormcast the tests built. Where no Chromium
# is installed it says "skipped: no chromium" and exits 0: the report's
# self-containment is also asserted by the test suite, without a browser.
# (Debian: apt-get install chromium.) Takes a few seconds.
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

if [ $# -ge 1 ]; then
  report=$1
else
  bin=""
  for b in target/ci/stormcast target/release/stormcast target/debug/stormcast; do
    if [ -x "$b" ]; then bin=$b; break; fi
  done
  if [ -z "$bin" ]; then
    cargo build --profile ci --bin stormcast -q
    bin=target/ci/stormcast
  fi
  "$bin" run topologies/retry-storm.yaml --duration 90s -q --out "$work/out" >/dev/null
  report=$work/out/report.html
fi
[ -f "$report" ] || { echo "browser-check: no file $report" >&2; exit 2; }
report=$(realpath "$report")

# A copy with a probe in <head>: it logs every failed load and every
# resource fetched (a self-contained report fetches none), then "loaded".
cat > "$work/probe.js" <<'EOF'
<script>
addEventListener('error', e => { if (e.target !== window) console.error('browser-check: failed to load ' + (e.target.src || e.target.href || e.target.tagName)); }, true);
addEventListener('load', () => { for (const r of performance.getEntriesByType('resource')) console.error('browser-check: fetched from outside the file: ' + r.name); console.log('browser-check: loaded'); });
</script>
EOF
sed "/<head>/r $work/probe.js" "$report" > "$work/probe.html"

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --hide-scrollbars --host-resolver-rules="MAP * ~NOTFOUND")
timeout 60 "$browser" "${flags[@]}" --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
  --window-size=1280,2400 --screenshot="$shots/report.png" "file://$work/probe.html" >/dev/null 2>"$work/stderr.log" || {
  echo "browser-check: chromium failed on $report:" >&2
  tail -20 "$work/stderr.log" >&2
  exit 1
}
if ! grep -q '"browser-check: loaded"' "$work/stderr.log"; then
  echo "browser-check: $report did not finish loading" >&2
  exit 1
fi
console=$(grep 'CONSOLE' "$work/stderr.log" | grep -v '"browser-check: loaded"' || true)
if [ -n "$console" ]; then
  echo "browser-check: console errors in $report:" >&2
  echo "$console" >&2
  exit 1
fi

# The page as the browser built it: the title and the inline charts are there.
timeout 60 "$browser" "${flags[@]}" --user-data-dir="$work/profile2" --dump-dom "file://$report" \
  >"$work/dom.html" 2>/dev/null
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
if ! grep -q '<h1>' "$work/dom.html" || [ "$svgs" -eq 0 ]; then
  echo "browser-check: $report has no title or no chart once rendered" >&2
  exit 1
fi
echo "browser-check: ok — $report: $svgs inline SVG figures, no console error, nothing fetched; screenshot $shots/report.png"
