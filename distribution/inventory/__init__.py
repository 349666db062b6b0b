"""The archive's inventory: collections, granules, their files and metadata.

* archive.py — add granules to the archive, find them by UR, internal checksums
* catalog.py — search the inventory (collection, time, text, qualifier) with data rights
* rights.py — the data-rights rule (proprietary until the release date, for the owner group) and its setters
* metadata.py — read a granule's ODL (``.met``) or XML metadata into attributes
* document.py — metadata as a tree (either format), with the checksums distribution adds (ICD 5.2.2)
* odl.py — ``parse_odl_document`` / ``render_odl_document``: the tree as ODL (``.met``)
* xml_metadata.py — ``parse_xml_document`` / ``render_xml_document``: the tree as ECS-style XML
"""
