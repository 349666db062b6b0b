"""XML metadata (``.xml``) as a tree: ``parse_xml_document`` / ``render_xml_document`` (ICD 4.3.6.2).

The ICD's default distribution format. Element names follow the ECS XML metadata
(``GranuleMetaDataFile``, ``ECSDataGranule``, ``LocalGranuleID``, ``DataFiles``/
``DataFileContainer`` with ``ChecksumType``, ``ChecksumOrigin``, ``Checksum``); an
OBJECT's VALUE is the element's text, its other statements (``NUM_VAL``, ``CLASS``) are
XML attributes, so nothing of an ODL file is lost on the way to XML and back:
``parse_xml_document(render_xml_document(d)) == canonical(d)``. The ECS DTDs the ICD
names (ScienceGranuleMetadata.dtd, …) are no longer online and are not validated here.

Three attributes carry what XML alone cannot say: ``ODLValue`` (the ODL text of a VALUE
when the element's text does not give it back: a bare word, a quoted number, a list, an
empty string), ``ODLKind`` (an OBJECT without VALUE, a GROUP with one) and ``ODLName``
(an ODL name that is no XML name).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from distribution.errors import PermanentError
from distribution.inventory.document import (
    GROUP,
    OBJECT,
    Block,
    MetadataDocument,
    Statement,
    is_number,
    quote_string,
    unquote,
)

ROOT = "GranuleMetaDataFile"
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CAMEL = {
    name.upper(): name
    for name in (
        "InventoryMetadata", "ArchivedMetadata", "ECSDataGranule", "LocalGranuleID", "ProductionDateTime",
        "DayNightFlag", "ReprocessingActual", "ReprocessingPlanned", "LocalVersionID", "SizeMBECSDataGranule",
        "RangeDateTime", "RangeBeginningDate", "RangeBeginningTime", "RangeEndingDate", "RangeEndingTime",
        "SpatialDomainContainer", "HorizontalSpatialDomainContainer", "BoundingRectangle",
        "WestBoundingCoordinate", "EastBoundingCoordinate", "NorthBoundingCoordinate", "SouthBoundingCoordinate",
        "GPolygon", "GPolygonContainer", "GRing", "GRingPoint", "GRingPointLatitude", "GRingPointLongitude",
        "GRingPointSequenceNo", "ExclusionGRingFlag", "MeasuredParameter", "MeasuredParameterContainer",
        "ParameterName", "QAFlags", "QAStats", "QAPercentMissingData", "QAPercentOutofboundsData",
        "QAPercentInterpolatedData", "QAPercentCloudCover", "AutomaticQualityFlag",
        "AutomaticQualityFlagExplanation", "OperationalQualityFlag", "ScienceQualityFlag",
        "ScienceQualityFlagExplanation", "CollectionDescriptionClass", "ShortName", "VersionID",
        "AdditionalAttributes", "AdditionalAttributesContainer", "AdditionalAttributeName", "InformationContent",
        "InformationContentContainer", "ParameterValue", "PGEVersionClass", "PGEVersion", "InputGranule",
        "InputPointer", "AncillaryInputGranule", "AncillaryInputPointer", "AncillaryInputType",
        "OrbitCalculatedSpatialDomain", "OrbitCalculatedSpatialDomainContainer", "OrbitNumber",
        "EquatorCrossingLongitude", "EquatorCrossingDate", "EquatorCrossingTime", "AssociatedPlatformInstrumentSensor",
        "AssociatedPlatformInstrumentSensorContainer", "AssociatedPlatformShortName", "AssociatedInstrumentShortName",
        "AssociatedSensorShortName", "DataFiles", "DataFileContainer", "DistributedFileName", "FileSize",
        "ChecksumType", "ChecksumOrigin", "Checksum",
    )
}


def _tag(name: str) -> tuple[str, str | None]:
    """The element name for an ODL name, and the ODL name itself when it cannot be one."""
    tag = _CAMEL.get(name.upper(), name)
    return (tag, None) if _XML_NAME.fullmatch(tag) else ("Block", name)


def _attribute_name(name: str) -> str:
    """An ODL statement name as an XML attribute name: other characters as ``_xHHHH_`` (as XmlConvert does)."""
    out = "".join(c if re.fullmatch(r"[A-Za-z0-9_.-]", c) else f"_x{ord(c):04X}_" for c in name)
    return out if _XML_NAME.fullmatch(out) else f"_x{ord(out[0]):04X}_{out[1:]}"


def _odl_name(attribute: str) -> str:
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), attribute)


def _text_and_marker(raw: str) -> tuple[str, str | None]:
    """The element text for a VALUE's ODL text, and that text again when the element text does not say it."""
    text = unquote(raw)
    inferred = text if is_number(text) else quote_string(text)
    return text, (None if inferred == raw and text else raw)


def _element(parent: ET.Element, block: Block) -> None:
    tag, odl_name = _tag(block.name)
    element = ET.SubElement(parent, tag)
    if odl_name is not None:
        element.set("ODLName", odl_name)
    value = block.statement("VALUE")
    if (block.kind == OBJECT) != (value is not None):
        element.set("ODLKind", block.kind)
    for item in block.items:
        if isinstance(item, Statement) and item is not value:
            element.set(_attribute_name(item.name), item.value)
    if value is not None:
        element.text, marker = _text_and_marker(value.value)
        if marker is not None:
            element.set("ODLValue", marker)
    for child in block.blocks():
        _element(element, child)


def render_xml_document(document: MetadataDocument) -> str:
    """The document as ECS-style XML (UTF-8, indented)."""
    root = ET.Element(ROOT)
    for item in document.items:
        if isinstance(item, Statement):
            root.set(_attribute_name(item.name), item.value)
    for item in document.items:
        if isinstance(item, Block):
            _element(root, item)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_MARKERS = ("ODLName", "ODLKind", "ODLValue")


def _block(element: ET.Element) -> Block:
    text = (element.text or "").strip()
    has_value = "ODLValue" in element.attrib or bool(text)
    kind = element.get("ODLKind") or (OBJECT if has_value else GROUP)
    block = Block(kind, element.get("ODLName") or element.tag.upper())
    block.items += [Statement(_odl_name(k), v) for k, v in element.attrib.items() if k not in _MARKERS]
    if has_value:
        raw = element.get("ODLValue") or (text if is_number(text) else quote_string(text))
        block.items.append(Statement("VALUE", raw))
    block.items += [_block(child) for child in element]
    return block


def parse_xml_document(text: str) -> MetadataDocument:
    """Read ECS-style XML metadata into the tree; no DTD or entity is ever expanded."""
    if "<!ENTITY" in text or "<!DOCTYPE" in text and "[" in text.split("<!DOCTYPE", 1)[1].split(">", 1)[0]:
        raise PermanentError("metadata XML may not declare entities")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise PermanentError(f"metadata XML is not well formed: {e}") from e
    document = MetadataDocument([Statement(_odl_name(k), v) for k, v in root.attrib.items()])
    document.items += [_block(child) for child in root]
    return document
