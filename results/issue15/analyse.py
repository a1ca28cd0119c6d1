#!/usr/bin/env python3
"""Issue 15: false alarms and detection of the statistical gate over the runs of
measure.sh, judged by `glusterrs-bench compare` itself (its --json output).

  results/issue15/analyse.py [BENCH] > results/issue15/analysis.md

For each tolerance: a single-run alarm is a run with at least one REGRESSED
setup; the gate's alarm is what `make bench-smoke` does: a flagged run is
measured again and both are judged together (here: the next unchanged run, in
measurement order, stands in for the re-run). Planted runs: the setups the
rate_iops cap slows (bypass and bypass-custom for the bypass runs, rpc-bypass for
the rpc-bypass runs); the achieved slowdown is the capped setup's median IOPS
against its median over all unchanged runs."""
import csv, json, os, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
bench = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../target/release/glusterrs-bench")
base = os.path.join(here, "baseline9")
runs = sorted(d for d in os.listdir(here)
              if os.path.isfile(os.path.join(here, d, "results.csv")) and d != "baseline9"
              and not d.startswith("timing"))
runs.sort(key=lambda d: json.load(open(os.path.join(here, d, "run.json")))["started"])
unchanged = [d for d in runs if d.startswith("unchanged")]
planted = [d for d in runs if d.startswith("planted")]
TOLS = [0.05, 0.10, 0.15]

def judge(currents, tol):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        p = subprocess.run([bench, "compare", "--tolerance", str(tol), "--json", f.name, base]
                           + [os.path.join(here, c) for c in currents],
                           capture_output=True, text=True)
        if p.returncode not in (0, 1):
            sys.exit(f"compare failed ({p.returncode}): {p.stderr}")
        return {v["setup"]: v for v in json.load(open(f.name))["verdicts"]}

def iops(run, setup):
    with open(os.path.join(here, run, "results.csv")) as f:
        v = [float(r["iops"]) for r in csv.DictReader(f) if r["setup"] == setup and r["status"] == "ok"]
    return statistics.median(v)

def load(run):
    return open(os.path.join(here, run + ".log")).read() if os.path.exists(os.path.join(here, run + ".log")) else ""

out = []
w = out.append
w(f"# Statistical gate: false alarms and detection ({len(unchanged)} unchanged runs, "
  f"{len(planted)} planted)\n")
w(f"Baseline `baseline9` (9 repeats); every other run 5 repeats; profile `--size 256m "
  f"--setups base,fuse,bypass,bypass-custom,rpc-bypass jobs/rand-read-4k.fio`.\n")
w("## Unchanged runs\n")
w("| tolerance | runs with ≥ 1 REGRESSED (single run) | setups REGRESSED / judged | gate alarms (with the re-run) | old rule: runs with a median ratio below -tolerance |")
w("|--:|--:|--:|--:|--:|")
per_run = {}
for tol in TOLS:
    alarms, bad, judged, gate, old = 0, 0, 0, 0, 0
    for i, r in enumerate(unchanged):
        v = judge([r], tol)
        per_run[(tol, r)] = v
        reg = [s for s, x in v.items() if x["kind"] == "regressed"]
        judged += sum(1 for x in v.values() if x["kind"] != "unjudged")
        bad += len(reg)
        # The previous gate: REGRESSED when the change of the medians alone fell below -tolerance.
        if any(x["change"] is not None and x["change"] < -tol for x in v.values()):
            old += 1
        if reg:
            alarms += 1
            again = unchanged[(i + 1) % len(unchanged)]
            v2 = judge([r, again], tol)
            if any(x["kind"] == "regressed" for x in v2.values()):
                gate += 1
    w(f"| {tol:.0%} | {alarms} of {len(unchanged)} | {bad} / {judged} | {gate} of {len(unchanged)} | {old} of {len(unchanged)} |")
w("")
w("Per run at each tolerance (change of the median ratio, 95 % interval; R = REGRESSED):\n")
setups = ["fuse", "bypass", "bypass-custom", "rpc-bypass"]
w("| run | " + " | ".join(setups) + " |")
w("|:--|" + "--:|" * len(setups))
for r in unchanged:
    cells = []
    for s in setups:
        x = per_run[(0.10, r)].get(s)
        if not x or x["change"] is None:
            cells.append("—")
            continue
        iv = x["interval"]
        flags = "".join(f" R{int(t*100)}" for t in TOLS if per_run[(t, r)][s]["kind"] == "regressed")
        cells.append(f"{x['change']:+.1%} [{iv['low']:+.0%}, {iv['high']:+.0%}]{flags}")
    w(f"| {r} | " + " | ".join(cells) + " |")
w("")
w("## Planted slowdowns (`--engine-opt rate_iops=N`)\n")
w("`plantedL-S`: N = (100 - L) % of the baseline's median IOPS of setup S; `planteduL-S`: of the "
  "unchanged runs' median (measure-extra.sh). Achieved: the capped setup's median IOPS against "
  "its median over the unchanged runs.\n")
unch_iops = {s: statistics.median([iops(r, s) for r in unchanged]) for s in ["bypass", "bypass-custom", "rpc-bypass"]}
w("| run | rate_iops | setup | achieved IOPS change | ratio change (95 % interval) | p | " +
  " | ".join(f"tol {t:.0%}" for t in TOLS) + " |")
w("|:--|--:|:--|--:|--:|--:|" + ":--|" * len(TOLS))
for r in planted:
    rate = ""
    for log in ["measure.log", "measure-extra.log"]:
        if not os.path.exists(os.path.join(here, log)):
            continue
        for line in open(os.path.join(here, log)):
            if f" {r} " in line and "rate_iops=" in line:
                rate = line.rsplit("rate_iops=", 1)[1].strip()
    targets = ["rpc-bypass"] if r.endswith("rpc-bypass") else ["bypass", "bypass-custom"]
    vs = {t: judge([r], t) for t in TOLS}
    for s in targets:
        x = vs[0.10][s]
        achieved = iops(r, s) / unch_iops[s] - 1
        iv = x["interval"]
        kinds = " | ".join("**REGRESSED**" if vs[t][s]["kind"] == "regressed" else vs[t][s]["kind"] for t in TOLS)
        w(f"| {r} | {rate} | {s} | {achieved:+.1%} | {x['change']:+.1%} [{iv['low']:+.0%}, {iv['high']:+.0%}] | "
          f"{x['test']['p']:.4f} | {kinds} |")
w("")
w(f"Unchanged runs' median IOPS (the reference for 'achieved'): " +
  ", ".join(f"{s} {v:.0f}" for s, v in unch_iops.items()) + ".")
w("")
w("## Ten repeats instead of five (two runs pooled, as compare pools a re-run)\n")
pairs = [unchanged[i:i + 2] for i in range(0, len(unchanged) - 1, 2)]
w("| tolerance | unchanged pairs with ≥ 1 REGRESSED | " +
  " | ".join(f"{l} % planted pair" for l in (10, 20)) + " |")
w("|--:|--:|" + "--:|" * 2)
for tol in TOLS:
    fa = sum(1 for pr in pairs if any(x["kind"] == "regressed" for x in judge(pr, tol).values()))
    cells = []
    for level in (10, 20):
        found = []
        for target in ("bypass", "rpc-bypass"):
            pr = [f"planted{level}-{target}", f"plantedu{level}-{target}"]
            if not all(os.path.isfile(os.path.join(here, r, "results.csv")) for r in pr):
                continue
            v = judge(pr, tol)
            for st in (["bypass", "bypass-custom"] if target == "bypass" else ["rpc-bypass"]):
                x = v[st]
                found.append(f"{st} {x['change']:+.0%} [{x['interval']['low']:+.0%}, "
                             f"{x['interval']['high']:+.0%}] {'**R**' if x['kind'] == 'regressed' else 'ok'}")
        cells.append("; ".join(found) or "—")
    w(f"| {tol:.0%} | {fa} of {len(pairs)} | " + " | ".join(cells) + " |")
print("\n".join(out))
