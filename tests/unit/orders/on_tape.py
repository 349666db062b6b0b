"""A staged media request written to the virtual tape drive and read back: what the user's tape holds."""

from __future__ import annotations

import tarfile
from pathlib import Path

from distribution.config import Settings
from distribution.orders import delivery
from distribution.shipping import production


def write_and_read_tape(settings: Settings, request_id: str) -> tuple[list[Path], str]:
    """Stage, verify and write the request on ``tape-1``; the data files on its cartridges and the DN text."""
    delivery.begin_request(settings, request_id, "test")
    delivery.stage_request(settings, request_id)
    delivery.verify_request(settings, request_id)
    for media_id in production.plan_request(settings, request_id):
        production.build_volume(settings, media_id)
        production.record_load(settings, media_id, "tape-1", "SN-1")
        production.write_volume(settings, media_id)
        production.verify_volume(settings, media_id)
    members: list[Path] = []
    dn_text = ""
    for cartridge in sorted((settings.home / "drives").glob("tape-1.tape*")):
        with tarfile.open(cartridge, mode="r|") as tar:
            for member in tar:
                if member.name.endswith(f"{request_id}.txt"):
                    dn_text = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
                elif member.isfile():
                    members.append(Path(member.name))
    return members, dn_text
