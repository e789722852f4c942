#!/usr/bin/env python3
"""LMTP delivery throughput, Kastell side by side with Dovecot; and SMTP inbound with checks off/on.

    python bench/lmtp.py [--messages 2000] [--connections 1 4] [--no-dovecot] [--smtp 500]

1. Starts ``kastell serve`` on a fresh data directory (LMTP and SMTP on free
   loopback ports) and a private Dovecot (/work/shared/peers/dovecot.sh, or
   ../shared/peers/dovecot.sh from the checkout) when it is installed.
2. Delivers N messages of 2-50 KB to one user over 1 and over 4 connections
   (each connection sends N/connections messages in sequence) to both servers
   and prints messages/s and the ratio Kastell/Dovecot.
3. Delivers M messages over SMTP to Kastell's MX with SPF/DKIM/DMARC checks
   off and on (DNS answered from /etc/resolv.conf: a machine without network
   answers "temperror" quickly; the crypto and parsing costs are real).

Prints numbers; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kastell.config import SERVICES  # noqa: E402

PASSWORD = "bench-password-1"
WORDS = "meeting budget report draft review schedule project client invoice team update quarter".split()  # noqa: SIM905


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_messages(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    messages = []
    for n in range(count):
        size = rng.randint(2 * 1024, 50 * 1024)
        line = " ".join(rng.choice(WORDS) for _ in range(12))
        body = "\r\n".join(line for _ in range(size // (len(line) + 2) + 1))
        messages.append(
            (
                f"From: Sender {n % 37} <s{n % 37}@remote.example>\r\nTo: alice@bench.test\r\n"
                f"Subject: bench {n}\r\nMessage-ID: <bench-{n}-{time.time_ns()}@remote.example>\r\n"
                f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n{body}\r\n"
            ).encode()
        )
    return messages


def kastell(data: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "kastell", "--data", str(data), *args], input=stdin, text=True, check=True,
                   capture_output=True)  # fmt: skip


def send(port: int, messages: list[bytes], recipient: str, lmtp: bool) -> int:
    client = smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port)
    ok = 0
    try:
        client.ehlo_or_helo_if_needed()
        for message in messages:
            refused = client.sendmail("s@remote.example", [recipient], message)
            ok += not refused
    finally:
        client.quit()
    return ok


def run(port: int, messages: list[bytes], recipient: str, connections: int, lmtp: bool = True) -> float:
    shares = [messages[i::connections] for i in range(connections)]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda s=share: results.append(send(port, s, recipient, lmtp))) for share in shares
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if sum(results) != len(messages):
        print(f"  warning: {len(messages) - sum(results)} messages refused", file=sys.stderr)
    return len(messages) / elapsed


def start_kastell(root: Path, extra: str = "") -> tuple[subprocess.Popen[bytes], dict[str, int], Path]:
    data = root / "kastell"
    if not data.exists():
        kastell(data, "init", "--no-demo", "--hostname", "mx.bench.test")
        kastell(data, "domain", "add", "bench.test")
        kastell(data, "user", "add", "alice@bench.test", "--password-stdin", stdin=PASSWORD + "\n")
    if extra:
        (data / "kastell.toml").write_text((data / "kastell.toml").read_text() + extra)
    ports = {"lmtp": free_port(), "smtp": free_port()}
    listen = []
    for service in SERVICES:
        listen += ["--listen", f"{service}=127.0.0.1:{ports[service]}" if service in ports else f"{service}=off"]
    log = (root / "kastell.log").open("wb")  # fresh: "kastell ready" must be this run's
    proc = subprocess.Popen([sys.executable, "-m", "kastell", "serve", "--data", str(data), *listen], stderr=log)
    deadline = time.monotonic() + 30
    while b"kastell ready" not in (root / "kastell.log").read_bytes():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("kastell did not start; see " + str(root / "kastell.log"))
        time.sleep(0.05)
    return proc, ports, data


def dovecot_script() -> Path | None:
    for candidate in (Path("/work/shared/peers/dovecot.sh"), Path(__file__).resolve().parents[2] / "shared/peers/dovecot.sh"):
        if candidate.exists() and shutil.which("dovecot"):
            return candidate
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--smtp", type=int, default=500, help="messages for the SMTP inbound runs (0: skip)")
    parser.add_argument("--no-dovecot", action="store_true")
    args = parser.parse_args()
    messages = make_messages(args.messages)
    print(f"{len(messages)} messages, {sum(map(len, messages)) / len(messages) / 1024:.1f} KB on average")
    root = Path(tempfile.mkdtemp(prefix="kastell-bench-lmtp-"))
    root.chmod(0o755)  # the Dovecot peer runs as its own users and must reach its directory
    script = None if args.no_dovecot else dovecot_script()
    dovecot_dir = root / "dovecot"
    dovecot_lmtp = free_port()
    try:
        proc, ports, _ = start_kastell(root)
        if script:
            subprocess.run(["sh", str(script), "start", str(dovecot_dir), str(free_port()), str(free_port()), str(dovecot_lmtp)],
                           check=True)  # fmt: skip
        for connections in args.connections:
            k_rate = run(ports["lmtp"], messages, "alice@bench.test", connections)
            line = f"LMTP, {connections} connection(s): Kastell {k_rate:7.1f} msg/s"
            if script:
                d_rate = run(dovecot_lmtp, messages, "alice@bench.test", connections)
                line += f"   Dovecot {d_rate:7.1f} msg/s   ratio {k_rate / d_rate:.2f}"
            print(line, flush=True)
        proc.terminate()
        proc.wait(10)
        if args.smtp:
            sample = messages[: args.smtp]
            for label, extra in (("checks off", "\n[smtp]\nverify_senders = false\n"), ("checks on", "")):
                toml = root / "kastell" / "kastell.toml"
                text = toml.read_text().split("\n[smtp]\n")[0]
                toml.write_text(text)
                proc, ports, _ = start_kastell(root, extra)
                rate = run(ports["smtp"], sample, "alice@bench.test", 1, lmtp=False)
                print(f"SMTP inbound, 1 connection, SPF/DKIM/DMARC {label}: {rate:7.1f} msg/s", flush=True)
                proc.terminate()
                proc.wait(10)
    finally:
        if script:
            subprocess.run(["sh", str(script), "stop", str(dovecot_dir)], check=False)
        if os.environ.get("KEEP") is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
