"""Run the peer simulators and stormcast on the same models; print a table.

Models: `mm1` (M/M/1, lambda 800/s, mean service 1 ms) and `jackson` (the
open feed-forward network of topologies/jackson.yaml). Peers: SimPy and Ciw
(Python scripts in this folder), SimCore (the Rust crate in simcore_mm1/,
M/M/1 only, built here if needed) and stormcast
(`<repo>/target/release/stormcast run <repo>/topologies/<model>.yaml --json
--duration <D>s --seed <S>`; its wall time is measured from outside around
the whole process, nothing subtracted).

The engines differ ~100x in speed, so each (peer, model) has its own simulated
duration, chosen so that one run takes a few seconds on a small machine; the
comparison is of rates (customers per wall second), not totals. Override with
`--duration PEER:MODEL=SECONDS` (repeatable) or scale all with `--scale`.

A missing stormcast binary or topology is not an error: its row says
"stormcast: not built" (or "no topology") and the ratio column "pending".
Nothing in the stormcast crate depends on this script.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from peerlib import (JACKSON_THEORY_MEAN_MS, JACKSON_THEORY_P99_MS, MM1_THEORY_MEAN_MS,
                     MM1_THEORY_P99_MS)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Derivations are in peerlib.py: M/M/1 mean 1/(mu - lambda) = 5 ms, p99
# ln(100) * 5 ms = 23.03 ms; Jackson mean 1/150 s + 0.6 * 25 ms +
# 0.4 * (6.25 ms + 0.5 * 75 ms) = 39.17 ms, p99 238.63 ms.
THEORY = {
    "mm1": {"mean_ms": MM1_THEORY_MEAN_MS, "p99_ms": MM1_THEORY_P99_MS},
    "jackson": {"mean_ms": JACKSON_THEORY_MEAN_MS, "p99_ms": JACKSON_THEORY_P99_MS},
}

PEERS = ["simpy", "ciw", "simcore", "stormcast"]
MODELS = ["mm1", "jackson"]

# Simulated seconds per (peer, model): about 3 wall seconds each on the
# 2-core shared machine measured on 2026-11-23 (M/M/1: SimPy ~135 k
# customers/s, Ciw ~75 k/s, SimCore ~11 M/s; Jackson: SimPy ~70 k/s, Ciw
# ~34 k/s; stormcast is aimed at several M/s). Jackson customers cost more
# events (2.4 station visits each) and arrive at 100/s instead of 800/s.
DEFAULT_DURATIONS = {
    ("simpy", "mm1"): 500.0,
    ("ciw", "mm1"): 300.0,
    ("simcore", "mm1"): 40000.0,
    ("stormcast", "mm1"): 20000.0,
    ("simpy", "jackson"): 2000.0,
    ("ciw", "jackson"): 1000.0,
    ("stormcast", "jackson"): 100000.0,
}

SCRIPTS = {
    ("simpy", "mm1"): "mm1_simpy.py",
    ("ciw", "mm1"): "mm1_ciw.py",
    ("simpy", "jackson"): "jackson_simpy.py",
    ("ciw", "jackson"): "jackson_ciw.py",
}


def default_python():
    venv = HERE / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def build_simcore():
    """Build simcore_mm1 in release mode; return the binary's path or an error string."""
    manifest = HERE / "simcore_mm1" / "Cargo.toml"
    cmd = ["cargo", "build", "--release", "--manifest-path", str(manifest),
           "--message-format=json-render-diagnostics"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
    except FileNotFoundError:
        return None, "cargo not found"
    if proc.returncode != 0:
        return None, f"cargo build failed (exit {proc.returncode})"
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg.get("target", {}).get("name") == "simcore_mm1"):
            return msg["executable"], None
    return None, "cargo build gave no simcore_mm1 executable"


def run_json(cmd, timeout):
    """Run a command; return (parsed last JSON line of stdout, wall seconds, error)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout} s"
    except OSError as e:
        return None, None, str(e)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [""]
        return None, wall, f"exit {proc.returncode}: {tail[0][:120]}"
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if not lines:
        return None, wall, "no output"
    try:
        # stormcast prints one (possibly pretty-printed) object; peers one line.
        try:
            return json.loads(proc.stdout), wall, None
        except json.JSONDecodeError:
            return json.loads(lines[-1]), wall, None
    except json.JSONDecodeError as e:
        return None, wall, f"bad JSON: {e}"


def run_peer(peer, model, duration, seed, python, simcore_bin, timeout):
    """One run of a Python or SimCore peer; returns a row dict."""
    row = {"peer": peer, "model": model, "duration_s": duration}
    if peer == "simcore":
        if simcore_bin is None:
            row["error"] = "simcore: not built"
            return row
        cmd = [simcore_bin, repr(duration), str(seed)]
    else:
        cmd = [python, str(HERE / SCRIPTS[(peer, model)]), repr(duration), "--seed", str(seed)]
    out, _, err = run_json(cmd, timeout)
    if err:
        row["error"] = f"{peer}: {err}"
        return row
    row.update(customers=out["customers"], mean_ms=out["mean_ms"],
               mean_ci95_ms=out.get("mean_ci95_ms"), p99_ms=out.get("p99_ms"),
               wall_s=out["wall_s"])
    return row


def run_stormcast(repo, model, duration, seed, timeout):
    row = {"peer": "stormcast", "model": model, "duration_s": duration}
    binary = repo / "target" / "release" / "stormcast"
    topology = repo / "topologies" / f"{model}.yaml"
    if not binary.exists():
        row["error"] = "stormcast: not built"
        return row
    if not topology.exists():
        row["error"] = f"stormcast: no topologies/{model}.yaml"
        return row
    cmd = [str(binary), "run", str(topology), "--json", "--duration", f"{duration:g}s",
           "--seed", str(seed)]
    out, wall, err = run_json(cmd, timeout)
    if err:
        row["error"] = f"stormcast: {err}"
        return row
    workloads = out.get("workloads") or {}
    if len(workloads) != 1:
        row["error"] = f"stormcast: expected one workload, found {len(workloads)}"
        return row
    (w,) = workloads.values()
    lat = w.get("latency_ms") or {}
    row.update(customers=w.get("offered"), mean_ms=lat.get("mean"), mean_ci95_ms=None,
               p99_ms=lat.get("p99"), wall_s=wall)
    return row


def best_of(rows):
    """Of repeated runs, keep the fastest (least disturbed by other load)."""
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return rows[-1]
    return min(ok, key=lambda r: r["wall_s"])


def rate(row):
    if "error" in row or not row.get("wall_s"):
        return None
    return row["customers"] / row["wall_s"]


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def table(rows, markdown):
    storm = {r["model"]: rate(r) for r in rows if r["peer"] == "stormcast"}
    head = ["peer", "model", "sim s", "customers", "mean ms", "±95%", "theory ms", "p99 ms",
            "theory p99", "wall s", "customers/s", "stormcast ÷ peer"]
    body = []
    for r in rows:
        th = THEORY[r["model"]]
        if "error" in r:
            body.append([r["peer"], r["model"], fmt(r["duration_s"], "g"), r["error"], "", "",
                         fmt(th["mean_ms"], ".2f"), "", fmt(th["p99_ms"], ".2f"), "", "",
                         "pending" if r["peer"] == "stormcast" else "-"])
            continue
        rr = rate(r)
        s = storm.get(r["model"])
        if r["peer"] == "stormcast":
            ratio = "1.00"
        elif s is None:
            ratio = "pending"
        else:
            ratio = f"{s / rr:.2f}"
        body.append([r["peer"], r["model"], fmt(r["duration_s"], "g"), str(r["customers"]),
                     fmt(r["mean_ms"], ".3f"), fmt(r.get("mean_ci95_ms"), ".3f"),
                     fmt(th["mean_ms"], ".2f"), fmt(r.get("p99_ms"), ".2f"),
                     fmt(th["p99_ms"], ".2f"), fmt(r["wall_s"], ".3f"), fmt(rr, ",.0f"), ratio])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
    else:
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def parse_duration_override(text):
    try:
        key, secs = text.split("=", 1)
        peer, model = key.split(":", 1)
        value = float(secs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PEER:MODEL=SECONDS, got {text!r}")
    if (peer, model) not in DEFAULT_DURATIONS:
        raise argparse.ArgumentTypeError(f"unknown pair {peer}:{model}")
    if not value > 0:
        raise argparse.ArgumentTypeError("duration must be positive")
    return (peer, model), value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"comma-separated subset of {','.join(PEERS)}")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--duration", action="append", type=parse_duration_override, default=[],
                    metavar="PEER:MODEL=SECONDS", help="simulated seconds for one pair")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every simulated duration (e.g. 0.1 for a quick check)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repo", type=Path, default=REPO,
                    help="stormcast checkout holding target/release/stormcast and topologies/"
                         " (default: this repository)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per pair; the fastest is kept (default 1)")
    ap.add_argument("--python", default=default_python(),
                    help="interpreter with simpy and ciw (default: .venv if present)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run cargo build for simcore_mm1 (skip it if absent)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--json-out", type=Path, help="also write all rows as JSON here")
    args = ap.parse_args()

    peers = [p for p in args.peers.split(",") if p]
    models = [m for m in args.models.split(",") if m]
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}")
    for m in models:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}")
    if args.repeat < 1 or not args.scale > 0:
        ap.error("--repeat must be >= 1 and --scale > 0")
    durations = dict(DEFAULT_DURATIONS)
    durations.update(dict(args.duration))

    simcore_bin = None
    if "simcore" in peers and "mm1" in models:
        if args.no_build:
            target = Path(os.environ.get("CARGO_TARGET_DIR", HERE / "simcore_mm1" / "target"))
            candidate = target / "release" / "simcore_mm1"
            simcore_bin = str(candidate) if candidate.exists() else None
        else:
            simcore_bin, err = build_simcore()
            if err:
                print(f"simcore: {err}", file=sys.stderr)

    rows = []
    for model in models:
        for peer in peers:
            if (peer, model) not in durations:
                continue  # SimCore has only the M/M/1 model.
            d = durations[(peer, model)] * args.scale
            runs = []
            for _ in range(args.repeat):
                print(f"running {peer} {model} for {d:g} simulated s ...", file=sys.stderr)
                if peer == "stormcast":
                    runs.append(run_stormcast(args.repo, model, d, args.seed, args.timeout))
                else:
                    runs.append(run_peer(peer, model, d, args.seed, args.python, simcore_bin,
                                         args.timeout))
                if "error" in runs[-1]:
                    break
            rows.append(best_of(runs))

    print(table(rows, args.markdown))
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
