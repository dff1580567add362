#!/usr/bin/env python3
"""Planted-bug score: how many of the project's planted bugs (mutants.py) the suite catches.

For each mutant: copy of the tree (once, in a temporary directory), the edit applied, an
incremental build, the suite run (ctest: the Criterion suites and the scenario catalog; with
--chaos-seeds N also a chaos sweep), the edit reverted. A mutant is killed when the build's tests
fail or time out, survives when they all pass, and is stillborn when it does not compile
(reported apart, not scored). Prints the score (killed/scored) and the survivors; --out writes
them as Markdown. Everything is bounded: a timeout per build and per suite run; the temporary
tree is removed at the end, also on an error or Ctrl-C.

    nice -n 10 python3 tools/mutants/run.py                  # every mutant
    python3 tools/mutants/run.py --only tx-sig,chain-parent   # some
    python3 tools/mutants/run.py --check                      # every edit still applies?
    python3 tools/mutants/run.py --targeted   # each adv-*.scn fails under its rule's mutant?

--targeted builds only timesim and runs, for each mutant that lists scenarios, each of those
scenarios alone: a scenario written against a rule must fail by itself when the rule goes.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mutants import MUTANTS  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(msg):
    print(msg, flush=True)


def run(cmd, cwd, timeout):
    """(returncode or None on timeout, output tail). The whole process group is killed on a
    timeout, so no test process outlives its mutant."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, text=True, errors="replace")
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return None, out or ""


def copy_tree(dst):
    """Copies every tracked file of the working tree into dst, skipping the ones whose bytes are
    already there (so a reused tree rebuilds only what changed, mutations left behind included)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        rel = f.decode()
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue  # deleted in the working tree
        out = os.path.join(dst, rel)
        if os.path.isfile(out):
            with open(src, "rb") as a, open(out, "rb") as b:
                if a.read() == b.read():
                    continue
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy(src, out)  # a fresh mtime: an older one could hide the change from ninja


def apply(tree, m):
    """The mutated text of m's file, or raises ValueError when an edit does not apply."""
    path = os.path.join(tree, m["file"])
    with open(path) as f:
        text = f.read()
    original = text
    for old, new in m["edits"]:
        n = text.count(old)
        if n != 1:
            raise ValueError("%s: edit text found %d times in %s" % (m["name"], n, m["file"]))
        text = text.replace(old, new)
    return path, original, text


def failed_tests(out):
    names = []
    for line in out.splitlines():
        s = line.strip()
        if " - " in s and ("(Failed)" in s or "(Timeout)" in s or "(SEGFAULT)" in s
                           or "(Subprocess aborted)" in s or "(Child aborted)" in s):
            names.append(s.split(" - ", 1)[1].split(" ")[0])
    return names


def suite(tree, args):
    """(verdict, detail): 'pass', or 'fail' with the failing tests."""
    cmd = ["ctest", "--test-dir", "build", "-j", str(args.jobs), "--timeout",
           str(args.test_timeout), "--stop-on-failure"]
    if args.exclude:
        cmd += ["-E", args.exclude]
    rc, out = run(cmd, tree, args.suite_timeout)
    if rc is None:
        return "fail", "suite timeout"
    if rc != 0:
        return "fail", ",".join(failed_tests(out)) or "ctest rc %d" % rc
    if args.chaos_seeds > 0:
        cmd = ["build/sim/timesim", "sweep", "scenarios/chaos.scn", "--seeds",
               "1..%d" % args.chaos_seeds, "--jobs", str(args.jobs)]
        rc, out = run(cmd, tree, args.suite_timeout)
        if rc != 0:
            return "fail", "chaos sweep" + (" timeout" if rc is None else "")
    return "pass", ""


def targeted(tree, m, args):
    """('fail', ...) when every scenario of m fails alone, else ('pass', the ones that passed)."""
    passed = []
    for sc in m["scenarios"]:
        rc, _ = run(["build/sim/timesim", "run", "scenarios/%s.scn" % sc, "--quiet"], tree,
                    args.suite_timeout)
        if rc == 0:
            passed.append(sc)
    if passed:
        return "pass", "passes: " + ",".join(passed)
    return "fail", "fails: " + ",".join(m["scenarios"])


def build(tree, args):
    cmd = ["cmake", "--build", "build", "-j", str(args.jobs)]
    if args.targeted:
        cmd += ["--target", "timesim"]
    rc, out = run(cmd, tree, args.build_timeout)
    return rc == 0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutant names")
    ap.add_argument("--check", action="store_true", help="only check that every edit applies")
    ap.add_argument("--targeted", action="store_true",
                    help="per mutant, only its own adv-*.scn scenarios, each alone")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--build-timeout", type=int, default=600, help="seconds per build")
    ap.add_argument("--suite-timeout", type=int, default=900, help="seconds per suite run")
    ap.add_argument("--test-timeout", type=int, default=300, help="seconds per ctest test")
    ap.add_argument("--exclude", default="bench_sim_smoke|plot",
                    help="ctest -E regex of tests left out (default: the benchmark and plots)")
    ap.add_argument("--chaos-seeds", type=int, default=0, help="also sweep chaos.scn 1..N")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the unmutated run (it must pass for the score to mean anything)")
    ap.add_argument("--build-type", default="RelWithDebInfo")
    ap.add_argument("--out", help="write the result as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree")
    ap.add_argument("--tree", help="reuse this copy (synced from the working tree, configured if "
                                   "needed, never removed) instead of a temporary one")
    args = ap.parse_args()

    chosen = [m for m in MUTANTS if m.get("scenarios")] if args.targeted else MUTANTS
    if args.only:
        want = set(args.only.split(","))
        chosen = [m for m in MUTANTS if m["name"] in want]
        unknown = want - {m["name"] for m in chosen}
        if unknown:
            sys.exit("unknown mutants: " + ", ".join(sorted(unknown)))
    names = [m["name"] for m in MUTANTS]
    if len(set(names)) != len(names):
        sys.exit("mutant names repeat")

    if args.check:
        bad = 0
        for m in chosen:
            try:
                apply(ROOT, m)
            except ValueError as e:
                log(str(e))
                bad += 1
        log("%d of %d mutants apply" % (len(chosen) - bad, len(chosen)))
        return 1 if bad else 0

    tree = os.path.abspath(args.tree) if args.tree else tempfile.mkdtemp(prefix="tc-mutants-")
    if args.tree:
        args.keep = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    results = []
    t_start = time.time()
    try:
        copy_tree(tree)
        log("tree copied to %s; configuring (%s)" % (tree, args.build_type))
        rc, out = 0, ""
        if not os.path.isfile(os.path.join(tree, "build", "build.ninja")):
            rc, out = run(["cmake", "-S", ".", "-B", "build", "-G", "Ninja",
                           "-DCMAKE_BUILD_TYPE=" + args.build_type], tree, args.build_timeout)
        ok = rc == 0 and build(tree, args)[0]
        if not ok:
            sys.exit("the unmutated tree does not configure or build:\n" + out[-3000:])
        if not args.no_baseline and args.targeted:
            for m in chosen:
                for sc in m["scenarios"]:
                    rc, _ = run(["build/sim/timesim", "run", "scenarios/%s.scn" % sc, "--quiet"],
                                tree, args.suite_timeout)
                    if rc != 0:
                        sys.exit("scenarios/%s.scn fails on the unmutated tree" % sc)
            log("baseline: every targeted scenario passes unmutated")
        elif not args.no_baseline:
            verdict, detail = suite(tree, args)
            if verdict != "pass":
                sys.exit("the unmutated suite fails (%s): fix that first" % detail)
            log("baseline: the unmutated suite passes (%.0f s)" % (time.time() - t_start))
        for i, m in enumerate(chosen):
            t0 = time.time()
            try:
                path, original, mutated = apply(tree, m)
            except ValueError as e:
                results.append((m, "stale", str(e), 0))
                log("[%d/%d] %-32s STALE %s" % (i + 1, len(chosen), m["name"], e))
                continue
            try:
                with open(path, "w") as f:
                    f.write(mutated)
                built, out = build(tree, args)
                if not built:
                    verdict, detail = "stillborn", "does not compile"
                else:
                    if args.targeted:
                        verdict, detail = targeted(tree, m, args)
                    else:
                        verdict, detail = suite(tree, args)
                    verdict = "killed" if verdict == "fail" else "survived"
            finally:
                with open(path, "w") as f:
                    f.write(original)
            dt = time.time() - t0
            results.append((m, verdict, detail, dt))
            log("[%d/%d] %-32s %-9s %4.0f s  %s" % (i + 1, len(chosen), m["name"],
                                                   verdict.upper(), dt, detail))
        build(tree, args)  # leave the copy as it was (useful with --keep)
    finally:
        if args.keep:
            log("kept %s" % tree)
        else:
            shutil.rmtree(tree, ignore_errors=True)
    report(results, args, time.time() - t_start)
    return 0


def report(results, args, seconds):
    killed = [r for r in results if r[1] == "killed"]
    survived = [r for r in results if r[1] == "survived"]
    other = [r for r in results if r[1] not in ("killed", "survived")]
    scored = len(killed) + len(survived)
    log("")
    log("score: %d/%d killed (%d not scored: stillborn or stale), %.0f min" %
        (len(killed), scored, len(other), seconds / 60))
    for m, _, _, _ in survived:
        log("  survivor: %-32s %s (%s)" % (m["name"], m["rule"], m["file"]))
    for m, v, d, _ in other:
        log("  %s: %s %s" % (v, m["name"], d))
    if not args.out:
        return
    with open(args.out, "w") as f:
        f.write("| mutant | file | rule broken | verdict | first failing test |\n")
        f.write("| --- | --- | --- | --- | --- |\n")
        for m, v, d, _ in results:
            f.write("| `%s` | %s | %s | %s | %s |\n" % (m["name"], m["file"], m["rule"], v,
                                                      d.replace("|", "\\|")))
        f.write("\nScore: %d/%d killed.\n" % (len(killed), scored))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
