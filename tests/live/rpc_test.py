#!/usr/bin/env python3
"""rpc_test.py — timed's JSON-RPC, /metrics and time-cli on a live 4-validator loopback testnet
(ctest: live_rpc). Standard library only; every process it starts is its own, killed at exit.

Checks:
  - credentials: none, a wrong password, a wrong user get 401; the cookie and a configured
    rpc.user/password get in; the cookie file exists while timed runs and is gone after;
  - every method `help` lists answers per docs/OPERATING.md (a table of calls and checks; a
    method missing from the table fails the test), and the documented errors (unknown method,
    bad parameters, unknown block);
  - a wallet send through time-cli reaches finality (exit 0, state final), every node sees it
    final, the recipient's balance shows it once a block confirms it; a wallet registers a
    masternode (its collateral locked once confirmed) and retires it;
  - waittxfinality returns on finality (a waiter started before the submission wakes) and on
    its timeout (timed_out true, after the timeout and not much later);
  - /metrics parses as Prometheus text (every line checked by the parser below), on rpc.listen
    with credentials (401 without) and on metrics.listen without;
  - an oversize body gets 413 with a JSON-RPC error, malformed JSON -32700, a batch -32600, and
    the node keeps serving;
  - 200 concurrent clients against rpc.requests_max = 16 are each answered: a result or a 503
    with a JSON-RPC error, never a reset;
  - setban closes a banned host's connections at accept, listbanned shows it, remove lifts it;
  - `stop` over RPC and SIGTERM both exit 0.

usage: rpc_test.py --bin BUILD/net-real
"""
import argparse
import base64
import http.client as httpc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from livecheck import CHECKS, check, free_ports

DEADLINE_S = 85
PROCS = []
T0 = time.monotonic()


class Node:
    def __init__(self, a, tmp, i, p2p, rpc, extra=""):
        self.a, self.i, self.rpc_port, self.p2p_port = a, i, rpc[i], p2p[i]
        self.dir = os.path.join(tmp, f"node{i}")
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "timed.log")
        self.cfg = os.path.join(self.dir, "config.toml")
        self.cookie = os.path.join(self.dir, "data", ".cookie")
        peers = ", ".join(f'"127.0.0.1:{p}"' for j, p in enumerate(p2p) if j != i)
        with open(self.cfg, "w") as f:
            f.write(f'data_dir = "data"\ngenesis = "../net/genesis.json"\n'
                    f'[p2p]\nlisten = "127.0.0.1:{p2p[i]}"\npeers = [{peers}]\n'
                    f'[masternode]\nkey_file = "../net/keys/validator-{i}.json"\n'
                    f'[limits]\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n'
                    f'[rpc]\nlisten = "127.0.0.1:{rpc[i]}"\n{extra}')
        self.auth = None
        self.proc = None

    def start(self):
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen([os.path.join(self.a.bin, "timed"), "--config", self.cfg],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=logf)
        PROCS.append(self.proc)

    def cookie_auth(self):
        with open(self.cookie) as f:
            self.auth = f.read().strip()
        return self.auth


def http(port, method="POST", path="/", body=None, auth=None, timeout=30, headers=None):
    """One request on its own connection: (status, body bytes), or (None, error text)."""
    c = httpc.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if auth is not None:
        h["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, httpc.HTTPException) as e:
        return None, str(e)
    finally:
        c.close()


def rpc(node, method, *params, auth=None, timeout=30):
    """(result, error) of one call; error is the JSON-RPC error object or a transport text."""
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    status, data = http(node.rpc_port, body=body.encode(), auth=auth or node.auth,
                        timeout=timeout)
    if status is None:
        return None, {"code": None, "message": data}
    try:
        doc = json.loads(data)
    except ValueError:
        return None, {"code": None, "message": f"HTTP {status}: not JSON"}
    return doc.get("result"), doc.get("error")


def cli(a, node, *args, wallet=None, timeout=30):
    cmd = [os.path.join(a.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{node.rpc_port}",
           f"-datadir={os.path.join(node.dir, 'data')}"]
    if wallet:
        cmd.append(f"-wallet={wallet}")
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)


HEX64 = re.compile(r"^[0-9a-f]{64}$")

# ---- the Prometheus text format (0.0.4), checked line by line ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*,?\}})?"
                    r" ([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]?Inf))( -?[0-9]+)?$")
HELP = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")


def parse_prometheus(text):
    """{(name, labels): value} and a list of problems; every line must be a HELP, a TYPE, another
    comment, blank, or a sample of a family whose TYPE came first (a histogram's _bucket, _sum and
    _count belong to it), counters end in _total, histogram buckets do not decrease and +Inf
    equals _count."""
    types, samples, bad = {}, {}, []
    if not text.endswith("\n"):
        bad.append("the page does not end with a newline")
    for no, line in enumerate(text.split("\n")[:-1], 1):
        if line == "" or (line.startswith("#") and not line.startswith(("# HELP", "# TYPE"))):
            continue
        m = TYPE.match(line)
        if m:
            if m.group(1) in types:
                bad.append(f"{no}: second TYPE for {m.group(1)}")
            types[m.group(1)] = m.group(2)
            if m.group(2) == "counter" and not m.group(1).endswith("_total"):
                bad.append(f"{no}: counter {m.group(1)} does not end in _total")
            continue
        if HELP.match(line):
            continue
        m = SAMPLE.match(line)
        if not m:
            bad.append(f"{no}: not a sample: {line!r}")
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                family = name[: -len(suffix)]
        if family not in types:
            bad.append(f"{no}: {name} before its TYPE")
        if (name, labels) in samples:
            bad.append(f"{no}: {name}{labels} twice")
        samples[(name, labels)] = value
    for fam, t in types.items():
        if t != "histogram":
            continue
        buckets = [(k[1], v) for k, v in samples.items() if k[0] == fam + "_bucket"]
        values = [v for _, v in buckets]
        if values != sorted(values):
            bad.append(f"{fam}: buckets decrease")
        inf = samples.get((fam + "_bucket", '{le="+Inf"}'))
        if inf is None or inf != samples.get((fam + "_count", "")):
            bad.append(f"{fam}: the +Inf bucket is not _count")
    return samples, bad


def metric(samples, name, labels=""):
    return samples.get((name, labels))


# ---- the checks ----

def wait_up(nodes):
    end = time.monotonic() + 30
    pending = list(nodes)
    while pending and time.monotonic() < end:
        for n in list(pending):
            if n.auth is None and os.path.exists(n.cookie):
                n.cookie_auth()
            if n.auth is not None:
                # Up: committed a block and handshaken with the other three validators (a first
                # dial to a node not yet listening is retried only when the node asks again).
                r, e = rpc(n, "getblockcount", timeout=2)
                peers, _ = rpc(n, "getpeerinfo", timeout=2)
                vals = {p["validator"] for p in peers or []}
                if e is None and r >= 1 and len(vals - {None}) == 3:
                    pending.remove(n)
        time.sleep(0.1)
    return check("every node answers RPC, committed a block and has the 3 other validators as "
                 "peers", not pending,
                 f"waiting: {[n.i for n in pending]}")


def test_auth(nodes):
    n0, n1 = nodes[0], nodes[1]
    body = b'{"jsonrpc":"2.0","id":1,"method":"getblockcount"}'
    for name, auth in [("no credentials", None), ("a wrong password", "__cookie__:00"),
                       ("a wrong user", "x" + n0.auth[1:]), ("a longer password", n0.auth + "0")]:
        status, data = http(n0.rpc_port, body=body, auth=auth)
        check(f"auth: {name} gets 401", status == 401, f"{status} {data[:80]!r}")
    status, _ = http(n0.rpc_port, body=body, auth=n0.auth)
    check("auth: the cookie gets 200", status == 200, str(status))
    check("auth: the cookie file is mode 0600",
          os.stat(n0.cookie).st_mode & 0o777 == 0o600, oct(os.stat(n0.cookie).st_mode))
    status, _ = http(n1.rpc_port, body=body, auth="ops:s3cret")
    check("auth: rpc.user/password gets 200 and no cookie is written",
          status == 200 and not os.path.exists(n1.cookie), str(status))
    status, _ = http(n1.rpc_port, body=body, auth="ops:s3creT")
    check("auth: a one-letter change of rpc.password gets 401", status == 401, str(status))
    r = subprocess.run([os.path.join(ARGS.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{n1.rpc_port}",
                        "-rpcuser=ops", "-rpcpassword=wrong", "getblockcount"],
                       capture_output=True, text=True, timeout=10)
    check("time-cli with a bad password exits 1 saying so",
          r.returncode == 1 and "authorization failed" in r.stderr, r.stderr.strip())


def test_send(a, nodes, tmp):
    """A wallet send through time-cli: returns (txid, recipient address)."""
    wallet0 = os.path.join(tmp, "net", "keys", "wallet-0.json")
    fresh = os.path.join(tmp, "fresh.json")
    r = cli(a, nodes[0], "keygen", wallet=fresh)
    to = r.stdout.strip()
    check("time-cli keygen writes a key file and prints its address",
          r.returncode == 0 and to.startswith("TIME0") and os.path.exists(fresh), r.stderr)
    r = cli(a, nodes[0], "address", wallet=fresh)
    check("time-cli address prints the same address", r.stdout.strip() == to, r.stdout)
    r = cli(a, nodes[0], "keygen", wallet=fresh)
    check("time-cli keygen never overwrites a key file", r.returncode == 2, r.stderr.strip())
    t = time.monotonic()
    r = cli(a, nodes[0], "send", to, "12.5", wallet=wallet0)
    ms = (time.monotonic() - t) * 1000
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {}
    check("time-cli send reaches finality (exit 0, state final, 12.5 TIME)",
          r.returncode == 0 and out.get("final") is True and out.get("amount") == 1250000000,
          f"rc={r.returncode} {ms:.0f} ms {r.stdout.strip()[:200]} {r.stderr.strip()[-200:]}")
    check("time-cli send printed a progress line", "final weight" in r.stderr, r.stderr[-120:])
    txid = out.get("txid", "")
    seen = set()
    end = time.monotonic() + 10
    while len(seen) < len(nodes) and time.monotonic() < end:
        for n in nodes:
            res, _ = rpc(n, "gettxfinality", txid)
            if res and res.get("final"):
                seen.add(n.i)
        time.sleep(0.1)
    check("every node reports the sent transaction final", len(seen) == len(nodes), str(seen))
    # Balances count confirmed outputs: the next block confirms the transfer.
    end = time.monotonic() + 15
    bal = None
    while time.monotonic() < end:
        r = cli(a, nodes[2], "balance", wallet=fresh)
        bal = json.loads(r.stdout) if r.returncode == 0 else None
        if bal and bal["balance"] == 1250000000:
            break
        time.sleep(0.3)
    check("time-cli balance shows 12.5 TIME once a block confirms it (on another node)",
          bal is not None and bal["balance"] == 1250000000 and bal["outputs"] == 1, str(bal))
    return txid, to


def waiter(node, txid, timeout_ms, out):
    t = time.monotonic()
    out["result"], out["error"] = rpc(node, "waittxfinality", txid, timeout_ms, timeout=70)
    out["ms"] = (time.monotonic() - t) * 1000


def test_wait(a, nodes, tmp):
    res, err = None, None
    out = {}
    waiter(nodes[3], "ab" * 32, 500, out)
    res = out["result"] or {}
    check("waittxfinality on an unknown txid returns at its timeout (500 ms) with timed_out",
          res.get("timed_out") is True and res.get("state") == "unknown" and
          450 <= out["ms"] <= 2500, f"{out['ms']:.0f} ms {res} {out['error']}")
    wallet1 = os.path.join(tmp, "net", "keys", "wallet-1.json")
    r = cli(a, nodes[0], "createtx", "TIME0" + "1" * 10, "1", wallet=wallet1)
    check("time-cli createtx refuses a bad address with exit 2", r.returncode == 2, r.stderr[:100])
    to = cli(a, nodes[0], "address", wallet=os.path.join(tmp, "net", "keys", "wallet-2.json"))
    r = subprocess.run([os.path.join(a.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{nodes[1].rpc_port}",
                        "-rpcuser=ops", "-rpcpassword=s3cret", f"-wallet={wallet1}", "createtx",
                        to.stdout.strip(), "3"], capture_output=True, text=True, timeout=20)
    tx = json.loads(r.stdout) if r.returncode == 0 else {}
    check("time-cli createtx prints a signed transaction", HEX64.match(tx.get("txid", "")) is not None,
          r.stderr.strip())
    out = {}
    th = threading.Thread(target=waiter, args=(nodes[3], tx.get("txid"), 20000, out))
    th.start()
    time.sleep(0.5)  # the waiter waits on a transaction no node knows yet
    sent, err = rpc(nodes[0], "sendrawtransaction", tx.get("hex", ""))
    th.join(30)
    res = out.get("result") or {}
    check("sendrawtransaction returns the txid", sent == tx.get("txid"), str(err))
    check("waittxfinality started before the submission returns on finality",
          res.get("final") is True and res.get("timed_out") is False and 400 <= out["ms"] < 10000,
          f"{out.get('ms', 0):.0f} ms {res} {out.get('error')}")
    _, err = rpc(nodes[0], "sendrawtransaction", tx.get("hex", ""))
    check("sendrawtransaction of the same transaction again is not an error (or already in chain)",
          err is None or err.get("code") == -27, str(err))
    _, err = rpc(nodes[0], "sendrawtransaction", "00ff")
    check("sendrawtransaction of garbage gets -22", err is not None and err.get("code") == -22, str(err))
    return tx.get("txid")


def test_masternode(a, nodes, tmp):
    """A wallet registers a silver masternode with a fresh key, then retires it."""
    owner = os.path.join(tmp, "net", "keys", "wallet-3.json")
    mnkey = os.path.join(tmp, "mn.json")
    cli(a, nodes[0], "keygen", wallet=mnkey)
    r = cli(a, nodes[0], "register-masternode", "silver", mnkey, "127.0.0.1:1", wallet=owner)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    info, _ = rpc(nodes[0], "getmasternodelist")
    silver = (info or {}).get("collateral", {}).get("silver")
    check("time-cli register-masternode reaches finality, paying the silver collateral",
          out.get("final") is True and out.get("amount") == silver and silver,
          f"rc={r.returncode} {r.stdout[:120]} {r.stderr[-200:]}")
    tx, _ = rpc(nodes[2], "getrawtransaction", out.get("txid", "00"), True)
    check("the registration is a mn_register transaction", (tx or {}).get("kind") == "mn_register",
          str(tx)[:120])
    end, bal = time.monotonic() + 15, {}
    while time.monotonic() < end and bal.get("locked") != silver:
        r = cli(a, nodes[2], "balance", wallet=owner)
        bal = json.loads(r.stdout) if r.returncode == 0 else {}
        time.sleep(0.3)
    check("once confirmed, the collateral shows as locked in the owner's balance",
          bal.get("locked") == silver, str(bal))
    r = cli(a, nodes[0], "retire-masternode", mnkey, wallet=owner)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    tx, _ = rpc(nodes[0], "getrawtransaction", out.get("txid", "00"), True)
    check("time-cli retire-masternode reaches finality as a mn_retire transaction",
          out.get("final") is True and (tx or {}).get("kind") == "mn_retire",
          f"rc={r.returncode} {r.stdout[:120]} {r.stderr[-200:]}")
    r = cli(a, nodes[0], "register-masternode", "platinum", mnkey, wallet=owner)
    check("register-masternode refuses an unknown tier with exit 2", r.returncode == 2,
          r.stderr.strip()[:100])


def test_methods(nodes, txid, address):
    n = nodes[0]
    info, _ = rpc(n, "getblockchaininfo")
    info = info or {}
    tip = info.get("bestblockhash", "")
    h1, _ = rpc(n, "getblockhash", 1)
    steps = {"idle", "wait", "propose", "prevote", "precommit", "committed"}
    methods_doc = ["getblockchaininfo", "getblockcount", "getbestblockhash", "getblockhash",
                   "getblock", "getrawtransaction", "sendrawtransaction", "gettxfinality",
                   "waittxfinality", "getmempoolinfo", "getrawmempool", "getbalance",
                   "listunspent", "getmasternodelist", "getconsensusinfo", "getforkinfo",
                   "getpeerinfo", "getnetworkinfo", "listbanned", "setban", "uptime", "stop",
                   "help"]
    # (method, params, check of the result); sendrawtransaction, waittxfinality and stop have
    # their own checks (test_wait, test_stop).
    table = [
        ("getblockchaininfo", [], lambda r: r["chain"] == "testnet" and r["blocks"] >= 1 and
         HEX64.match(r["bestblockhash"]) and r["failed"] is False and
         r["supply"]["utxo_total"] == r["supply"]["genesis"] + r["supply"]["rewards"] -
         r["supply"]["burned"]),
        ("getblockcount", [], lambda r: isinstance(r, int) and r >= info.get("blocks", 1)),
        ("getbestblockhash", [], lambda r: HEX64.match(r) is not None),
        ("getblockhash", [0], lambda r: r == info.get("genesis_hash")),
        ("getblockhash", [1], lambda r: HEX64.match(r) is not None),
        ("getblock", [h1, 0], lambda r: re.match(r"^[0-9a-f]+$", r) and len(r) > 200),
        ("getblock", [h1], lambda r: r["height"] == 1 and r["hash"] == h1 and
         r["previousblockhash"] and isinstance(r["tx"], list) and r["confirmations"] >= 1),
        ("getblock", [tip, 2], lambda r: r["hash"] == tip and all(isinstance(t, dict)
                                                                  for t in r["tx"])),
        ("getrawtransaction", [txid], lambda r: re.match(r"^[0-9a-f]+$", r) is not None),
        ("getrawtransaction", [txid, True], lambda r: r["txid"] == txid and
         any(o["address"] == address and o["amount"] == 1250000000 for o in r["vout"])),
        ("gettxfinality", [txid], lambda r: r["final"] is True and
         r["state"] in ("final", "confirmed") and r["quorum"] == 3),
        ("getmempoolinfo", [], lambda r: r["size"] >= 0 and r["maxcount"] > 0 and
         r["min_fee_base"] >= 0),
        ("getrawmempool", [], lambda r: isinstance(r, list) and all(HEX64.match(t) for t in r)),
        ("getrawmempool", [True], lambda r: isinstance(r, dict)),
        ("getbalance", [address], lambda r: r["balance"] == 1250000000),
        ("listunspent", [address], lambda r: len(r) == 1 and r[0]["amount"] == 1250000000 and
         r[0]["txid"] == txid and r[0]["spendable"] is True),
        ("getmasternodelist", [], lambda r: len(r["masternodes"]) == 4 and r["quorum"] == 3 and
         [m["index"] for m in r["masternodes"]] == [0, 1, 2, 3] and
         sum(m["self"] for m in r["masternodes"]) == 1 and
         all(m["online"] is True for m in r["masternodes"] if m["self"]) and
         all(not m["online"] or m["self"] or m["last_seen_ms"] > 0 for m in r["masternodes"])),
        ("getconsensusinfo", [], lambda r: r["step"] in steps and r["validators"] == 4 and
         r["height"] >= 2 and r["validator"] is not None and "lock" in r),
        ("getforkinfo", [], lambda r: r["fork_alarm"] is False and r["fork"] is None and
         r["culprits"] == [] and r["certificates"] is None),
        # A pair of nodes may briefly hold two connections (both dialled): the set counts.
        ("getpeerinfo", [], lambda r: len(r) >= 3 and all(HEX64.match(p["key"]) for p in r) and
         {p["validator"] for p in r} == set(range(4)) - {cons.get("validator")}),
        ("getnetworkinfo", [], lambda r: r["connections"] >= 3 and r["network"] == "testnet" and
         r["frames_in"] > 0),
        ("uptime", [], lambda r: isinstance(r, int) and 0 <= r < 600),
        ("help", [], lambda r: all(m in r.split() for m in methods_doc)),
        ("help", ["getblock"], lambda r: "verbosity" in r),
    ]
    cons, _ = rpc(n, "getconsensusinfo")
    cons = cons or {}
    helped, _ = rpc(n, "help")
    listed = set(re.findall(r"^(\w+)", helped or "", re.M))
    covered = {m for m, _, _ in table} | {"sendrawtransaction", "waittxfinality", "stop",
                                          "setban", "listbanned"}
    check("every method help lists has a check here", listed <= covered, str(listed - covered))
    for method, params, ok in table:
        res, err = rpc(n, method, *params)
        try:
            good = err is None and bool(ok(res))
        except (KeyError, TypeError, IndexError) as e:
            good = False
            err = err or f"{type(e).__name__}: {e}"
        check(f"rpc {method} {json.dumps(params)[:40]}", good, f"{str(res)[:160]} {err}")
    # Named parameters are the documented names.
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getblockhash",
                       "params": {"height": 1}}).encode()
    status, data = http(n.rpc_port, body=body, auth=n.auth)
    check("named parameters work", status == 200 and json.loads(data).get("result") == h1,
          data[:100])
    errors = [("nosuchmethod", [], -32601), ("getblockhash", [], -32602),
              ("getblockhash", [10 ** 9], -8), ("getblock", ["00" * 32], -5),
              ("getblock", ["xyz"], -8), ("getbalance", ["TIME0notanaddress"], -5),
              ("getblock", [tip, 7], -8), ("getrawtransaction", ["11" * 32], -5),
              ("help", ["nosuchmethod"], -8)]
    for method, params, code in errors:
        res, err = rpc(n, method, *params)
        check(f"rpc {method} {json.dumps(params)[:30]} gets error {code}",
              err is not None and err.get("code") == code and res is None, str(err))
    r = subprocess.run([os.path.join(ARGS.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{n.rpc_port}",
                        f"-datadir={os.path.join(n.dir, 'data')}", "getblock", "00" * 32],
                       capture_output=True, text=True, timeout=10)
    check("time-cli exits 1 with the node's error message",
          r.returncode == 1 and "Block not found" in r.stderr, r.stderr.strip())
    r = subprocess.run([os.path.join(ARGS.bin, "time-cli"), f"-rpcconnect=127.0.0.1:{n.rpc_port}",
                        f"-datadir={os.path.join(n.dir, 'data')}", "getblockhash", "1"],
                       capture_output=True, text=True, timeout=10)
    check("time-cli getblockhash 1 prints the hash", r.stdout.strip() == h1, r.stdout + r.stderr)


def test_bans(nodes):
    """setban add closes a host's new connections at accept; remove lifts it."""
    import socket
    n = nodes[0]

    def refused_from(src):
        s = socket.socket()
        s.settimeout(3)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", n.p2p_port))
            return s.recv(1) == b""  # closed at once; an accepted peer is sent a HELLO
        except OSError:
            return True
        finally:
            s.close()

    res, err = rpc(n, "setban", "127.0.0.2", "add", 60)
    bans, _ = rpc(n, "listbanned")
    check("setban add: listbanned shows the host for 60 s",
          err is None and any(b["address"] == "127.0.0.2" for b in bans or []), f"{err} {bans}")
    check("a banned host's connection is closed at accept", refused_from("127.0.0.2"))
    check("another host's connection is not", not refused_from("127.0.0.3"))
    res, err = rpc(n, "setban", "127.0.0.2", "remove")
    bans, _ = rpc(n, "listbanned")
    check("setban remove lifts it", err is None and not any(b["address"] == "127.0.0.2"
                                                            for b in bans or []), str(bans))
    check("the lifted host connects again", not refused_from("127.0.0.2"))
    _, err = rpc(n, "setban", "127.0.0.2", "remove")
    check("setban remove of no ban gets -30", err is not None and err.get("code") == -30, str(err))


def test_metrics(nodes, metrics_port):
    n0, n1 = nodes[0], nodes[1]
    status, data = http(n0.rpc_port, method="GET", path="/metrics", auth=n0.auth)
    text = data.decode("utf-8", "replace") if status == 200 else ""
    samples, bad = parse_prometheus(text)
    check("/metrics answers 200 and every line parses as Prometheus text",
          status == 200 and not bad and len(samples) >= 30, f"{status} {bad[:5]} {len(samples)}")
    check("/metrics: height >= 2, >= 3 ready peers, finalized txs >= 2, a finality histogram",
          (metric(samples, "timecoin_height") or 0) >= 2 and
          (metric(samples, "timecoin_peers", '{state="ready"}') or 0) >= 3 and
          (metric(samples, "timecoin_txs_finalized_total") or 0) >= 2 and
          (metric(samples, "timecoin_finality_latency_ms_count") or 0) >= 1,
          str({k: v for k, v in samples.items() if "height" in k[0] or "final" in k[0]})[:300])
    for name in ["timecoin_round", "timecoin_mempool_txs", "timecoin_mempool_bytes",
                 "timecoin_bans_total", "timecoin_rate_limited_drops_total",
                 "timecoin_rpc_inflight"]:
        check(f"/metrics has {name}", metric(samples, name) is not None)
    check("/metrics: frames in and out counted",
          (metric(samples, "timecoin_frames_total", '{direction="in"}') or 0) > 0 and
          (metric(samples, "timecoin_frames_total", '{direction="out"}') or 0) > 0)
    for d in ("in", "out"):
        by_type = sum(v for k, v in samples.items()
                      if k[0] == "timecoin_frames_by_type_total" and f'direction="{d}"' in k[1])
        check(f"/metrics: frames {d} by type add up to the frames {d} total",
              by_type > 0 and by_type == metric(samples, "timecoin_frames_total",
                                                f'{{direction="{d}"}}'), str(by_type))
    check("/metrics: the store's file size and map size",
          (metric(samples, "timecoin_store_file_bytes") or 0) > 0 and
          metric(samples, "timecoin_store_map_bytes") == 1024 << 20)
    commits = metric(samples, "timecoin_store_commit_latency_us_count") or 0
    check("/metrics: store commit latency histogram (every write commit counted, +Inf = count)",
          commits > 0 and metric(samples, "timecoin_store_commit_latency_us_bucket",
                                 '{le="+Inf"}') == commits and
          metric(samples, "timecoin_store_commit_latency_us_sum") is not None, str(commits))
    check("/metrics: the verify pool's queue", metric(samples, "timecoin_verify_pool_queued")
          is not None)
    check("/metrics: view changes by cause",
          metric(samples, "timecoin_view_changes_total", '{cause="timeout_propose"}') is not None)
    status, _ = http(n0.rpc_port, method="GET", path="/metrics")
    check("/metrics on rpc.listen without credentials gets 401", status == 401, str(status))
    status, data = http(metrics_port, method="GET", path="/metrics")
    samples, bad = parse_prometheus(data.decode("utf-8", "replace") if status == 200 else "")
    check("/metrics on metrics.listen needs no credentials and parses",
          status == 200 and not bad and metric(samples, "timecoin_height") is not None,
          f"{status} {bad[:3]}")
    status, _ = http(metrics_port, body=b'{"method":"getblockcount"}')
    check("metrics.listen serves nothing but /metrics", status in (404, 405), str(status))
    bad_lines = parse_prometheus("timecoin_x 1\n# TYPE timecoin_y counter\ntimecoin_y{a=b} 2\n")[1]
    check("the Prometheus parser refuses a sample before its TYPE, a counter without _total and "
          "an unquoted label", len(bad_lines) == 3, str(bad_lines))


def test_limits(nodes):
    n1 = nodes[1]
    auth = "ops:s3cret"
    status, data = http(n1.rpc_port, body=b'{"method":"getblockcount","params":["' +
                        b"a" * 5000 + b'"]}', auth=auth)
    doc = json.loads(data) if status == 413 else {}
    check("a body over rpc.body_max_bytes (4096) gets 413 with a JSON-RPC error",
          status == 413 and doc.get("error", {}).get("code") == -32600, f"{status} {data[:100]}")
    # Without a Content-Length (chunked), the limit holds while the body arrives.
    c = httpc.HTTPConnection("127.0.0.1", n1.rpc_port, timeout=10)
    try:
        c.request("POST", "/", body=iter([b'{"method":"uptime","x":"', b"b" * 3000, b"c" * 3000,
                                          b'"}']),
                  headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
                  encode_chunked=True)
        resp = c.getresponse()
        status, data = resp.status, resp.read()
    except (OSError, httpc.HTTPException) as e:
        status, data = None, str(e).encode()
    finally:
        c.close()
    check("a chunked body over the limit gets 413 too", status == 413, f"{status} {data[:80]}")
    for name, body, code in [("malformed JSON", b'{"method": "getblockcount"', -32700),
                             ("a batch", b'[{"method":"getblockcount"}]', -32600),
                             ("no method", b'{"id": 3}', -32600),
                             ("params of the wrong kind", b'{"method":"uptime","params":3}', -32600),
                             ("an empty body", b"", -32700)]:
        status, data = http(n1.rpc_port, body=body, auth=auth)
        try:
            got = json.loads(data).get("error", {}).get("code")
        except ValueError:
            got = None
        check(f"{name} gets JSON-RPC error {code}", status == 200 and got == code,
              f"{status} {data[:100]}")
    status, _ = http(n1.rpc_port, method="GET", path="/", auth=auth)
    check("GET / gets 405", status == 405, str(status))
    res, err = rpc(n1, "getblockcount", auth=auth)
    check("the node keeps serving after bad requests", err is None and res >= 1, str(err))


def test_concurrency(nodes):
    n1 = nodes[1]
    results = []
    lock = threading.Lock()

    def one():
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "waittxfinality",
                           "params": ["cd" * 32, 1500]}).encode()
        status, data = http(n1.rpc_port, body=body, auth="ops:s3cret", timeout=30)
        try:
            doc = json.loads(data) if status is not None else {}
        except ValueError:
            doc = {}
        with lock:
            results.append((status, doc))

    threads = [threading.Thread(target=one) for _ in range(200)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(40)
    ms = (time.monotonic() - t) * 1000
    served = sum(1 for s, d in results if s == 200 and d.get("result", {}).get("timed_out"))
    refused = sum(1 for s, d in results if s == 503 and d.get("error", {}).get("code") == -32000)
    other = [(s, str(d)[:60]) for s, d in results if s not in (200, 503)]
    check("200 concurrent waiting clients are each served or refused with a JSON-RPC error",
          len(results) == 200 and served + refused == 200 and served >= 16 and refused >= 1,
          f"served={served} refused={refused} other={other[:3]} in {ms:.0f} ms")
    res, err = rpc(n1, "getblockcount", auth="ops:s3cret")
    check("the node serves after the burst", err is None and res >= 1, str(err))


def test_stop(nodes):
    n3 = nodes[3]
    res, err = rpc(n3, "stop")
    try:
        rc = n3.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    check("rpc stop answers and timed exits 0", res == "timed stopping" and rc == 0,
          f"{res} {err} rc={rc}")
    check("the cookie is removed at stop", not os.path.exists(n3.cookie))
    for n in nodes[:3]:
        n.proc.send_signal(signal.SIGTERM)
    rcs = []
    for n in nodes[:3]:
        try:
            rcs.append(n.proc.wait(10))
        except subprocess.TimeoutExpired:
            rcs.append(None)
    check("SIGTERM stops the others with exit 0 and removes their cookies",
          rcs == [0, 0, 0] and not any(os.path.exists(n.cookie) for n in nodes),
          str(rcs))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ARGS = a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="timed-rpc-")
    try:
        r = subprocess.run([os.path.join(a.bin, "time-cli"), "genesis", "--out",
                            os.path.join(tmp, "net"), "--validators", "4", "--wallets", "4",
                            "--profile", "block_interval_ms=500"],
                           capture_output=True, text=True, timeout=30)
        if not check("time-cli genesis", r.returncode == 0, r.stderr.strip()):
            return 1
        ports = free_ports(9)
        p2p, rpcp, metrics_port = ports[:4], ports[4:8], ports[8]
        nodes = [Node(a, tmp, i, p2p, rpcp,
                      'user = "ops"\npassword = "s3cret"\nbody_max_bytes = 4096\n'
                      f'requests_max = 16\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
                      if i == 1 else "") for i in range(4)]
        for n in nodes:
            n.start()
        nodes[1].auth = "ops:s3cret"
        if not wait_up(nodes):
            return 1
        test_auth(nodes)
        txid, address = test_send(a, nodes, tmp)
        test_wait(a, nodes, tmp)
        test_masternode(a, nodes, tmp)
        test_methods(nodes, txid, address)
        test_bans(nodes)
        test_metrics(nodes, metrics_port)
        test_limits(nodes)
        test_concurrency(nodes)
        test_stop(nodes)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not a.keep and CHECKS["fail"] == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    took = time.monotonic() - T0
    check(f"the test took under {DEADLINE_S} s", took < DEADLINE_S, f"{took:.1f} s")
    print(f"{CHECKS['ok']} ok, {CHECKS['fail']} failed")
    return 0 if CHECKS["fail"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
