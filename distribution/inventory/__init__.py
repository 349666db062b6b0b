"""The archive's inventory: collections, granules, their files and metadata.

* archive.py — add granules to the archive, find them by UR, internal checksums
* metadata.py — read a granule's ODL (``.met``) or XML metadata into attributes
"""
