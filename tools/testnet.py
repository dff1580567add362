#!/usr/bin/env python3
"""testnet.py — a live TimeCoin testnet of N validators on this machine (loopback ports).

  python3 tools/testnet.py up     --dir DIR [--validators 4] [--base-port 24100] [--bin build/net-real]
  python3 tools/testnet.py status --dir DIR
  python3 tools/testnet.py down   --dir DIR

up: `time-cli genesis` into DIR/net (once), one config per validator (DIR/nodeI/config.toml,
listening on base-port + I, every other validator as a peer), then starts each `timed` in the
background (its log in DIR/nodeI/timed.log, its pid in DIR/nodeI/timed.pid) and waits until every
node committed a block. status: each node's pid, liveness and last status line. down: SIGTERM to
each node it started (by its pid file) and waits for its exit (0 expected, within 5 s).
Exit status: 0 success, 1 a node failed to start, commit or stop cleanly, 2 bad usage.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time


def node_dirs(d):
    return sorted(p for p in (os.path.join(d, x) for x in os.listdir(d))
                  if os.path.basename(p).startswith("node") and os.path.isdir(p))


def last_event(log, event):
    try:
        with open(log, errors="replace") as f:
            lines = [x.strip() for x in f if f"event={event}" in x or f'"event":"{event}"' in x]
        return lines[-1] if lines else ""
    except FileNotFoundError:
        return ""


def alive(pid):
    """Whether pid runs; an exited node that its (slow) reaper has not collected yet, a zombie,
    does not count."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def read_pid(nd):
    try:
        with open(os.path.join(nd, "timed.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def up(a):
    os.makedirs(a.dir, exist_ok=True)
    net = os.path.join(a.dir, "net")
    if not os.path.exists(os.path.join(net, "genesis.json")):
        r = subprocess.run([os.path.join(a.bin, "time-cli"), "genesis", "--out", net,
                            "--validators", str(a.validators), "--wallets", "8"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 2
    ports = [a.base_port + i for i in range(a.validators)]
    for i in range(a.validators):
        nd = os.path.join(a.dir, f"node{i}")
        os.makedirs(nd, exist_ok=True)
        if alive(read_pid(nd)):
            continue
        peers = ", ".join(f'"127.0.0.1:{p}"' for j, p in enumerate(ports) if j != i)
        with open(os.path.join(nd, "config.toml"), "w") as f:
            f.write(f'data_dir = "data"\ngenesis = "../net/genesis.json"\n\n[p2p]\n'
                    f'listen = "127.0.0.1:{ports[i]}"\npeers = [{peers}]\n\n[masternode]\n'
                    f'key_file = "../net/keys/validator-{i}.json"\n')
        with open(os.path.join(nd, "timed.log"), "ab") as log:
            p = subprocess.Popen([os.path.join(a.bin, "timed"), "--config",
                                  os.path.join(nd, "config.toml")], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        with open(os.path.join(nd, "timed.pid"), "w") as f:
            f.write(f"{p.pid}\n")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if all(last_event(os.path.join(nd, "timed.log"), "block_committed") for nd in node_dirs(a.dir)):
            print(f"testnet: {a.validators} validators committing in {a.dir}")
            return status(a)
        time.sleep(0.2)
    print("testnet: no block committed on every node within 30 s", file=sys.stderr)
    status(a)
    return 1


def status(a):
    for nd in node_dirs(a.dir):
        pid = read_pid(nd)
        print(json.dumps({"node": os.path.basename(nd), "pid": pid, "alive": alive(pid),
                          "last_commit": last_event(os.path.join(nd, "timed.log"), "block_committed"),
                          "status": last_event(os.path.join(nd, "timed.log"), "status")}))
    return 0


def down(a):
    bad = 0
    for nd in node_dirs(a.dir):
        pid = read_pid(nd)
        if not alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 5
        while alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        stopped = last_event(os.path.join(nd, "timed.log"), "stopped")
        ok = not alive(pid) and "exit=0" in stopped
        bad += not ok
        print(f"testnet: {os.path.basename(nd)} {'stopped' if ok else 'did not stop cleanly'}: {stopped}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["up", "status", "down"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--validators", type=int, default=4)
    ap.add_argument("--base-port", type=int, default=24100)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "net-real"))
    a = ap.parse_args()
    if a.command != "up" and not os.path.isdir(a.dir):
        print(f"testnet: {a.dir}: no such testnet", file=sys.stderr)
        return 2
    return {"up": up, "status": status, "down": down}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
