#!/usr/bin/env python3
"""live_test.py — timed on a live 4-validator testnet on loopback (issue 10), and its config.

  usage: live_test.py --bin DIR --src DIR [--only config|testnet] [--keep]

Parts, each bounded in time (the whole run stops itself after DEADLINE_S):
  config   the sample config and other valid spellings read the same by timed --check-config
           and Python's tomllib; a table of bad configs exits 2 with the right LINE:COLUMN;
           usage errors exit 2; --help is a manual.
  testnet  time-cli genesis; 4 timed validators (one logging JSON); blocks commit on every node
           (read from the logs) with one hash per height across nodes; the live client submits
           transfers over P2P and every node logs each one finalized; a second timed on a data
           folder is refused; hostile connections (garbage, an oversize length prefix, a
           handshake that never finishes, idle connections, a forged AUTH, a replayed HELLO,
           bad signatures, malformed frames, a PING flood) get their disconnect, ban or drop
           while heights grow;
           kill -9 of a validator at random moments (--kills, or until --blocks) loses no
           committed block and leaves a store that passes timed --check-store;
           SIGTERM stops every node with exit 0 within 5 s.
Loopback only; it kills only the processes it started (by pid). Python standard library only.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib

from livecheck import CHECKS, check, free_ports

DEADLINE_S = 100
PROCS = []  # every Popen this test started, killed at exit if still running


def run(args, timeout=10, **kw):
    """Runs a program of ours to its end; one that overruns timeout is killed (exit -9)."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(args, -9, out, f"timed out after {timeout} s")


# ---- config ----

def expected_from_toml(path, data):
    """What timed --check-config should print for the keys the file sets, from tomllib."""
    base = os.path.dirname(path)
    flat = {}

    def walk(prefix, t):
        for k, v in t.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(key, v)
            else:
                flat[key] = v

    walk("", data)
    for k in ("data_dir", "genesis", "masternode.key_file"):
        if k in flat and not flat[k].startswith("/"):
            flat[k] = os.path.join(base, flat[k]) if base else flat[k]
    if flat.get("rpc.password"):
        flat["rpc.password"] = "***"
    return flat


VALID_SPELLINGS = {
    "dotted.toml": 'data_dir = "d"\ngenesis = "net/genesis.json"\np2p.listen = "127.0.0.1:1"\n'
                   'p2p.peers = ["127.0.0.1:2"]\nlog.level = "debug"\nlimits.frame_size_max = 65536\n',
    "inline.toml": 'data_dir = \'d\'\ngenesis = """net/genesis.json"""\np2p = { listen = "127.0.0.1:1", '
                   'max_inbound = 3 }\nlog = { format = "json" }\n',
    "bool.toml": 'data_dir = "d"\ngenesis = "net/genesis.json"\n[verify]\npool = false\n',
    "multiline.toml": 'data_dir = "d"\ngenesis = "net/genesis.json"\n[p2p]\npeers = [\n  "127.0.0.1:2", # a\n'
                      '  \'127.0.0.1:3\',\n]\n[rpc]\nuser = "u"\npassword = "p w"\n'
                      '[store]\nmap_size_mib = 0x40\n',
}

# (text, line, column, part of the message): every bad config exits 2 with FILE:LINE:COLUMN.
HEAD = 'data_dir = "d"\ngenesis = "net/genesis.json"\n'
BAD_CONFIGS = [
    (HEAD + "[p2p]\nmax_inbound = \"x\"\n", 4, 15, "must be an integer"),
    (HEAD + "foo = 1\n", 3, 1, "unknown key foo"),
    (HEAD + "[p2p]\nlisten = \"127.0.0.1:1\"\nmax_outbond = 3\n", 5, 1, "unknown key p2p.max_outbond"),
    (HEAD + "[p2p]\npeers = [\"127.0.0.1:2\", 7]\n", 4, 25, "each peer must be a string"),
    (HEAD + "[p2p]\npeers = \"127.0.0.1:2\"\n", 4, 9, "must be an array"),
    (HEAD + "[p2p]\nlisten = \"localhost\"\n", 4, 10, "expected \"IPV4:PORT\""),
    (HEAD + "[p2p]\nmax_inbound = 5000\n", 4, 15, "must be in 0..1024"),
    (HEAD + "[p2p]\nmax_inbound = -1\n", 4, 15, "must be in 0..1024"),
    (HEAD + "[limits]\nframe_size_max = 8388608\n", 4, 18, "must be in 1024..4194304"),
    (HEAD + "[log]\nlevel = \"loud\"\n", 4, 9, "must be one of"),
    (HEAD + "network = \"devnet\"\n", 3, 11, "must be one of"),
    (HEAD + "[store]\nmap_size_mib = 1.5\n", 4, 16, "not a float"),
    (HEAD + "[masternode]\nkey_file = true\n", 4, 12, "must be a string"),
    (HEAD + "[log]\nformat = 1979-05-27\n", 4, 10, "not a date-time"),
    (HEAD + "[p2p]\nmax_inbound = 1\nmax_inbound = 2\n", 5, 15, "redefine"),
    ('data_dir = "d"\ngenesis = \n', 2, 11, ""),
    ('data_dir = "d"\n[p2p\n', 2, 5, ""),
    ('genesis = "net/genesis.json"\n', 1, 1, "missing required key data_dir"),
    (HEAD + "[p2p]\n  [p2p.x]\n  y = 1\n", 4, 8, "unknown key p2p.x"),
    (HEAD + "verify.pool = 1\n", 3, 15, "must be a boolean, not an integer"),
]


def part_config(a, tmp):
    timed = os.path.join(a.bin, "timed")
    run([os.path.join(a.bin, "time-cli"), "genesis", "--out", os.path.join(tmp, "net")])
    sample = os.path.join(a.src, "net-real", "config.sample.toml")
    files = {"sample.toml": open(sample).read(), **VALID_SPELLINGS}
    for name, text in files.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        with open(path, "rb") as f:
            want = expected_from_toml(path, tomllib.load(f))
        # --check-config reads the genesis and the key file too: tmp/net holds both.
        r = run([timed, "--config", path, "--check-config"])
        if not check(f"{name}: --check-config exits 0", r.returncode == 0, r.stderr.strip()):
            continue
        got = json.loads(r.stdout)
        diff = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
        check(f"{name}: timed reads what tomllib reads ({len(want)} keys)", not diff, str(diff))
    for k, (text, line, col, msg) in enumerate(BAD_CONFIGS):
        path = os.path.join(tmp, f"bad{k}.toml")
        with open(path, "w") as f:
            f.write(text)
        r = run([timed, "--config", path, "--check-config"])
        err = r.stderr.strip()
        try:
            with open(path, "rb") as f:
                tomllib.load(f)
            toml_ok = True
        except tomllib.TOMLDecodeError:
            toml_ok = False
        good = r.returncode == 2 and err.startswith(f"{path}:{line}:{col}: ") and msg in err
        check(f"bad config {k} exits 2 at {line}:{col} (tomllib {'accepts' if toml_ok else 'refuses'} "
              f"its syntax)", good, f"exit {r.returncode}: {err}")
    r = run([timed, "--config", os.path.join(tmp, "absent.toml"), "--check-config"])
    check("a missing config file exits 2", r.returncode == 2 and "absent.toml" in r.stderr, r.stderr.strip())
    r = run([timed])
    check("no --config exits 2", r.returncode == 2, r.stderr.strip())
    r = run([timed, "--config"])
    check("--config without a value exits 2", r.returncode == 2)
    r = run([timed, "--bogus"])
    check("an unknown option exits 2", r.returncode == 2)
    r = run([timed, "--help"])
    check("--help exits 0 and is a manual", r.returncode == 0 and all(
        s in r.stdout for s in ("SYNOPSIS", "EXIT STATUS", "SIGNALS", "FILES", "data_dir")))


# ---- the testnet ----

KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def read_events(path):
    """Every log line of a node as a dict, from the text (key=value) or the JSON form."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
                elif line.startswith("ts="):
                    out.append({k: v.strip('"') for k, v in KV.findall(line)})
    except FileNotFoundError:
        pass
    return out


class Node:
    def __init__(self, a, tmp, i, ports, fmt):
        self.a, self.i, self.port = a, i, ports[i]
        self.dir = os.path.join(tmp, f"node{i}")
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "timed.log")
        self.cfg = os.path.join(self.dir, "config.toml")
        peers = ", ".join(f'"127.0.0.1:{p}"' for j, p in enumerate(ports) if j != i)
        with open(self.cfg, "w") as f:
            f.write(f'data_dir = "data"\ngenesis = "../net/genesis.json"\n'
                    f'[p2p]\nlisten = "127.0.0.1:{self.port}"\npeers = [{peers}]\n'
                    f'[masternode]\nkey_file = "../net/keys/validator-{i}.json"\n'
                    f'[rpc]\nlisten = ""\n'  # the RPC test (tests/live/rpc_test.py) serves it
                    f'[log]\nformat = "{fmt}"\n'
                    f'[limits]\nhandshake_timeout_ms = 2000\nreconnect_min_ms = 100\n'
                    f'reconnect_max_ms = 2000\n'
                    # node0 bounds what waits for a peer tightly: the no-read peer meets it.
                    + ("output_buffer_max = 65536\n" if i == 0 else ""))
        self.proc = None

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([os.path.join(self.a.bin, "timed"), "--config", self.cfg],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=logf)
        logf.close()
        PROCS.append(self.proc)

    def events(self, kind=None):
        ev = read_events(self.log)
        return [e for e in ev if kind is None or e.get("event") == kind]

    def height(self):
        c = self.events("block_committed")
        return max((int(e["height"]) for e in c), default=0)

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1


def wait_for(cond, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def closed_by_peer(s):
    """Whether the peer closed s (EOF or reset), reading and dropping what it sent."""
    try:
        s.setblocking(False)
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def part_hostile(nodes):
    target = nodes[0]
    before = [n.height() for n in nodes]
    rss0 = target.rss_kib()
    addr = ("127.0.0.1", target.port)
    cases = {}

    def conn(name, payload):
        s = socket.create_connection(addr, timeout=2)
        if payload:
            s.sendall(payload)
        cases[name] = s

    conn("garbage", b"\x00\x00\x00\x10" + bytes(random.getrandbits(8) for _ in range(16)))
    conn("oversize length prefix", b"\x7f\xff\xff\xff" + b"x" * 16)
    conn("zero length prefix", b"\x00\x00\x00\x00")
    conn("slowloris handshake", b"\x00\x00")
    # One host's unfinished handshakes are bounded: of 20 from one address, the 8 of
    # limits.pending_per_host stay (until the handshake timeout), the others are closed at once.
    burst = []
    for _ in range(20):
        s = socket.socket()
        s.bind(("127.0.0.30", 0))
        s.connect(addr)
        burst.append(s)
    time.sleep(0.5)
    still = sum(1 for s in burst if not closed_by_peer(s))
    check("hostile: one host gets at most pending_per_host (8) handshakes in progress",
          still == 8, f"{still} of 20 open after 0.5 s")
    for s in burst:
        s.close()
    idle = []
    for _ in range(1000):
        try:
            idle.append(socket.create_connection(addr, timeout=2))
        except OSError:
            break
    t0 = time.monotonic()
    done = {}
    while time.monotonic() - t0 < 8 and len(done) < len(cases):
        for name, s in cases.items():
            if name not in done and closed_by_peer(s):
                done[name] = time.monotonic() - t0
        time.sleep(0.05)
    for name in cases:
        check(f"hostile: {name} is disconnected", name in done,
              f"after {done.get(name, -1):.2f} s")
    wait_for(lambda: all(closed_by_peer(s) for s in idle), 8)
    open_idle = sum(1 for s in idle if not closed_by_peer(s))
    rss1 = target.rss_kib()
    check(f"hostile: {len(idle)} idle connections are all closed (past pending_per_host or "
          f"max_inbound at once, the rest by the handshake timeout)",
          open_idle == 0, f"{open_idle} still open")
    print(f"     RSS of the target: {rss0} KiB before, {rss1} KiB after "
          f"{len(idle)} idle connections", flush=True)
    check("hostile: memory stays bounded (RSS grows < 64 MiB)", rss1 - rss0 < 65536)
    for s in list(cases.values()) + idle:
        s.close()
    refused = [e for e in target.events("frame_refused")]
    check("hostile: the oversize prefix is refused before allocation (frame_refused logged)",
          any(e.get("length") == str(0x7fffffff) for e in refused), str(refused[-2:]))
    # Rule breakers that speak the protocol, each from its own loopback source address (a ban
    # falls on that address, not on the testnet's 127.0.0.1).
    hostile = os.path.join(target.a.bin, "hostile_peer")
    net = os.path.join(os.path.dirname(target.dir), "net")
    for k, mode in enumerate(["forged-auth", "replay-hello", "bad-sig-tx", "malformed", "flood",
                              "flood-sustained"]):
        r = run([hostile, mode, "--genesis", os.path.join(net, "genesis.json"),
                 "--peer", f"127.0.0.1:{target.port}", "--source", f"127.0.0.{10 + k}",
                 "--wallet", os.path.join(net, "keys", "wallet-8.json")],
                timeout=40 if mode == "flood-sustained" else 20)
        check(f"hostile: {mode} gets its answer", r.returncode == 0, r.stdout.strip() or r.stderr)
    r = run([hostile, "no-read", "--genesis", os.path.join(net, "genesis.json"),
             "--peer", f"127.0.0.1:{target.port}", "--source", "127.0.0.20"], timeout=20)
    dropped = [e for e in target.events("peer_dropped") if e["addr"].startswith("127.0.0.20:")]
    check("hostile: a peer that does not read is dropped at limits.output_buffer_max (64 KiB)",
          r.returncode == 0 and dropped, f"{r.stdout.strip()}; {dropped[:1]}")
    bans = [e for e in target.events("peer_banned")]
    check("hostile: bad signatures, malformed frames and a sustained flood earn bans "
          "(peer_banned logged)", len(bans) >= 3, f"{len(bans)} bans")
    wait_for(lambda: any(int(e.get("rate_drops", 0)) > 0 for e in target.events("status")), 7)
    drops = max((int(e.get("rate_drops", 0)) for e in target.events("status")), default=0)
    check("hostile: the flood is dropped over the rate budget (status rate_drops)", drops > 0,
          f"rate_drops {drops}")
    grown = wait_for(lambda: all(n.height() >= b + 2 for n, b in zip(nodes, before)), 10)
    check("hostile: heights keep growing on every node", grown,
          f"{before} -> {[n.height() for n in nodes]}")


def check_store(node):
    """timed --check-store on a stopped node: (exit code, its JSON or None)."""
    r = run([os.path.join(node.a.bin, "timed"), "--config", node.cfg, "--check-store"], timeout=30)
    try:
        return r.returncode, json.loads(r.stdout)
    except json.JSONDecodeError:
        return r.returncode, None


def part_durability(nodes, kills, until_height):
    """kill -9 of a random validator at a random moment, `kills` times or until the chain
    reaches until_height: before each restart the store must hold every block the node logged
    as committed and pass --check-store; the restart must start from there."""
    lost, broken, rounds = [], [], 0
    while rounds < kills or max(n.height() for n in nodes) < until_height:
        v = random.choice(nodes)
        time.sleep(random.uniform(0.05, 1.5))
        v.proc.kill()
        v.proc.wait()
        last = v.height()  # read after the death: every line it wrote is in the log
        rc, st = check_store(v)
        if rc != 0 or st is None or not st.get("ok") or st["height"] < last:
            broken.append((v.i, last, rc, st))
        starts = len(v.events("started"))
        v.start()
        wait_for(lambda: len(v.events("started")) > starts, 5)
        ev = v.events("started")
        h = int(ev[-1]["height"]) if len(ev) > starts else -1
        if h < last:
            lost.append((v.i, last, h))
        if rounds < 10 or rounds % 20 == 0:
            print(f"     kill {rounds}: kill -9 node{v.i} at committed height {last}, store "
                  f"{st and st.get('height')}, restarted at {h}", flush=True)
        rounds += 1
    check(f"durability: {rounds} kill -9 restarts lose no committed block", not lost, str(lost))
    check(f"durability: after each kill the store is whole (--check-store: every block back, "
          f"UTXO integrity)", not broken, str(broken[:3]))
    top = max(n.height() for n in nodes)
    check("durability: every restarted node catches up and goes on",
          wait_for(lambda: all(n.height() >= top + 2 for n in nodes), 20),
          str([n.height() for n in nodes]))


def agreement(nodes):
    by_height = {}
    for n in nodes:
        for e in n.events("block_committed"):
            by_height.setdefault(int(e["height"]), set()).add(e["hash"])
    forks = {h: s for h, s in by_height.items() if len(s) > 1}
    check(f"agreement: one block hash per height over {len(by_height)} heights on 4 nodes",
          not forks, str(forks))
    bad = [(n.i, e.get("event")) for n in nodes for e in n.events()
           if e.get("event") in ("evidence", "fork", "culprit", "node_failed")]
    check("no evidence, fork or failure logged by any node (no conflicting vote signed)", not bad,
          str(bad[:5]))


def part_testnet(a, tmp):
    cli = os.path.join(a.bin, "time-cli")
    profile = ["--profile", f"block_interval_ms={a.block_interval_ms}"] if a.block_interval_ms else []
    r = run([cli, "genesis", "--out", os.path.join(tmp, "net"), "--validators", "4",
             "--wallets", "16", "--seed", str(random.randrange(1 << 30)), *profile])
    if not check("time-cli genesis", r.returncode == 0, r.stderr):
        return
    ports = free_ports(4)
    nodes = [Node(a, tmp, i, ports, "json" if i == 1 else "text") for i in range(4)]
    t0 = time.monotonic()
    for n in nodes:
        n.start()
    ok = wait_for(lambda: all(n.height() >= 3 for n in nodes), 30)
    check("blocks commit on every node (height >= 3)", ok,
          f"heights {[n.height() for n in nodes]} after {time.monotonic() - t0:.1f} s")
    if not ok:
        return
    check("node1 logs JSON lines", any(True for _ in nodes[1].events("block_committed")))

    # Wallets 0..7 pay here; wallet 8's output stays unspent for hostile_peer's bad signatures;
    # wallets 9..15 are the load during the shutdown.
    wallets = [os.path.join(tmp, "net", "keys", f"wallet-{j}.json") for j in range(8)]
    t1 = time.monotonic()
    r = run([os.path.join(a.bin, "live_client"), "--genesis", os.path.join(tmp, "net", "genesis.json"),
             "--peer", f"127.0.0.1:{ports[2]}", "--timeout-ms", "15000", *wallets], timeout=25)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    txids = [x["txid"] for x in lines if "txid" in x and x.get("code") == 0]
    check("the client's 8 transfers are accepted and final at its own node", r.returncode == 0
          and len(txids) == 8, r.stdout.strip().splitlines()[-1] if r.stdout else r.stderr)

    def final_everywhere():
        return all(set(txids) <= {e["txid"] for e in n.events("tx_finalized")} for n in nodes)

    ok = wait_for(final_everywhere, 10)
    lat = sorted(int(e["latency_ms"]) for n in nodes for e in n.events("tx_finalized"))
    check("every transfer is finalized on every validator", ok and txids,
          f"{time.monotonic() - t1:.1f} s; latency_ms p50 {lat[len(lat) // 2] if lat else '-'}"
          f" max {lat[-1] if lat else '-'}")

    t2 = time.monotonic()
    r = run([os.path.join(a.bin, "timed"), "--config", nodes[0].cfg], timeout=10)
    check("a second timed on a data folder in use exits 2 at once",
          r.returncode == 2 and "data_dir_locked" in r.stderr and time.monotonic() - t2 < 5,
          r.stderr.strip()[-160:])

    part_hostile(nodes)
    part_durability(nodes, a.kills, a.blocks)
    agreement(nodes)

    # Graceful shutdown under load: transfers in flight (the client submits 7 more), then
    # SIGTERM to every node at once; each exits 0 within 5 s.
    load = subprocess.Popen([os.path.join(a.bin, "live_client"), "--genesis",
                             os.path.join(tmp, "net", "genesis.json"), "--peer",
                             f"127.0.0.1:{ports[1]}", "--timeout-ms", "8000",
                             *[os.path.join(tmp, "net", "keys", f"wallet-{j}.json")
                               for j in range(9, 16)]],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    PROCS.append(load)
    time.sleep(0.3)  # submitted and gossiped (a few ms), not final yet (hundreds of ms on disk)
    t3 = time.monotonic()
    for n in nodes:
        n.proc.send_signal(signal.SIGTERM)
    codes, took = [], []
    for n in nodes:
        try:
            codes.append(n.proc.wait(timeout=max(0.1, 5 - (time.monotonic() - t3))))
        except subprocess.TimeoutExpired:
            codes.append(None)
        took.append(time.monotonic() - t3)
    check("SIGTERM under load: every node exits 0 within 5 s", codes == [0] * 4,
          f"codes {codes}, {max(took):.2f} s; transfers finalized by then: "
          f"{[len(n.events('tx_finalized')) for n in nodes]}")
    load.kill()
    load.wait()
    vs = [n.events("verify_stats") for n in nodes]
    sigs = sum(int(e["pool_sigs"]) for v in vs for e in v)
    hits = sum(int(e["cache_hits"]) for v in vs for e in v)
    misses = sum(int(e["cache_misses"]) for v in vs for e in v)
    check("verify pool: workers checked signatures and the core found them in its cache",
          sigs > 0 and hits > misses, f"pool_sigs {sigs}, cache hits {hits}, misses {misses}")
    stores = [check_store(n) for n in nodes]
    check("after the shutdown every store is whole and holds every block its node logged",
          all(rc == 0 and st and st["ok"] and st["height"] >= n.height()
              for (rc, st), n in zip(stores, nodes)), str([st for _, st in stores]))
    # A FAILED marker (what a failed node leaves) makes a start refuse with exit 1, naming it;
    # --check-store still reads the store.
    marker = os.path.join(nodes[2].dir, "data", "FAILED")
    with open(marker, "w") as f:
        f.write('failure=store code=test cause="planted by live_test"\n')
    r = run([os.path.join(a.bin, "timed"), "--config", nodes[2].cfg], timeout=10)
    check("a FAILED marker: timed refuses to start with exit 1 and names the cause",
          r.returncode == 1 and "refusing_to_start" in r.stderr and "planted" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()[-200:]}")
    rc, st = check_store(nodes[2])
    check("a FAILED marker: --check-store still checks the store", rc == 0 and st and st["ok"],
          str(st))
    os.unlink(marker)
    # log.file and its rotation: the node appends there; after a rename and SIGHUP it opens the
    # path again.
    rot = os.path.join(nodes[3].dir, "rot.toml")
    with open(nodes[3].cfg) as f, open(rot, "w") as g:
        g.write(f.read().replace("[log]\n", '[log]\nfile = "rot.log"\n'))
    rlog = os.path.join(nodes[3].dir, "rot.log")
    p = subprocess.Popen([os.path.join(a.bin, "timed"), "--config", rot], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    PROCS.append(p)
    started = wait_for(lambda: any(e.get("event") == "started" for e in read_events(rlog)), 5)
    os.rename(rlog, rlog + ".1")
    p.send_signal(signal.SIGHUP)
    reopened = wait_for(lambda: any(e.get("event") == "log_reopened" for e in read_events(rlog)), 5)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=5)
    check("log.file: lines go to the file; after a rename, SIGHUP reopens the path; exit 0",
          started and reopened and rc == 0 and
          any(e.get("event") == "stopped" for e in read_events(rlog)),
          f"started {started}, reopened {reopened}, exit {rc}")
    # A restart finds every block it logged as committed (nothing lost by the shutdown).
    n = nodes[3]
    last = n.height()
    starts = len(n.events("started"))
    n.start()
    wait_for(lambda: len(n.events("started")) > starts, 5)
    h = int(n.events("started")[-1]["height"]) if len(n.events("started")) > starts else -1
    n.proc.send_signal(signal.SIGINT)
    rc = n.proc.wait(timeout=5)
    check("after the shutdown, a restart starts at the last committed height; SIGINT exits 0",
          h >= last and rc == 0, f"logged {last}, restarted at {h}, exit {rc}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True,
                    help="folder holding timed, time-cli, live_client, hostile_peer")
    ap.add_argument("--src", required=True, help="the source tree (for net-real/config.sample.toml)")
    ap.add_argument("--only", choices=["config", "testnet"])
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--kills", type=int, default=6, help="kill -9 rounds (default 6)")
    ap.add_argument("--blocks", type=int, default=0,
                    help="go on killing until the chain reaches this height (a long run)")
    ap.add_argument("--block-interval-ms", type=int, default=0,
                    help="the genesis's block_interval_ms (default: the testnet's 1000)")
    a = ap.parse_args()

    def on_alarm(signum, frame):
        raise TimeoutError(f"live_test: over {DEADLINE_S} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(DEADLINE_S + (a.blocks * 2 if a.blocks else 0))
    tmp = tempfile.mkdtemp(prefix="tc-live-")
    t0 = time.monotonic()
    try:
        if a.only in (None, "config"):
            os.makedirs(os.path.join(tmp, "config"))
            part_config(a, os.path.join(tmp, "config"))
        if a.only in (None, "testnet"):
            part_testnet(a, tmp)
    except TimeoutError as e:
        check(str(e), False)
    finally:
        signal.alarm(0)
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if a.keep or CHECKS["fail"]:
            print(f"live_test: logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"live_test: {CHECKS['ok']} passed, {CHECKS['fail']} failed in {time.monotonic() - t0:.1f} s")
    return 1 if CHECKS["fail"] or CHECKS["ok"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
