"""Running the external media tools (mt, xorriso) with one error mapping."""

from __future__ import annotations

import subprocess

from media.errors import DeviceError, ToolFailed


def run_tool(cmd: list[str], timeout: float, install_hint: str) -> str:
    """Run ``cmd``; return stdout+stderr. Missing tool: ToolFailed; failure or timeout: DeviceError."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise ToolFailed(f"{cmd[0]} not found ({install_hint})") from e
    except subprocess.TimeoutExpired as e:
        raise DeviceError(f"{' '.join(cmd)} timed out") from e
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise DeviceError(f"{' '.join(cmd)} failed ({done.returncode}): {tail}")
    return done.stdout + done.stderr
