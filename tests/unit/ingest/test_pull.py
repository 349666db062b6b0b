"""Which checksum ingest computes (ICD 4.5, 4.3.6.3): the provider's verification percentage, and the
percentage of files without a usable provider checksum for which Ardis computes a CKSUM."""

from __future__ import annotations

import pytest

from distribution.errors import UserError
from distribution.ingest.providers import ProviderSpec, _check
from distribution.ingest.pull import checksum_to_compute
from distribution.models import IngestFile, Provider


def _files(n: int, checksum_type: str | None) -> list[IngestFile]:
    return [IngestFile(directory_id="/data", file_id=f"g{i}.hdf", checksum_type=checksum_type,
                       checksum_value="1" if checksum_type else None) for i in range(n)]


def _share(provider: Provider, files: list[IngestFile], pdr_id: int = 7) -> list[str | None]:
    return [checksum_to_compute(provider, pdr_id, f) for f in files]


def test_verification_percentage_per_provider() -> None:
    files = _files(1000, "MD5")
    for percent, low, high in ((100, 1000, 1000), (0, 0, 0), (40, 340, 460)):
        provider = Provider(verify_percent=percent, compute_cksum=True, compute_percent=100)
        picked = _share(provider, files)
        assert set(picked) <= {"MD5", None}
        assert low <= picked.count("MD5") <= high
        assert _share(provider, files) == picked  # a retried pull verifies the same files


def test_compute_percentage_for_files_without_a_checksum() -> None:
    for checksum_type in (None, "ECS"):  # none given, or one Ardis cannot compute
        files = _files(1000, checksum_type)
        everything = _share(Provider(verify_percent=100, compute_cksum=True, compute_percent=100), files)
        assert everything == ["CKSUM"] * 1000
        some = _share(Provider(verify_percent=100, compute_cksum=True, compute_percent=25), files)
        assert set(some) == {"CKSUM", None} and 180 <= some.count("CKSUM") <= 320
        assert _share(Provider(verify_percent=100, compute_cksum=True, compute_percent=25), files) == some
        assert set(_share(Provider(verify_percent=100, compute_cksum=False, compute_percent=100), files)) == {None}


def test_percentages_are_checked() -> None:
    for spec in (ProviderSpec(name="p", polling_directory="/x", root_directory="/r", compute_percent=101),
                 ProviderSpec(name="p", polling_directory="/x", root_directory="/r", verify_percent=-1)):
        with pytest.raises(UserError, match="percentage must be 0 to 100"):
            _check(spec)
