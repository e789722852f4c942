"""The DAV app in-process (httpx ASGI transport): policy that needs a fake client address."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from kastell.app import Kastell
from kastell.config import load
from kastell.protocols.dav import build_dav_app
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import parse


def _provision(data: Path) -> None:
    for args in (
        ("init", "--no-demo"),
        ("domain", "add", "in.test"),
        ("user", "add", "u@in.test", "--password", "pw-pw-pw-9"),
    ):
        subprocess.run([sys.executable, "-m", "kastell", "--data", str(data), *args], check=True, capture_output=True)


def test_basic_auth_refused_over_plain_http_from_afar(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _provision(data)

    async def main() -> tuple[int, int, int]:
        app = await Kastell.open(load(data))
        try:
            dav = build_dav_app(app)

            async def status(client: tuple[str, int], scheme: str) -> int:
                transport = httpx.ASGITransport(app=dav, client=client)
                async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://kastell.test") as c:
                    r = await c.request("PROPFIND", "/dav/", auth=("u@in.test", "pw-pw-pw-9"), headers={"Depth": "0"})
                    return r.status_code

            return (
                await status(("203.0.113.7", 5000), "http"),
                await status(("203.0.113.7", 5000), "https"),
                await status(("127.0.0.1", 5000), "http"),
            )
        finally:
            await app.close()

    far_plain, far_tls, near_plain = asyncio.run(main())
    assert far_plain == 403 and far_tls == 207 and near_plain == 207


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_xml_parser_never_raises_anything_but_dav_errors(body: bytes) -> None:
    try:
        parse(body)
    except DavError as exc:
        assert exc.status in (400, 413)
