"""Sample science granules for the demo and the tests: data files with ODL ``.met`` metadata.

Data are pseudo-random (incompressible, reproducible from a seed); the metadata
carries what the inventory reads (LocalGranuleID, time range, bounding box, QA).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from distribution.inventory.archive import NewFile, add_granule
from distribution.checksums import checksum_file
from distribution.config import Settings
from distribution.models import Granule
from distribution.ingest.pdr import FileGroup, FileSpec, Pdr

MET_TEMPLATE = """GROUP                  = INVENTORYMETADATA
  GROUPTYPE            = MASTERGROUP

  GROUP                  = ECSDATAGRANULE
    OBJECT                 = LOCALGRANULEID
      NUM_VAL              = 1
      VALUE                = "{lgid}"
    END_OBJECT             = LOCALGRANULEID

    OBJECT                 = PRODUCTIONDATETIME
      NUM_VAL              = 1
      VALUE                = "{produced}"
    END_OBJECT             = PRODUCTIONDATETIME

    OBJECT                 = DAYNIGHTFLAG
      NUM_VAL              = 1
      VALUE                = "{daynight}"
    END_OBJECT             = DAYNIGHTFLAG
  END_GROUP              = ECSDATAGRANULE

  GROUP                  = RANGEDATETIME
    OBJECT                 = RANGEBEGINNINGDATE
      NUM_VAL              = 1
      VALUE                = "{begin:%Y-%m-%d}"
    END_OBJECT             = RANGEBEGINNINGDATE
    OBJECT                 = RANGEBEGINNINGTIME
      NUM_VAL              = 1
      VALUE                = "{begin:%H:%M:%S}.000000"
    END_OBJECT             = RANGEBEGINNINGTIME
    OBJECT                 = RANGEENDINGDATE
      NUM_VAL              = 1
      VALUE                = "{end:%Y-%m-%d}"
    END_OBJECT             = RANGEENDINGDATE
    OBJECT                 = RANGEENDINGTIME
      NUM_VAL              = 1
      VALUE                = "{end:%H:%M:%S}.000000"
    END_OBJECT             = RANGEENDINGTIME
  END_GROUP              = RANGEDATETIME

  GROUP                  = SPATIALDOMAINCONTAINER
    GROUP                  = HORIZONTALSPATIALDOMAINCONTAINER
      GROUP                  = BOUNDINGRECTANGLE
        OBJECT                 = WESTBOUNDINGCOORDINATE
          NUM_VAL              = 1
          VALUE                = {west}
        END_OBJECT             = WESTBOUNDINGCOORDINATE
        OBJECT                 = NORTHBOUNDINGCOORDINATE
          NUM_VAL              = 1
          VALUE                = {north}
        END_OBJECT             = NORTHBOUNDINGCOORDINATE
        OBJECT                 = EASTBOUNDINGCOORDINATE
          NUM_VAL              = 1
          VALUE                = {east}
        END_OBJECT             = EASTBOUNDINGCOORDINATE
        OBJECT                 = SOUTHBOUNDINGCOORDINATE
          NUM_VAL              = 1
          VALUE                = {south}
        END_OBJECT             = SOUTHBOUNDINGCOORDINATE
      END_GROUP              = BOUNDINGRECTANGLE
    END_GROUP              = HORIZONTALSPATIALDOMAINCONTAINER
  END_GROUP              = SPATIALDOMAINCONTAINER

  GROUP                  = QAPERCENTMISSINGDATA
    OBJECT                 = QAPERCENTMISSINGDATA
      NUM_VAL              = 1
      VALUE                = {qa_missing}
    END_OBJECT             = QAPERCENTMISSINGDATA
  END_GROUP              = QAPERCENTMISSINGDATA
END_GROUP              = INVENTORYMETADATA

END
"""


@dataclass(frozen=True)
class SampleGranule:
    esdt: str
    lgid: str
    data_files: tuple[str, ...]
    size: int


SAMPLES = (
    SampleGranule("MOD09GHK.003", "MOD09GHK.A2002123.h11v05.003.2002128130140.hdf",
                  ("MOD09GHK.A2002123.h11v05.003.2002128130140.hdf",), 3 << 20),
    # A multi-file granule: two data files share one LocalGranuleID.
    SampleGranule("AST_L1BT.001", "AST_L1BT_00305042002163000_13683",
                  ("AST_L1BT_00305042002163000_B10.tif", "AST_L1BT_00305042002163000_B11.tif"), 2 << 20),
    SampleGranule("AST_L1BT.001", "AST_L1BT_00305042002163000_13684",
                  ("AST_L1BT_00305042002163000_13684.hdf",), 1 << 20),
    SampleGranule("MOD13A1.004", "MOD13A1.A2002185.h00v09.004.2002203071135.hdf",
                  ("MOD13A1.A2002185.h00v09.004.2002203071135.hdf",), 5 << 20),
)


def write_granule_files(directory: Path, sample: SampleGranule, seed: int, scale: float = 1.0) -> list[Path]:
    """Write one sample granule's data files and its ``.met``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i, name in enumerate(sample.data_files):
        path = directory / name
        size = max(1, int(sample.size * scale)) + i * 4099
        path.write_bytes(rng.randbytes(size))
        paths.append(path)
    begin = datetime(2002, 5, 3, 10, 0, 0) + timedelta(hours=seed)
    west = rng.uniform(-180, 170)
    south = rng.uniform(-80, 70)
    met = directory / f"{sample.lgid}.met"
    met.write_text(
        MET_TEMPLATE.format(
            lgid=sample.lgid, produced="2002-05-08T13:01:40.000Z", daynight=rng.choice(["Day", "Night"]),
            begin=begin, end=begin + timedelta(minutes=5), west=f"{west:.4f}", east=f"{west + 10:.4f}",
            south=f"{south:.4f}", north=f"{south + 10:.4f}", qa_missing=rng.randint(0, 20),
        )
    )
    paths.append(met)
    return paths


def load_samples(session: Session, settings: Settings, incoming: Path, scale: float = 1.0,
                 checksum_type: str = "MD5") -> list[Granule]:
    """Write every sample granule under ``incoming`` and register it in the archive."""
    granules = []
    for seed, sample in enumerate(SAMPLES, start=1):
        paths = write_granule_files(incoming / sample.lgid, sample, seed, scale)
        files = [NewFile(p, "METADATA" if p.suffix == ".met" else "SCIENCE") for p in paths]
        granules.append(add_granule(session, settings, sample.esdt, files, checksum_type=checksum_type))
    return granules


def write_delivery(area: Path, data_dir: str, samples: tuple[SampleGranule, ...] = SAMPLES, *,
                   scale: float = 1.0, checksum_type: str | None = "MD5", originating_system: str = "SIPS1",
                   first_seed: int = 1) -> Pdr:
    """Write sample granules under ``area/data_dir`` as a provider would, and the PDR that announces them.

    DIRECTORY_IDs are absolute from the provider's root (``/data_dir``), as FTP
    shows them. The caller writes ``render_pdr(pdr)`` wherever the PDR must go.
    """
    groups = []
    for seed, sample in enumerate(samples, start=first_seed):
        directory = area / data_dir / sample.lgid
        specs = []
        for path in write_granule_files(directory, sample, seed, scale):
            is_met = path.suffix == ".met"
            ctype = None if is_met or not checksum_type else checksum_type
            specs.append(FileSpec(f"/{data_dir}/{sample.lgid}", path.name, "METADATA" if is_met else "SCIENCE",
                                  path.stat().st_size, ctype, checksum_file(path, ctype) if ctype else None))
        short, _, version = sample.esdt.partition(".")
        groups.append(FileGroup(short, version, None, tuple(specs)))
    return Pdr(originating_system, sum(len(g.files) for g in groups), None, tuple(groups))
