#!/usr/bin/env python3
"""live_bench.py — the live benchmark (issue 11): 4 validators on loopback under open-loop load,
printing one JSON line. A program, not a test. Standard library only.

  python3 tools/bench/live_bench.py [--bin build/net-real] [--tc-bench build/tc-bench]
                                    [--rates 50,100,200,400] [--seconds 3] [--dir /dev/shm]

It writes a genesis with one wallet per transaction it will send, starts 4 `timed` (data folders
under --dir: /dev/shm by default, so the figures are CPU-bound, not fsync-bound; see
docs/OPERATING.md, Performance), signs every transfer beforehand with `time-cli createtx`, then
for each rate submits transfers open-loop (on schedule, whatever the answers) over JSON-RPC
`sendrawtransaction`, round-robin over the nodes. A transfer's finality latency runs from its
submission to the last of the 4 nodes logging it final (`tx_finalized`). The highest rate's
finalized transactions per second is `tx_per_s`; a last run at half that rate gives
`finality_ms` {p50, p99}. `cpu_per_node` is the cores each timed used during the runs.

The crypto bound, measured in the same run: `tc-bench ledger`'s raw Ed25519 verifications per
second on one core, times the cores, over the signature checks each finalized transaction cost
the cluster (the verify pools' signatures over the finalized transactions, plus the submitting
node's own check of the input) = `bound_tx_per_s`; `bound_ratio` = tx_per_s / bound_tx_per_s.
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TS = re.compile(r"ts=(\S+) .*event=tx_finalized txid=([0-9a-f]{64})")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def iso_ms(ts):
    """2026-12-06T16:55:40.851Z -> ms since the epoch (UTC)."""
    t = time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
    return (time.mktime(t) - time.timezone) * 1000 + int(ts[20:23])


class Cluster:
    def __init__(self, a, root, wallets):
        self.a, self.root = a, root
        r = subprocess.run([os.path.join(a.bin, "time-cli"), "genesis", "--out",
                            os.path.join(root, "net"), "--validators", "4", "--wallets",
                            str(wallets)], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"live_bench: genesis: {r.stderr}")
        ports = free_ports(8)
        self.p2p, self.rpc = ports[:4], ports[4:]
        self.procs, self.logs, self.auth = [], [], []
        for i in range(4):
            d = os.path.join(root, f"node{i}")
            os.makedirs(d)
            peers = ", ".join(f'"127.0.0.1:{p}"' for j, p in enumerate(self.p2p) if j != i)
            with open(os.path.join(d, "config.toml"), "w") as f:
                f.write(f'data_dir = "data"\ngenesis = "../net/genesis.json"\n[p2p]\n'
                        f'listen = "127.0.0.1:{self.p2p[i]}"\npeers = [{peers}]\n'
                        f'[masternode]\nkey_file = "../net/keys/validator-{i}.json"\n'
                        f'[rpc]\nlisten = "127.0.0.1:{self.rpc[i]}"\nrequests_max = 1024\n'
                        f'[limits]\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n')
            log = os.path.join(d, "timed.log")
            with open(log, "ab") as lf:
                self.procs.append(subprocess.Popen(
                    [os.path.join(a.bin, "timed"), "--config", os.path.join(d, "config.toml")],
                    stdout=subprocess.DEVNULL, stderr=lf))
            self.logs.append(log)
        end = time.monotonic() + 30
        while time.monotonic() < end and len(self.auth) < 4:
            self.auth = [open(os.path.join(root, f"node{i}", "data", ".cookie")).read()
                         for i in range(4)
                         if os.path.exists(os.path.join(root, f"node{i}", "data", ".cookie"))]
            time.sleep(0.1)
        while time.monotonic() < end:
            peers = [len(self.call(i, "getpeerinfo") or []) for i in range(4)]
            if min(peers) >= 3 and (self.call(0, "getblockcount") or 0) >= 1:
                return
            time.sleep(0.2)
        sys.exit("live_bench: the testnet did not come up in 30 s")

    def call(self, i, method, *params, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.rpc[i], timeout=30)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        h = {"Authorization": "Basic " + base64.b64encode(self.auth[i].encode()).decode(),
             "Content-Type": "application/json"}
        try:
            c.request("POST", "/", body=body, headers=h)
            doc = json.loads(c.getresponse().read())
        except (OSError, ValueError, http.client.HTTPException):
            doc = {}
        if conn is None:
            c.close()
        return doc.get("result")

    def cpu_s(self):
        out = []
        for p in self.procs:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        return out

    def pool_sigs(self):
        total = 0
        for i in range(4):
            c = http.client.HTTPConnection("127.0.0.1", self.rpc[i], timeout=10)
            c.request("GET", "/metrics", headers={
                "Authorization": "Basic " + base64.b64encode(self.auth[i].encode()).decode()})
            text = c.getresponse().read().decode()
            c.close()
            m = re.search(r"^timecoin_verify_pool_signatures_total (\d+)", text, re.M)
            total += int(m.group(1)) if m else 0
        return total

    def finalized(self):
        """txid -> the time the last node logged it final (ms), over the nodes that did; and
        txid -> how many nodes did."""
        last, count = {}, {}
        for log in self.logs:
            with open(log, errors="replace") as f:
                for line in f:
                    m = TS.search(line)
                    if m:
                        t = iso_ms(m.group(1))
                        last[m.group(2)] = max(last.get(m.group(2), 0), t)
                        count[m.group(2)] = count.get(m.group(2), 0) + 1
        return last, count

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def build_txs(a, cl, first, n):
    """Signed transfers from wallets first..first+n-1, each to the next wallet (createtx)."""
    keys = os.path.join(cl.root, "net", "keys")
    cli = [os.path.join(a.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{cl.rpc[0]}",
           f"-datadir={os.path.join(cl.root, 'node0', 'data')}"]
    to = subprocess.run(cli + [f"-wallet={keys}/wallet-0.json", "address"], capture_output=True,
                        text=True).stdout.strip()
    out, lock = [], threading.Lock()

    def work(ks):
        for k in ks:
            r = subprocess.run(cli + [f"-wallet={keys}/wallet-{k}.json", "createtx", to, "1"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                with lock:
                    out.append(json.loads(r.stdout))

    ids = list(range(first, first + n))
    threads = [threading.Thread(target=work, args=(ids[j::4],)) for j in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def run_load(cl, txs, rate, seconds):
    """Submits txs open-loop at rate per second; txid -> submission time (ms)."""
    n = min(len(txs), int(rate * seconds))
    sent, lock = {}, threading.Lock()
    start = time.time() + 0.2

    def sender(j):
        conn = http.client.HTTPConnection("127.0.0.1", cl.rpc[j % 4], timeout=30)
        for k in range(j, n, 8):
            due = start + k / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            t = time.time() * 1000
            if cl.call(j % 4, "sendrawtransaction", txs[k]["hex"], conn=conn):
                with lock:
                    sent[txs[k]["txid"]] = t
        conn.close()

    threads = [threading.Thread(target=sender, args=(j,)) for j in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent


def measure(cl, sent, settle_s=3):
    time.sleep(settle_s)
    last, count = cl.finalized()
    lat = sorted(last[t] - s for t, s in sent.items() if count.get(t) == 4)
    if not sent or not lat:
        return {"sent": len(sent), "final_all": 0}
    span_ms = max(last[t] for t in sent if count.get(t) == 4) - min(sent.values())
    return {"sent": len(sent), "final_all": len(lat),
            "tx_per_s": round(len(lat) / max(span_ms / 1000, 1e-3), 1),
            "p50_ms": round(statistics.median(lat), 1),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)}


def verify_per_s(a):
    r = subprocess.run([a.tc_bench, "ledger", "--txs", "500", "--rounds", "2", "--blocks", "1"],
                       capture_output=True, text=True, timeout=300)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])["ed25519_verify_per_s"]
    except (ValueError, IndexError, KeyError):
        return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "build", "net-real"))
    ap.add_argument("--tc-bench", default=os.path.join(here, "..", "..", "build", "tc-bench"))
    ap.add_argument("--rates", default="50,100,200,400")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    need = int(sum(rates) * a.seconds + max(rates) / 2 * a.seconds) + 10
    root = tempfile.mkdtemp(prefix="tc-live-bench-", dir=a.dir)
    cl = None
    try:
        cl = Cluster(a, root, need + 1)
        txs = build_txs(a, cl, 1, need)
        cpu0, sigs0, t0 = cl.cpu_s(), cl.pool_sigs(), time.monotonic()
        runs, used = [], 0
        for rate in rates:
            sent = run_load(cl, txs[used:], rate, a.seconds)
            used += int(rate * a.seconds)
            runs.append(dict(rate=rate, **measure(cl, sent)))
        best = max(runs, key=lambda r: r.get("tx_per_s", 0))
        half = best.get("tx_per_s", rates[0]) / 2
        sent = run_load(cl, txs[used:], max(half, 1), a.seconds)
        at_half = dict(rate=round(half, 1), **measure(cl, sent))
        cpu1, sigs1, wall = cl.cpu_s(), cl.pool_sigs(), time.monotonic() - t0
        final_total = sum(r.get("final_all", 0) for r in runs) + at_half.get("final_all", 0)
        sigs_per_tx = (sigs1 - sigs0) / max(final_total, 1) + 1
        vps = verify_per_s(a)
        cores = os.cpu_count() or 1
        bound = vps * cores / sigs_per_tx if sigs_per_tx else 0
        tx_per_s = best.get("tx_per_s", 0)
        print(json.dumps({
            "bench": "live", "validators": 4, "data_dir": a.dir or tempfile.gettempdir(),
            "tx_per_s": tx_per_s, "bound_tx_per_s": round(bound, 1),
            "bound_ratio": round(tx_per_s / bound, 3) if bound else None,
            "finality_ms": {"p50": at_half.get("p50_ms"), "p99": at_half.get("p99_ms"),
                            "at_tx_per_s": at_half["rate"]},
            "cpu_per_node": [round((c1 - c0) / wall, 2) for c0, c1 in zip(cpu0, cpu1)],
            "ed25519_verify_per_s": round(vps), "cores": cores,
            "sig_checks_per_tx": round(sigs_per_tx, 2), "runs": runs, "half_load": at_half}))
    finally:
        if cl is not None:
            cl.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
