"""Finding optical and tape drives with pyudev, and waiting for the operator to load media.

Optical drives are block devices with ``ID_CDROM=1``; what they can write is in the
``ID_CDROM_<TYPE>`` flags and the loaded disc in ``ID_CDROM_MEDIA``,
``ID_CDROM_MEDIA_<TYPE>`` and ``ID_CDROM_MEDIA_STATE`` (blank / appendable /
complete), as udev's cdrom_id sets them. Tape drives are ``scsi_tape`` devices;
Ardis writes to the non-rewinding node (``nst*``). Loading a disc sends a udev
``change`` event, which ``wait_for_blank`` waits for (with a timeout).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyudev

from media.errors import NoMediaLoaded

# udev media-type flag suffixes (ID_CDROM_MEDIA_<flag>) for the media Ardis burns
MEDIA_FLAGS = {"CD": ("CD_R", "CD_RW"), "DVD": ("DVD_PLUS_R", "DVD_R", "DVD_PLUS_R_DL", "DVD_R_DL", "DVD_PLUS_RW", "DVD_RW"),
               "BD": ("BD_R", "BD_RE")}


@dataclass(frozen=True)
class OpticalDriveInfo:
    """An optical drive as udev sees it now."""

    device: str  # /dev/sr0
    model: str
    writes: frozenset[str]  # media types it handles (udev's flags), e.g. {"CD_R", "DVD_PLUS_R", "BD_R"}
    media: str | None  # the loaded disc's type flag (e.g. "DVD_PLUS_R"), None when empty
    media_state: str | None  # "blank", "appendable", "complete", or None when empty

    @property
    def blank(self) -> bool:
        return self.media is not None and self.media_state == "blank"


@dataclass(frozen=True)
class TapeDriveInfo:
    """A SCSI tape drive: its non-rewinding node and model."""

    device: str  # /dev/nst0
    model: str


def _flags(props: dict[str, str], prefix: str) -> set[str]:
    return {k[len(prefix):] for k, v in props.items() if k.startswith(prefix) and v == "1"}


def optical_info(device: pyudev.Device) -> OpticalDriveInfo:
    """Read a drive's capabilities and loaded disc from its udev properties."""
    props = {k: device.properties[k] for k in device.properties}
    writes = {f for f in _flags(props, "ID_CDROM_") if f != "MEDIA" and not f.startswith("MEDIA_")}
    media = None
    if props.get("ID_CDROM_MEDIA") == "1":
        kinds = sorted(_flags(props, "ID_CDROM_MEDIA_") - {"STATE", "SESSION_COUNT", "TRACK_COUNT"})
        media = kinds[0] if kinds else "UNKNOWN"
    return OpticalDriveInfo(
        device=device.device_node or f"/dev/{device.sys_name}",
        model=props.get("ID_MODEL", "").replace("_", " "),
        writes=frozenset(writes),
        media=media,
        media_state=props.get("ID_CDROM_MEDIA_STATE") if media else None,
    )


def find_optical_drives(context: pyudev.Context | None = None) -> list[OpticalDriveInfo]:
    """Every optical drive on this host, sorted by device node."""
    ctx = context or pyudev.Context()
    found = [optical_info(d) for d in ctx.list_devices(subsystem="block") if d.properties.get("ID_CDROM") == "1"]
    return sorted(found, key=lambda d: d.device)


def find_tape_drives(context: pyudev.Context | None = None) -> list[TapeDriveInfo]:
    """Every SCSI tape drive, by its non-rewinding node (``/dev/nst0``)."""
    ctx = context or pyudev.Context()
    found = []
    for d in ctx.list_devices(subsystem="scsi_tape"):
        if not d.sys_name.startswith("nst") or d.sys_name[-1] in "alm":  # nst0, not nst0a/l/m modes
            continue
        parent = d.find_parent("scsi")
        model = (parent.attributes.asstring("model").strip() if parent and "model" in parent.attributes.available_attributes
                 else d.properties.get("ID_MODEL", ""))
        found.append(TapeDriveInfo(d.device_node or f"/dev/{d.sys_name}", model))
    return sorted(found, key=lambda d: d.device)


def suits(info: OpticalDriveInfo, kind: str) -> bool:
    """Is a blank disc of this kind ("CD", "DVD", "BD") loaded?"""
    return info.blank and info.media in MEDIA_FLAGS.get(kind, (kind,))


def wait_for_blank(device: str, kind: str, timeout: float, context: pyudev.Context | None = None) -> OpticalDriveInfo:
    """Wait until a blank disc of ``kind`` is in ``device``; NoMediaLoaded after ``timeout`` seconds."""
    ctx = context or pyudev.Context()
    monitor = pyudev.Monitor.from_netlink(ctx)
    monitor.filter_by("block")
    monitor.start()
    deadline = time.monotonic() + timeout
    current = optical_info(pyudev.Devices.from_device_file(ctx, device))
    while not suits(current, kind):
        left = deadline - time.monotonic()
        if left <= 0:
            state = f"{current.media} {current.media_state}" if current.media else "no disc"
            raise NoMediaLoaded(f"no blank {kind} in {device} after {timeout:.0f} s ({state})")
        event = monitor.poll(timeout=min(left, 5.0))
        if event is not None and event.device_node == device:
            current = optical_info(event)
        elif event is None:
            current = optical_info(pyudev.Devices.from_device_file(ctx, device))
    return current
