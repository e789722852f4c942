#!/usr/bin/env python3
"""CalDAV/CardDAV side by side: Kastell and a private Radicale, in one run.

    python bench/dav.py [--events 2000] [--cards 1000] [--keep DIR]

Both servers run on loopback and are driven by the same httpx client code, one
request at a time on a keep-alive connection (what a syncing client does):

1. PUT N events (12% weekly-recurring) into a new calendar, M vCards into a new
   address book; rate per second.
2. calendar-query with a one-month time-range (getetag + calendar-data).
3. calendar-multiget of 100 hrefs.
4. sync-collection: initial (empty token), then incremental after 10 changes.
5. PROPFIND Depth 1 (getetag, getcontenttype) of the calendar.

Prints a table with Kastell/Radicale time ratios (< 1 means Kastell is faster).
No assertions: the targets (PUT 10x Radicale's rate, reads at most half its time)
are for people to read off the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RADICALE_SH = ROOT.parent / "shared" / "peers" / "radicale.sh"
if not RADICALE_SH.exists():
    RADICALE_SH = Path("/work/shared/peers/radicale.sh")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(i: int, rng: random.Random) -> str:
    day = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC) + dt.timedelta(days=rng.randrange(365), hours=rng.randrange(10))
    end = day + dt.timedelta(minutes=rng.choice((30, 60, 90)))
    rrule = "RRULE:FREQ=WEEKLY;COUNT=20\r\n" if i % 100 < 12 else ""
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:bench-event-{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{day.strftime(fmt)}\r\n"
        f"DTEND:{end.strftime(fmt)}\r\n{rrule}SUMMARY:Meeting number {i}\r\n"
        f"DESCRIPTION:Agenda item {i} with some text to make the object realistic\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def card(i: int) -> str:
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-card-{i}\r\nFN:Person {i}\r\nN:{i};Person;;;\r\n"
        f"EMAIL;TYPE=work:person{i}@example.com\r\nTEL;TYPE=cell:+4917{i:08d}\r\nORG:Example {i % 50}\r\n"
        "END:VCARD\r\n"
    )


MONTH = (
    b'<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    b'<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    b'<C:comp-filter name="VEVENT"><C:time-range start="20260601T000000Z" end="20260701T000000Z"/>'
    b"</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
)
PROPFIND = (
    b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>'
)


def sync_body(token: str) -> bytes:
    return (
        '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>'
        + token
        + "</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    ).encode()


def multiget_body(hrefs: list[str]) -> bytes:
    inner = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return (
        '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{inner}</C:calendar-multiget>"
    ).encode()


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best of ``repeat`` wall-clock runs (noise on a shared machine only adds)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def run(name: str, base: str, cal: str, book: str, auth: tuple[str, str], args: argparse.Namespace) -> dict[str, float]:
    client = httpx.Client(base_url=base, auth=auth, timeout=120)
    results: dict[str, float] = {}

    def ok(resp: httpx.Response, *codes: int) -> httpx.Response:
        if resp.status_code not in codes:
            raise SystemExit(
                f"{name}: {resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text[:300]}"
            )
        return resp

    ok(client.request("MKCALENDAR", cal), 201)
    mkcol = (
        b'<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
        b"<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"
    )
    ok(client.request("MKCOL", book, content=mkcol, headers={"Content-Type": "application/xml"}), 201)
    rng = random.Random(5)
    bodies = [event(i, rng) for i in range(args.events)]
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        ok(client.put(f"{cal}e{i}.ics", content=body, headers={"Content-Type": "text/calendar"}), 201)
    results["PUT events/s"] = args.events / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(args.cards):
        ok(client.put(f"{book}c{i}.vcf", content=card(i), headers={"Content-Type": "text/vcard"}), 201)
    results["PUT vCards/s"] = args.cards / (time.perf_counter() - started)

    month = ok(client.request("REPORT", cal, content=MONTH, headers={"Depth": "1"}), 207)
    results["month matches"] = month.text.count("<D:response") + month.text.count("<response")
    results["REPORT month (s)"] = timed(
        lambda: ok(client.request("REPORT", cal, content=MONTH, headers={"Depth": "1"}), 207)
    )
    hrefs = [f"{cal}e{i}.ics" for i in range(0, args.events, max(1, args.events // 100))][:100]
    results["multiget 100 (s)"] = timed(lambda: ok(client.request("REPORT", cal, content=multiget_body(hrefs)), 207))
    initial = ok(client.request("REPORT", cal, content=sync_body("")), 207)
    results["sync initial (s)"] = timed(lambda: ok(client.request("REPORT", cal, content=sync_body("")), 207))
    token_match = re.search(r"<(?:\w+:)?sync-token>([^<]+)</", initial.text)
    assert token_match is not None, initial.text[-500:]
    token = token_match.group(1)
    for i in range(10):
        ok(client.put(f"{cal}e{i}.ics", content=event(i, rng).replace("Meeting", "Changed")), 204, 201)
    results["sync incremental (s)"] = timed(lambda: ok(client.request("REPORT", cal, content=sync_body(token)), 207))
    results["PROPFIND depth 1 (s)"] = timed(
        lambda: ok(client.request("PROPFIND", cal, content=PROPFIND, headers={"Depth": "1"}), 207)
    )
    client.close()
    return results


def start_kastell(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    data = work / "kastell"
    env = {k: v for k, v in os.environ.items() if k != "KASTELL_DATA"}

    def cli(*a: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "kastell", "--data", str(data), *a], check=True, env=env, capture_output=True
        )

    cli("init", "--no-demo")
    cli("domain", "add", "bench.test")
    cli("user", "add", "alice@bench.test", "--password", "bench-secret-1")
    from kastell.config import SERVICES

    port = free_port()
    listen: list[str] = []
    for service in SERVICES:
        value = f"127.0.0.1:{port}" if service == "http" else "off"
        listen += ["--listen", f"{service}={value}"]
    log = (work / "kastell.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kastell", "serve", "--data", str(data), *listen], stdout=log, stderr=log, env=env
    )
    for _ in range(300):
        if b"kastell ready" in (work / "kastell.log").read_bytes():
            break
        time.sleep(0.05)
    else:
        raise SystemExit("kastell did not start: " + (work / "kastell.log").read_text()[-2000:])
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    parser.add_argument("--no-radicale", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="kastell-bench-dav-"))
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    proc, url = start_kastell(work)
    table: dict[str, dict[str, float]] = {}
    try:
        user = "alice@bench.test"
        table["kastell"] = run(
            "kastell",
            url,
            f"/dav/calendars/{user}/bench/",
            f"/dav/addressbooks/{user}/book/",
            (user, "bench-secret-1"),
            args,
        )
    finally:
        proc.terminate()
        proc.wait(10)
    if not args.no_radicale:
        rdir = work / "radicale"
        port = free_port()
        subprocess.run(["sh", str(RADICALE_SH), "start", str(rdir), str(port)], check=True)
        try:
            table["radicale"] = run(
                "radicale", f"http://127.0.0.1:{port}", "/alice/bench/", "/alice/book/", ("alice", "secret"), args
            )
        finally:
            subprocess.run(["sh", str(RADICALE_SH), "stop", str(rdir)], check=False)
    print(f"\nDAV benchmark: {args.events} events (12% recurring), {args.cards} vCards; best of 3 for reads")
    names = list(table["kastell"])
    print(f"{'':24}{'kastell':>12}{'radicale':>12}{'ratio':>10}")
    for key in names:
        k = table["kastell"][key]
        rad = table.get("radicale", {}).get(key)
        if rad is None:
            print(f"{key:24}{k:12.3f}")
            continue
        if key.endswith("/s"):
            ratio = f"{k / rad:8.1f}x"  # rate: higher is better
        elif key.endswith("(s)"):
            ratio = f"{k / rad:8.2f}"  # time: lower is better
        else:
            ratio = ""
        print(f"{key:24}{k:12.3f}{rad:12.3f}{ratio:>10}")
    print("ratio: rates Kastell/Radicale (want >= 10x); times Kastell/Radicale (want <= 0.5)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
