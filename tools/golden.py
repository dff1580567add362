#!/usr/bin/env python3
"""golden.py -- the catalog's golden fingerprints (tests/golden/fingerprints.txt).

    python3 tools/golden.py check   [--timesim PATH] [--summaries FILE] [--jobs N] [--golden F]
    python3 tools/golden.py refresh [--timesim PATH] [--jobs N] [--golden F]

Every scenario of the catalog (scenarios/*.scn) run at its own seed has a fingerprint: a hash of
every input the simulated cores received (docs/SIMULATOR.md). The golden file pins one line per
scenario, `FILE SEED FINGERPRINT`, so that any change of behaviour shows up as a changed line in
review, and a change meant to be neutral (a refactor, another compiler) is proved neutral.

`check` runs the catalog (`timesim run scenarios --jobs N --quiet`; default timesim
build/sim/timesim) or reads the summary lines of a run that already happened (--summaries, what
ctest's golden_fingerprints test does after scenario_catalog), and compares every scenario's
seed and fingerprint with the golden file. On a difference it lists each changed, new or missing
scenario and prints the command that refreshes the file.

`refresh` runs the catalog and rewrites the golden file, printing every change as old -> new.
Run it only on purpose, for a deliberate behaviour change, and commit the file with the change
that caused it (its message says why the fingerprints moved).

Exit codes: 0 equal (check) or written (refresh); 1 fingerprints differ (check); 2 bad usage,
a missing program, or a catalog run that produced no summary for some scenario.
Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(ROOT, "scenarios")
GOLDEN = os.path.join(ROOT, "tests", "golden", "fingerprints.txt")
HEADER = """\
# Golden fingerprints of the scenario catalog: every scenarios/*.scn at its own seed.
# One line per scenario: FILE SEED FINGERPRINT (the summary's "fingerprint").
# Checked by ctest (golden_fingerprints) and by tools/test.sh with a clang build.
# Never edit by hand: `python3 tools/golden.py refresh` rewrites it and prints old -> new.
"""


class Bad(Exception):
    """Bad usage or input: exit 2 with the message."""


def catalog_files():
    """The catalog's scenario file names, sorted (timesim runs a folder in this order)."""
    return sorted(n for n in os.listdir(CATALOG) if n.endswith(".scn") and len(n) > 4)


def read_golden(path):
    """{file: (seed, fingerprint)} from the golden file; {} when it does not exist yet."""
    pins = {}
    try:
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return pins
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        if len(words) != 3 or not words[1].isdigit() or len(words[2]) != 64:
            raise Bad(f"{path}:{no}: expected FILE SEED FINGERPRINT, got {line!r}")
        if words[0] in pins:
            raise Bad(f"{path}:{no}: {words[0]} pinned twice")
        pins[words[0]] = (int(words[1]), words[2])
    return pins


def parse_summaries(text, origin):
    """{file name: (seed, fingerprint, verdict)} from timesim's summary lines."""
    runs = {}
    for no, line in enumerate(text.splitlines(), 1):
        if not line.startswith("{"):
            continue
        try:
            s = json.loads(line)
            name = os.path.basename(s["file"])
            runs[name] = (int(s["seed"]), str(s["fingerprint"]), str(s["verdict"]))
        except (ValueError, KeyError, TypeError) as e:
            raise Bad(f"{origin}:{no}: not a timesim summary line ({e})") from None
    return runs


def run_catalog(timesim, jobs):
    """Runs the whole catalog at its own seeds; returns its summaries."""
    if not os.access(timesim, os.X_OK):
        raise Bad(f"{timesim}: no such program (build it: cmake --build build)")
    cmd = [timesim, "run", CATALOG, "--jobs", str(jobs), "--quiet"]
    print("golden: running " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, errors="replace", check=False)
    if done.returncode not in (0, 1):
        raise Bad(f"{timesim} run exited {done.returncode}: bad input or a crash")
    return parse_summaries(done.stdout, "timesim run")


def read_summaries(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return parse_summaries(f.read(), path)
    except OSError as e:
        raise Bad(f"{path}: {e.strerror}") from None


def complete(runs):
    """Every catalog scenario must have produced a summary (a crash leaves none)."""
    missing = [n for n in catalog_files() if n not in runs]
    if missing:
        raise Bad("no summary for " + ", ".join(missing) + " (did the run crash?)")


def differences(pins, runs):
    """One line per scenario whose pin and run differ, in name order."""
    lines = []
    for name in sorted(set(pins) | set(runs)):
        if name not in runs:
            lines.append(f"  {name}: pinned, but no longer in the catalog")
        elif name not in pins:
            seed, fp, _ = runs[name]
            lines.append(f"  {name}: new, not pinned (seed {seed}, {fp})")
        elif pins[name] != runs[name][:2]:
            (old_seed, old_fp), (seed, fp, _) = pins[name], runs[name]
            seeds = f"seed {old_seed} -> {seed}" if old_seed != seed else f"seed {seed}"
            lines.append(f"  {name} ({seeds}): {old_fp} -> {fp}")
    return lines


def check(args):
    pins = read_golden(args.golden)
    if not pins:
        raise Bad(f"{shown(args.golden)}: missing or empty (python3 tools/golden.py refresh)")
    runs = read_summaries(args.summaries) if args.summaries else run_catalog(args.timesim, args.jobs)
    complete(runs)
    diff = differences(pins, runs)
    if not diff:
        print(f"golden: all {len(runs)} catalog fingerprints match {shown(args.golden)}")
        return 0
    print(f"golden: {len(diff)} of {len(set(pins) | set(runs))} catalog scenarios differ "
          f"from {shown(args.golden)} (pinned -> this run):")
    print("\n".join(diff))
    print("If the change of behaviour is deliberate, refresh the pins and commit them with it,")
    print("saying in the commit message why the fingerprints moved:")
    print("  python3 tools/golden.py refresh" + options_of(args))
    return 1


def refresh(args):
    pins = read_golden(args.golden)
    runs = run_catalog(args.timesim, args.jobs)
    complete(runs)
    runs = {n: runs[n] for n in catalog_files()}  # a scenario run from elsewhere is not pinned
    failing = sorted(n for n, r in runs.items() if r[2] != "pass")
    body = "".join(f"{n} {runs[n][0]} {runs[n][1]}\n" for n in sorted(runs))
    os.makedirs(os.path.dirname(os.path.abspath(args.golden)), exist_ok=True)
    with open(args.golden + ".tmp", "w", encoding="utf-8") as f:
        f.write(HEADER + body)
    os.replace(args.golden + ".tmp", args.golden)
    diff = differences(pins, runs)
    print(f"golden: wrote {shown(args.golden)}: {len(runs)} scenarios, {len(diff)} changed "
          f"(old -> new){':' if diff else ''}")
    if diff:
        print("\n".join(diff))
    if failing:
        print("golden: warning: pinned scenarios that fail their expectations: " +
              ", ".join(failing), file=sys.stderr)
    return 0


def default_timesim():
    return os.path.join(ROOT, "build", "sim", "timesim")


def shown(path):
    """A path as a reader of the output wants it: relative to the tree when inside it."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith("..") else rel


def options_of(args):
    """The options a refresh needs to reproduce this check (the defaults need none)."""
    words = ""
    if os.path.abspath(args.timesim) != default_timesim():
        words += f" --timesim {args.timesim}"
    if os.path.abspath(args.golden) != GOLDEN:
        words += f" --golden {args.golden}"
    return words


def main(argv):
    p = argparse.ArgumentParser(prog="golden.py", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["check", "refresh"])
    p.add_argument("--timesim", default=default_timesim(), help="the timesim program to run")
    p.add_argument("--summaries", help="check: read these summary lines instead of running")
    p.add_argument("--golden", default=GOLDEN, help="the golden file (tests only)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="scenarios at once")
    args = p.parse_args(argv)
    if args.command == "refresh" and args.summaries:
        p.error("refresh always runs the catalog itself")
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    try:
        return check(args) if args.command == "check" else refresh(args)
    except Bad as e:
        print(f"golden.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
