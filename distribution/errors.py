"""Error types: the type decides what happens to a failing step.

* ``PermanentError`` — retrying cannot help; the step fails and the reason goes
  into the Distribution Notice (e.g. checksum mismatch, wrong host key).
* ``RetryableError`` — the peer or the network may come back; the step is retried
  with backoff (e.g. connection refused, timeout).
* ``UserError`` — a mistake in what a person asked for; shown as one line, no traceback.
"""

from __future__ import annotations


class ArdisError(Exception):
    """Base of every error Ardis raises on purpose."""


class PermanentError(ArdisError):
    """Retrying will not help; fail the step and report the reason."""


class RetryableError(ArdisError):
    """A transient failure; the step should be retried later."""


class UserError(ArdisError):
    """Bad input from a person (a form field, a CLI argument)."""


class NotFound(UserError):
    """A referenced order, request, granule or collection does not exist."""


class ChecksumMismatch(PermanentError):
    """A file's recomputed checksum differs from the one in the inventory."""


class FileVanished(PermanentError):
    """A file that the inventory lists is no longer on disk."""


class MissingConnection(PermanentError):
    """A request names an Airflow connection that is not defined: nothing can be sent until it is."""
