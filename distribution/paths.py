"""Paths built from what users and providers send stay under the root they belong to.

A user id of ``..`` once put an order's pull files beside the pull root, and
housekeeping later removed a directory outside it (issue 10, defect 6). Every
path Ardis makes from user input goes through ``under``; every removal checks it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from distribution.errors import PermanentError


class PathEscape(PermanentError):
    """A path built from user input would leave its root (``..``, an absolute part, a symlink out)."""


def under(root: Path | str, *parts: str | Path) -> Path:
    """``root/parts``, refused unless it names something strictly inside ``root``.

    Each part may hold several components (``00001/name``) but no ``..``, no NUL
    and no absolute path; and the resolved path (symlinks followed) must stay in
    the resolved root.
    """
    root = Path(root)
    for part in parts:
        text = str(part)
        if not text or "\0" in text or text.startswith(("/", "\\")) or PurePosixPath(text).is_absolute():
            raise PathEscape(f"not a relative path under {root.name or root}: {text!r}")
        if any(piece in ("..", ".") for piece in text.replace("\\", "/").split("/")):
            raise PathEscape(f"path part {text!r} would leave {root.name or root}")
    path = root.joinpath(*parts)
    base = os.path.realpath(root)
    real = os.path.realpath(path)
    if real == base or not Path(real).is_relative_to(base):
        raise PathEscape(f"{path} is not inside {root}")
    return path
