#!/usr/bin/env python3
"""plot.py -- gnuplot figures of one simulator run (docs/SIMULATOR.md: trace, timeline, summary).

    python3 tools/plot.py --trace T.txt --timeline TL.txt [--summary S.json] --out DIR
    python3 tools/plot.py --run FILE.scn [--seed N] [--timesim PATH] --out DIR

The second form runs `timesim run FILE.scn --trace DIR/trace.txt --timeline --quiet` itself,
keeps DIR/timeline.txt (stdout, summary line included) and DIR/summary.json, then plots.

Writes into DIR, each figure with the gnuplot script and the data file it reads, so a researcher
can edit the script and rerun `gnuplot NAME.gp` inside DIR:

  heights.png       committed height per node over simulated time (timeline `commit` records),
                    view changes as points on the node's line, faults as labelled vertical lines
                    (crash, restart, partition and heal with the partition shaded, pause and
                    resume, clock jumps, Byzantine turns); a node's line breaks while it is down.
  finality_cdf.png  CDF of the finality latency of the wallets' uncontested transfers, from the
                    timeline's `final tx=<txid prefix> after <ms> ms` records (one per transfer,
                    written when the first honest node reports it final -- the summary's
                    definition), with the p50/p99 marked; the trace's `submit` lines give the
                    number submitted.
  messages.png      frames delivered to nodes per message type: the trace's `recv` lines.

Exit codes: 0 plots written; 1 gnuplot failed, or with --run the run itself failed (plots are
still written); 2 bad usage or bad input (`file:line: message` on stderr).
Standard library only; gnuplot (Debian gnuplot-nox) draws with pngcairo when it has it.
"""

import argparse
import bisect
import json
import math
import os
import re
import shutil
import subprocess
import sys

# ---- errors ----


class BadInput(Exception):
    """Input the tool cannot read: reported as `file:line: message`, exit 2."""


def bad(path, line_no, message):
    where = f"{path}:{line_no}" if line_no else path
    return BadInput(f"{where}: {message}")


def open_text(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return f.read().splitlines()
    except UnicodeDecodeError as e:
        raise bad(path, 0, f"not a text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise bad(path, 0, e.strerror) from None


# ---- the trace: `<global ms> <node> <what> [details]` ----

TRACE_TOKEN = re.compile(r"[!-~]+$")  # printable, no spaces: node names and words
MSG_TYPE = re.compile(r"(?:[A-Z][A-Z0-9_]*|\?)$")  # "?": the frame's type byte is unknown
TXID_PREFIX = re.compile(r"[0-9a-f]{16}$")


def parse_trace_line(path, no, line, run):
    """Adds one trace line to run (the dict read_trace builds); raises BadInput on a bad line."""
    parts = line.split(" ")
    if len(parts) < 3 or not parts[0].isdigit() or not all(TRACE_TOKEN.match(p) for p in parts):
        raise bad(path, no, f"expected `<ms> <node> <what> [details]`, got {line[:80]!r}")
    t_ms, node, what, rest = int(parts[0]), parts[1], parts[2], parts[3:]
    if t_ms < run["last_ms"]:
        raise bad(path, no, f"time {t_ms} ms goes back (previous line: {run['last_ms']} ms)")
    run["last_ms"] = t_ms
    if node != "*":
        run["nodes"].setdefault(node, t_ms)
    if what == "recv":  # sender, message type, bytes, frame hash
        if len(rest) != 4 or not MSG_TYPE.match(rest[1]) or not rest[2].isdigit():
            raise bad(path, no, f"expected `recv <sender> <TYPE> <bytes> <hash>`, got "
                                f"{line[:80]!r}")
        count, size = run["messages"].get(rest[1], (0, 0))
        run["messages"][rest[1]] = (count + 1, size + int(rest[2]))
    elif what == "submit":  # txid prefix, bytes
        if len(rest) != 2 or not TXID_PREFIX.match(rest[0]) or not rest[1].isdigit():
            raise bad(path, no, f"expected `submit <16 hex> <bytes>`, got {line[:80]!r}")
        run["submits"][rest[0]] = t_ms


def read_trace(path):
    run = {"last_ms": 0, "nodes": {}, "messages": {}, "submits": {}, "lines": 0}
    for no, line in enumerate(open_text(path), 1):
        parse_trace_line(path, no, line, run)
        run["lines"] = no
    if run["lines"] == 0:
        raise bad(path, 0, "the trace is empty")
    return run


# ---- the timeline: `[   12.345s] node  text`, then (optionally) the summary JSON line ----

TIMELINE_LINE = re.compile(r"\[\s*(\d+)\.(\d{3})s\] (\S+)\s+(.*)$")
RECORDS = {  # first word -> the pattern the whole text must match (others are ignored)
    "commit": re.compile(r"commit h=(\d+) r=(\d+) "),
    "view-change": re.compile(r"view-change h=(\d+) round (\d+) -> (\d+) \(([a-z?-]+)\)$"),
    "final": re.compile(r"final tx=([0-9a-f]{16}) after (\d+) ms((?: [a-z]+)*)$"),
    "CRASH": re.compile(r"CRASH( lose-writes armed| strikes)?"),
    "RESTART": re.compile(r"RESTART"),
    "PARTITION": re.compile(r"PARTITION (.+)$"),
    "HEAL:": re.compile(r"HEAL"),
    "PAUSE": re.compile(r"PAUSE for (\d+) ms$"),
    "RESUME": re.compile(r"RESUME$"),
    "CLOCK": re.compile(r"CLOCK jumps ([+-]\d+) ms$"),
    "BYZANTINE": re.compile(r"BYZANTINE from now: (\S+)$"),
}


def fault_label(kind, node, m):
    """Short text of a fault for the heights plot."""
    if kind == "CRASH":
        return f"crash {node}" + (" (lose-writes)" if m.group(1) == " lose-writes armed" else "")
    if kind == "PARTITION":
        text = m.group(1)
        return "partition " + (text if len(text) <= 36 else text[:33] + "...")
    return {
        "RESTART": f"restart {node}",
        "HEAL:": "heal",
        "PAUSE": f"pause {node} {m.group(1)} ms" if m.lastindex else f"pause {node}",
        "RESUME": f"resume {node}",
        "CLOCK": f"clock {node} {m.group(1)} ms" if m.lastindex else f"clock {node}",
        "BYZANTINE": f"byzantine {node}: {m.group(1)}" if m.lastindex else f"byzantine {node}",
    }[kind]


def add_record(path, no, t_ms, node, text, tl):
    word = text.split(" ", 1)[0]
    pattern = RECORDS.get(word)
    if pattern is None:
        return  # locks, syncs, bans, violations...: not plotted
    m = pattern.match(text)
    if m is None:
        raise bad(path, no, f"a `{word}` record in an unexpected form: {text[:80]!r}")
    if word == "commit":
        tl["events"].append((t_ms, node, "commit", int(m.group(1))))
    elif word == "view-change":
        tl["view_changes"].append((t_ms, node, int(m.group(1)), int(m.group(2)), int(m.group(3))))
    elif word == "final":
        tags = set(m.group(3).split())
        tl["finals"].append((m.group(1), int(m.group(2)), tags))
    elif word == "CRASH" and m.group(1) == " strikes":
        tl["events"].append((t_ms, node, "down", 0))
    else:
        if word == "CRASH" and m.group(1) is None:
            tl["events"].append((t_ms, node, "down", 0))
        elif word == "RESTART":
            tl["events"].append((t_ms, node, "up", 0))
        tl["faults"].append((t_ms, word, fault_label(word, node, m)))


def read_timeline(path):
    tl = {"events": [], "view_changes": [], "finals": [], "faults": [], "summary": None,
          "last_ms": 0}
    for no, line in enumerate(open_text(path), 1):
        if not line.strip():
            continue
        if line.startswith("{"):
            tl["summary"] = parse_summary_text(path, no, line)
            continue
        m = TIMELINE_LINE.match(line)
        if m is None:
            raise bad(path, no, f"expected `[   S.mmms] node  text` or a summary line, got "
                                f"{line[:80]!r}")
        t_ms = int(m.group(1)) * 1000 + int(m.group(2))
        tl["last_ms"] = max(tl["last_ms"], t_ms)
        add_record(path, no, t_ms, m.group(3), m.group(4), tl)
    return tl


def parse_summary_text(path, no, text):
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as e:
        raise bad(path, no, f"bad summary JSON ({e.msg}, column {e.colno})") from None
    if not isinstance(summary, dict) or "sim_ms" not in summary:
        raise bad(path, no, "a JSON line that is not a run summary (no sim_ms)")
    return summary


def read_summary(path):
    lines = [(no, s) for no, s in enumerate(open_text(path), 1) if s.strip()]
    if not lines:
        raise bad(path, 0, "empty summary file")
    no, text = lines[-1]  # the summary is the last line of timesim's stdout
    return parse_summary_text(path, no, text)


# ---- gnuplot ----


def terminal():
    """The `set terminal` line, with {size} to fill in: pngcairo when this gnuplot has it,
    else the libgd png terminal; None without a png terminal."""
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    listing = out.stdout + out.stderr
    if re.search(r"^\s*pngcairo\s", listing, re.M):
        return "set terminal pngcairo size {size} noenhanced font 'Sans,11'"
    if re.search(r"^\s*png\s", listing, re.M):
        return "set terminal png size {size} noenhanced"
    return None


def gp_quote(text):
    """A gnuplot double-quoted string: backslash escapes work, so a newline splits a title."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def run_gnuplot(out_dir, name, script):
    """Writes NAME.gp into out_dir and runs it there. Returns None or an error message."""
    with open(os.path.join(out_dir, name + ".gp"), "w", encoding="utf-8") as f:
        f.write(script)
    try:
        done = subprocess.run(["gnuplot", name + ".gp"], cwd=out_dir, capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"gnuplot {name}.gp: {e}"
    if done.returncode != 0:
        return f"gnuplot {name}.gp failed: {done.stderr.strip()[-400:]}"
    return None


def write_data(out_dir, name, text):
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        f.write(text)


def node_key(name):
    """n2 before n10; validators (n) before fullnodes (f); a twin nKb after nK."""
    m = re.match(r"([a-z]+)(\d+)(.*)$", name)
    if not m:
        return (2, name, 0, "")
    return (0 if m.group(1) == "n" else 1, m.group(1), int(m.group(2)), m.group(3))


# ---- heights.png ----

# Distinct, dark enough on white; red is kept for the fault lines.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#7b4173", "#3182bd"]


def height_series(tl, trace, end_ms):
    """Per node, a list of segments of (t_ms, height) steps; a crash ends a segment, a restart
    opens the next at the height the node had (its store keeps what it committed)."""
    names = set(trace["nodes"]) | {e[1] for e in tl["events"] if e[1] != "*"}
    series = {n: {"segments": [[(trace["nodes"].get(n, 0), 0)]], "height": 0, "up": True}
              for n in names}
    for t_ms, node, kind, height in sorted(tl["events"], key=lambda e: e[0]):
        s = series[node]
        if kind == "commit" and height > s["height"]:
            s["height"] = height
            if s["up"]:
                s["segments"][-1].append((t_ms, height))
        elif kind == "down" and s["up"]:
            s["segments"][-1].append((t_ms, s["height"]))
            s["up"] = False
        elif kind == "up" and not s["up"]:
            s["segments"].append([(t_ms, s["height"])])
            s["up"] = True
    for s in series.values():
        if s["up"]:
            s["segments"][-1].append((end_ms, s["height"]))
    return {n: series[n] for n in sorted(names, key=node_key)}


def height_when(segments, t_ms):
    """A node's height at t_ms from its segments; None while it is down."""
    for seg in segments:
        if seg[0][0] <= t_ms <= seg[-1][0]:
            k = bisect.bisect_right([t for t, _ in seg], t_ms) - 1
            return seg[k][1]
    return None


def leader_steps(series):
    """(t_ms, height) each time the highest committed height of any node grows."""
    points = sorted((t, h) for s in series.values() for seg in s["segments"] for t, h in seg)
    steps, best = [], -1
    for t, h in points:
        if h > best:
            best = h
            steps.append((t, h))
    return steps


def lag_grace_ms(steps):
    """Nodes commit a block a few ms apart; a lag shorter than this is not drawn. Half the
    leader's median block time, at most 250 ms."""
    gaps = sorted(b[0] - a[0] for a, b in zip(steps, steps[1:]))
    return min(250, gaps[len(gaps) // 2] // 2) if gaps else 0


def lag_rows(series, end_ms):
    """Blocks behind the leader of `grace` ms ago, per node: the segments while it is up, and
    those while it is down (its height frozen), each a list of (t_ms, blocks)."""
    steps = leader_steps(series)
    grace = lag_grace_ms(steps)
    step_t = [t for t, _ in steps]

    def leader_at(t):
        k = bisect.bisect_right(step_t, t - grace) - 1
        return steps[k][1] if k >= 0 else 0

    def rows(lo, hi, own):  # own: sorted (t, height) changes of the node within [lo, hi]
        times = sorted({lo, hi} | {t for t, _ in own} |
                       {t + grace for t in step_t if lo <= t + grace <= hi})
        own_t = [t for t, _ in own]
        return [(t, max(0, leader_at(t) - own[bisect.bisect_right(own_t, t) - 1][1]))
                for t in times]

    up, down = {}, {}
    for name, s in series.items():
        segs = s["segments"]
        up[name] = [rows(seg[0][0], seg[-1][0], seg) for seg in segs]
        gaps = [(seg[-1], nxt[0][0]) for seg, nxt in zip(segs, segs[1:])]
        if not s["up"]:
            gaps.append((segs[-1][-1], end_ms))
        if gaps:
            down[name] = [rows(last[0], until, [last]) for last, until in gaps]
    return up, down, grace


def blocks_text(header, per_node):
    """gnuplot index blocks, one per node; a blank line breaks a line while the node is down."""
    lines = header[:]
    for name, segs in per_node.items():
        lines += ["", "", f"# node {name}"]
        for k, seg in enumerate(segs):
            lines += [""] * (k > 0) + [f"{t / 1000:.3f} {v}" for t, v in seg]
    return "\n".join(lines) + "\n"


def view_change_rows(tl):
    """t_s, the node's height before the view change (so the point sits on its line), etc."""
    commits = {}
    for t, n, kind, h in sorted(tl["events"], key=lambda e: e[0]):
        if kind == "commit":
            commits.setdefault(n, []).append((t, h))
    rows = ["# view changes: t_s height_before node at_height round_from round_to"]
    for t_ms, node, height, r_from, r_to in tl["view_changes"]:
        below = [h for t, h in commits.get(node, []) if t <= t_ms]
        rows.append(f"{t_ms / 1000:.3f} {max(below, default=0)} {node} {height} {r_from} {r_to}")
    return "\n".join(rows) + "\n"


def place_labels(items, x_span):
    """Rotated fault labels hang from the top of the panel, left of their line; one that would
    overlap an earlier one goes right of its line, or lower. items: sorted (x_s, text).
    Returns (x_s, text, right_side, y_graph). Sizes are rough: a label is about 1.3% of the
    width wide and 1.4% of the panel's height per character long (font 10 on 1200x850)."""
    width, per_char, placed = 0.013 * x_span, 0.014, []
    for x, text in items:
        tall = min(0.9, per_char * len(text))
        for right, y in ((False, 0.98), (True, 0.98), (False, 0.5), (True, 0.5)):
            lo, hi = (x, x + width) if right else (x - width, x)
            if all(hi <= a or lo >= b or y - tall >= top or top - size >= y
                   for a, b, top, size in placed):
                break
        placed.append((lo, hi, y, tall))
        yield x, text, right, y


def fault_decorations(tl, labels, x_span):
    """gnuplot commands: a dashed vertical line per fault time, with (labels) one label per time
    (faults at the same ms share it), partitions shaded until the heal."""
    by_time, cmds, opened = {}, [], None
    for t_ms, _, label in tl["faults"]:
        by_time.setdefault(t_ms, []).append(label)
    for t_ms, kind, _ in sorted(tl["faults"], key=lambda f: f[0]):
        if kind == "PARTITION" and opened is None:
            opened = t_ms
        elif kind == "HEAL:" and opened is not None:
            cmds.append(f"set object rect from {opened / 1000:.3f}, graph 0 to "
                        f"{t_ms / 1000:.3f}, graph 1 behind fc rgb '#fde9d0' fs solid noborder")
            opened = None
    if opened is not None:
        cmds.append(f"set object rect from {opened / 1000:.3f}, graph 0 to graph 1, graph 1 "
                    f"behind fc rgb '#fde9d0' fs solid noborder")
    items = [(t_ms / 1000, ", ".join(text)) for t_ms, text in sorted(by_time.items())]
    for x, _ in items:
        cmds.append(f"set arrow from {x:.3f}, graph 0 to {x:.3f}, graph 1 nohead "
                    f"lc rgb '#b03030' dt 2 lw 1.5")
    for x, text, right, y in (place_labels(items, x_span) if labels else []):
        cmds.append(f"set label {gp_quote(text)} at first {x:.3f}, graph {y} right rotate by 90 "
                    f"offset {1.1 if right else -0.6},0 tc rgb '#b03030' font ',10' front")
    return cmds


def heights_script(term, tl, names, down_names, grace, title, x_span):
    """Two panels sharing the time axis: heights (top) and blocks behind the leader."""
    key = "set key outside right top title 'node'" if len(names) <= 24 else "unset key"
    colors = [f"set linetype {k + 1} lc rgb '{PALETTE[k % len(PALETTE)]}' lw 2"
              for k in range(len(names))]
    cmds = [term.format(size="1200,850"), "set output 'heights.png'"]
    cmds += colors + ["set multiplot", f"set title {gp_quote(title)}", "set grid", key,
                      "set lmargin at screen 0.07", "set rmargin at screen 0.86",
                      "set tmargin at screen 0.90", "set bmargin at screen 0.36",
                      "set format x ''", "set ylabel 'committed height'",
                      "set yrange [0:*]", "set offsets 0, 0, graph 0.08, 0"]
    cmds += fault_decorations(tl, True, x_span)
    plots = [f"'heights.dat' index {k} using 1:2 with steps lt {k + 1} title {gp_quote(n)}"
             for k, n in enumerate(names)]
    if tl["view_changes"]:
        plots.append("'view_changes.dat' using 1:2 with points pt 7 ps 1.3 lc rgb 'black' "
                     "title 'view change'")
    if tl["faults"]:  # a legend entry for the dashed fault lines
        plots.append("NaN with lines lc rgb '#b03030' dt 2 lw 1.5 title 'fault'")
    cmds.append("plot " + ", \\\n     ".join(plots))
    cmds += ["unset title", "unset label", "unset arrow", "unset object", "unset key",
             "set tmargin at screen 0.30", "set bmargin at screen 0.08", "set format x '%g'",
             "set xlabel 'simulated time (s)'",
             f"set ylabel \"blocks behind the highest\\nnode (of {grace} ms before)\"",
             "set yrange [0:*]", "set offsets 0, 0, graph 0.1, 0",
             "set label 'dotted: node down' at screen 0.87, 0.2 font ',10'"]
    cmds += fault_decorations(tl, False, x_span)
    plots = [f"'lag.dat' index {k} using 1:2 with steps lt {k + 1} notitle"
             for k in range(len(names))]
    plots += [f"'lag_down.dat' index {k} using 1:2 with steps lt {names.index(n) + 1} dt 3 notitle"
              for k, n in enumerate(down_names)]
    cmds.append("plot " + ", \\\n     ".join(plots))
    return "\n".join(cmds + ["unset multiplot"]) + "\n"


def plot_heights(out_dir, term, tl, trace, summary):
    end_ms = max(tl["last_ms"], trace["last_ms"], summary.get("sim_ms", 0) if summary else 0)
    series = height_series(tl, trace, end_ms)
    write_data(out_dir, "heights.dat", blocks_text(
        ["# committed height per node: one gnuplot index block per node (heights.gp)",
         "# t_s height"], {n: s["segments"] for n, s in series.items()}))
    up, down, grace = lag_rows(series, end_ms)
    write_data(out_dir, "lag.dat", blocks_text(
        [f"# blocks behind the highest node of {grace} ms before, per node: t_s blocks"], up))
    write_data(out_dir, "lag_down.dat", blocks_text(
        ["# the same while a node is down (its height frozen), for nodes that went down"], down))
    write_data(out_dir, "view_changes.dat", view_change_rows(tl))
    at = len({(h, r) for _, _, h, r, _ in tl["view_changes"]})
    title = f"committed height per node: {len(tl['view_changes'])} view changes (at {at} " \
            f"height/round pairs), {len(tl['faults'])} faults"
    if summary and summary.get("scenario"):
        title = f"{summary['scenario']}\n" + title
    script = heights_script(term, tl, list(series), list(down), grace, title, end_ms / 1000)
    return run_gnuplot(out_dir, "heights", script)


# ---- finality_cdf.png ----


def nearest_rank(sorted_values, q_ppm):
    """The simulator's quantile (sim/expect.c): nearest rank, integer arithmetic."""
    n = len(sorted_values)
    rank = (q_ppm * n + 999999) // 1000000
    return sorted_values[max(rank, 1) - 1]


def finality_sets(tl, trace, summary):
    """Latencies of uncontested and of contested transfers, and warnings when the timeline,
    the trace and the summary disagree."""
    plain, contested, warnings = [], [], []
    for txid, latency_ms, tags in tl["finals"]:
        if "registration" in tags or "refused" in tags:
            continue
        (contested if "contested" in tags else plain).append(latency_ms)
        if trace["submits"] and txid not in trace["submits"]:
            warnings.append(f"final tx {txid} has no submit line in the trace")
    plain.sort()
    contested.sort()
    want = (summary or {}).get("finality_ms")
    if want and plain:
        got = {"count": len(plain), "p50": nearest_rank(plain, 500000),
               "p99": nearest_rank(plain, 990000), "max": plain[-1]}
        diff = {k: (got[k], want[k]) for k in got if k in want and got[k] != want[k]}
        if diff:
            warnings.append(f"timeline finality differs from the summary's (ours, summary): {diff}")
    return plain, contested, warnings[:5]


def cdf_rows(values):
    n = len(values)
    return [f"{max(v, 1)} {(k + 1) / n:.6f}" for k, v in enumerate(values)]


def finality_script(term, plain, contested, title):
    cmds = [term.format(size="1200,700"), "set output 'finality_cdf.png'",
            f"set title {gp_quote(title)}", "set ylabel 'fraction of transfers final'",
            "set grid", "set yrange [0:1.02]", "set key right bottom"]
    if not plain and not contested:
        cmds += ["set xlabel 'finality latency (ms)'", "set xrange [0:1]",
                 "set label 'no finalized transfers in the timeline' at graph 0.5, 0.5 center",
                 "plot NaN notitle"]
        return "\n".join(cmds) + "\n"
    every = plain + contested
    log = max(every) >= 10 * max(min(every), 1)
    cmds.append("set logscale x" if log else "set xrange [0:*]")
    cmds.append("set xlabel 'finality latency (ms%s)'" %
                (", log scale; 0 ms drawn at 1 ms" if log and min(every) == 0 else
                 ", log scale" if log else ""))
    plots = []
    if plain:
        for q, name in ((500000, "p50"), (990000, "p99")):
            x = max(nearest_rank(plain, q), 1)
            cmds.append(f"set arrow from {x}, graph 0 to {x}, graph 1 nohead dt 3 lc rgb 'gray40'")
            cmds.append(f"set label '{name} = {nearest_rank(plain, q)} ms' at {x}, graph "
                        f"{0.5 if name == 'p50' else 0.35} left offset 0.5,0 font ',10'")
        plots.append(f"'finality.dat' index 0 using 1:2 with steps lw 2 lc rgb '#1f5fa8' "
                     f"title 'uncontested ({len(plain)})'")
    if contested:
        plots.append(f"'finality.dat' index 1 using 1:2 with steps lw 2 lc rgb '#c0392b' "
                     f"title 'contested, the spend that won ({len(contested)})'")
    return "\n".join(cmds) + "\nplot " + ", \\\n     ".join(plots) + "\n"


def plot_finality(out_dir, term, tl, trace, summary):
    plain, contested, warnings = finality_sets(tl, trace, summary)
    for w in warnings:
        print(f"plot.py: warning: {w}", file=sys.stderr)
    if not tl["finals"] and trace["submits"]:
        print("plot.py: warning: the timeline has no `final tx=` records although the trace "
              "submits transfers (a timesim older than this tool?)", file=sys.stderr)
    data = ["# finality latency CDF: latency_ms (0 written as 1) fraction_final",
            "# index 0: uncontested transfers (the summary's finality_ms set)"]
    data += cdf_rows(plain) or ["NaN NaN"]
    data += ["", "", "# index 1: contested transfers (half of a double spend) that became final"]
    data += cdf_rows(contested) or ["NaN NaN"]
    write_data(out_dir, "finality.dat", "\n".join(data) + "\n")
    never = len(trace["submits"]) - len(tl["finals"])
    title = (f"finality latency: {len(tl['finals'])} of {len(trace['submits'])} submitted "
             f"transactions final ({max(never, 0)} not final by the end"
             f"{', the losing halves of double spends included' if contested else ''})\n"
             f"from submission to the first honest node's TX_FINALIZED")
    return run_gnuplot(out_dir, "finality_cdf", finality_script(term, plain, contested, title))


# ---- messages.png ----


def plot_messages(out_dir, term, trace):
    rows = sorted(trace["messages"].items(), key=lambda kv: (-kv[1][0], kv[0]))
    data = ["# frames delivered to nodes (trace `recv` lines): type count bytes"]
    data += [f"{'unknown' if name == '?' else name} {count} {size}"
             for name, (count, size) in rows] or ["none 0 0"]
    write_data(out_dir, "messages.dat", "\n".join(data) + "\n")
    total = sum(c for c, _ in trace["messages"].values())
    counts = [c for c, _ in trace["messages"].values()] or [1]
    log = max(counts) >= 100 * min(counts)
    title = f"messages delivered per type: {total} frames in all (the trace's recv lines)"
    cmds = [term.format(size="1200,700"), "set output 'messages.png'",
            f"set title {gp_quote(title)}",
            "set style data histograms", "set style fill solid 0.8 border -1",
            "set boxwidth 0.8", "set xtics rotate by -35 nomirror", "set grid ytics",
            "unset key", "set xlabel 'message type'",
            "set ylabel 'frames delivered%s'" % (" (log scale)" if log else "")]
    cmds.append("set logscale y; set yrange [0.8:*]" if log else "set yrange [0:*]")
    cmds.append("set offsets 0, 0, graph 0.1, 0")
    plot = ("plot 'messages.dat' using 2:xtic(1) lc rgb '#3a7d44', \\\n"
            "     '' using 0:2:2 with labels offset 0,0.7 font ',9' notitle")
    return run_gnuplot(out_dir, "messages", "\n".join(cmds) + "\n" + plot + "\n")


# ---- the command line ----


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="plot.py", description="gnuplot figures of one timesim run: heights.png, "
        "finality_cdf.png, messages.png, with their .gp scripts and .dat files, in --out.",
        epilog="exit codes: 0 plots written; 1 gnuplot failed or (--run) the run failed its "
        "expectations; 2 bad usage or bad input")
    p.add_argument("--trace", help="the trace timesim run --trace wrote")
    p.add_argument("--timeline", help="timesim run --timeline's stdout (summary line optional)")
    p.add_argument("--summary", help="the summary JSON line (default: the timeline's last line)")
    p.add_argument("--run", metavar="FILE.scn", help="run this scenario first, into --out")
    p.add_argument("--seed", type=int, help="with --run: the run's seed (default: the scenario's)")
    p.add_argument("--timesim", help="with --run: the timesim program (default: "
                   "build/sim/timesim of this tree)")
    p.add_argument("--out", required=True, help="folder for the figures (created)")
    a = p.parse_args(argv)
    if a.run is None and (a.trace is None or a.timeline is None):
        p.error("give --trace and --timeline, or --run")
    if a.run is not None and (a.trace or a.timeline or a.summary):
        p.error("--run writes its own trace, timeline and summary")
    if a.run is None and (a.seed is not None or a.timesim):
        p.error("--seed and --timesim go with --run")
    return a


def run_timesim(a):
    """Runs the scenario with --trace and --timeline into a.out; returns timesim's exit code."""
    timesim = a.timesim or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "build", "sim", "timesim")
    if not os.access(timesim, os.X_OK):
        raise BadInput(f"{timesim}: no timesim program there (give --timesim PATH)")
    a.trace = os.path.join(a.out, "trace.txt")
    a.timeline = os.path.join(a.out, "timeline.txt")
    cmd = [timesim, "run", a.run, "--trace", a.trace, "--timeline", "--quiet"]
    if a.seed is not None:
        cmd += ["--seed", str(a.seed)]
    print("plot.py: " + " ".join(cmd), file=sys.stderr)
    with open(a.timeline, "w", encoding="utf-8") as out:
        status = subprocess.run(cmd, stdout=out).returncode
    if status not in (0, 1):
        raise BadInput(f"{a.run}: timesim exited {status} (see its message above)")
    with open(a.timeline, encoding="utf-8") as f:
        last = [s for s in f.read().splitlines() if s.startswith("{")][-1:]
    with open(os.path.join(a.out, "summary.json"), "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in last))
    return status


def main(argv):
    a = parse_args(argv)
    try:
        status = 0
        if a.run:
            os.makedirs(a.out, exist_ok=True)
            status = run_timesim(a)
        trace = read_trace(a.trace)
        tl = read_timeline(a.timeline)
        summary = read_summary(a.summary) if a.summary else tl["summary"]
        os.makedirs(a.out, exist_ok=True)
    except BadInput as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"plot.py: {e.filename or a.out}: {e.strerror}", file=sys.stderr)
        return 2
    term = terminal() if shutil.which("gnuplot") else None
    if term is None:
        print("plot.py: gnuplot with a png terminal is needed (Debian: gnuplot-nox)",
              file=sys.stderr)
        return 1
    errors = [e for e in (plot_heights(a.out, term, tl, trace, summary),
                          plot_finality(a.out, term, tl, trace, summary),
                          plot_messages(a.out, term, trace)) if e]
    for e in errors:
        print(f"plot.py: {e}", file=sys.stderr)
    if not errors:
        print(f"plot.py: wrote heights.png, finality_cdf.png, messages.png in {a.out}",
              file=sys.stderr)
    if status == 1:
        print("plot.py: the run failed its expectations or invariants (see the summary)",
              file=sys.stderr)
    return 1 if errors or status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
