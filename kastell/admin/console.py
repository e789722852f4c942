from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

if TYPE_CHECKING:
    from kastell.app import Kastell


def build_console(kastell: Kastell) -> Starlette:
    return Starlette()
