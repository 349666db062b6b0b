"""ELT data products: the ESO Data Product Specification (seed 002), merged into one FITS file and archived.

A specification (``DpSpecification``) names the sources of one Data Product:
keywords reported by subsystems, keywords and HDU extensions of other FITS
files, and the target file they are merged into, in place when its header has
room. :func:`parse_spec` reads one; :func:`merge_product` builds the product;
:mod:`distribution.products.pipeline` takes a submitted specification through
fetch → merge → archive, once per specification id.
"""

from __future__ import annotations

from distribution.products.assemble import (
    MergeResult,
    ProductInvalid,
    SourceMissing,
    fetch_source,
    merge_product,
    verify_product,
)
from distribution.products.dictionary import (
    DictionaryEntry,
    DictionaryError,
    KeywordDictionary,
    load_dictionaries,
    parse_did,
    render_did,
)
from distribution.products.merge import MergeError
from distribution.products.spec import (
    DpSpecification,
    FitsFileSource,
    FitsKeywordsSource,
    SpecError,
    SpecProblem,
    json_schema,
    parse_location,
    parse_spec,
    render_spec,
)

__all__ = [
    "DictionaryEntry",
    "DictionaryError",
    "DpSpecification",
    "FitsFileSource",
    "FitsKeywordsSource",
    "KeywordDictionary",
    "MergeError",
    "MergeResult",
    "ProductInvalid",
    "SourceMissing",
    "SpecError",
    "SpecProblem",
    "fetch_source",
    "json_schema",
    "load_dictionaries",
    "merge_product",
    "parse_did",
    "parse_location",
    "parse_spec",
    "render_did",
    "render_spec",
    "verify_product",
]
