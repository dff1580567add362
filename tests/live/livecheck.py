"""What the live tests share: counted checks and free loopback ports.

tests/live/live_test.py and rpc_test.py import it (each script's own folder is on sys.path).
"""
import socket

CHECKS = {"ok": 0, "fail": 0}


def check(name, cond, detail=""):
    """Prints one check's verdict and counts it; returns cond so a caller can stop early."""
    CHECKS["ok" if cond else "fail"] += 1
    print(("ok   " if cond else "FAIL ") + name + (f" ({detail})" if detail else ""), flush=True)
    return cond


def free_ports(n):
    """n distinct loopback ports free right now (bound together, then released)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports
