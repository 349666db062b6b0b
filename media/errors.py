"""Media error types: the type decides what the caller does with a failure.

``media`` cannot import ``distribution``, so it has its own two bases, which
``distribution`` maps onto its PermanentError / RetryableError:

* ``MediaError`` — retrying the same step cannot help (a granule too big for any
  volume, a name clash, a read-back mismatch); fail and report the reason.
* ``MediaRetryable`` — the device or the operator may fix it (no blank disc loaded
  in time, tape full with no next tape, a busy drive); try again later.
"""

from __future__ import annotations


class MediaError(Exception):
    """A permanent media failure; the message is the reason to report."""


class MediaRetryable(Exception):
    """A transient media failure (device, operator); retry later."""


class GranuleTooLarge(MediaError):
    """A granule does not fit on one volume of the medium (granules are never split)."""

    key: str | None = None  # the granule's key, when planning collects rejects instead of raising


class VolumeOverCapacity(MediaError):
    """A built image or stream is larger than the medium holds."""


class NameClash(MediaError):
    """Two entries of a volume would get the same path (on disc or in the tar)."""


class BadName(MediaError):
    """A name cannot be written on the medium (empty, '/', NUL, too long, '..')."""


class ReadBackMismatch(MediaError):
    """What was read back from an image, a disc or a tape differs from what was written."""


class ToolFailed(MediaError):
    """An external tool (xorriso, mt, tar) failed in a way retrying will not fix."""


class DeviceError(MediaRetryable):
    """A drive refused a command or an I/O failed; another attempt or another drive may work."""


class NoMediaLoaded(MediaRetryable):
    """No suitable blank disc or tape was loaded before the timeout."""


class EndOfTape(MediaRetryable):
    """The tape is full (ENOSPC); the caller writes a filemark and asks for the next tape."""


class StagingFull(MediaRetryable):
    """The disk that receives an image has no room for it; freeing space (housekeeping, the operator) fixes it."""
