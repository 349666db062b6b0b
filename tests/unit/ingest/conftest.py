"""A local provider with the sample collections, for the ingest steps' tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.sample_data import SAMPLES
from distribution.config import Settings
from distribution.db import session_scope
from distribution.ingest.providers import ProviderSpec, add_provider, open_server
from distribution.inventory.archive import get_or_create_collection
from distribution.models import Provider


@pytest.fixture
def local_provider(settings: Settings, tmp_path: Path) -> Path:
    area = tmp_path / "area"
    (area / "PDR").mkdir(parents=True)
    with session_scope(settings.database_url) as session:
        add_provider(session, ProviderSpec(name="P", root_directory=str(area), polling_directory="/PDR"))
        for esdt in {s.esdt for s in SAMPLES}:
            get_or_create_collection(session, esdt)
    return area


def local_server(p: Provider):  # type: ignore[no-untyped-def]
    return open_server(p, None)
