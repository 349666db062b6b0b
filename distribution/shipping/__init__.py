"""Physical media orders: what a request becomes on CD, DVD or tape, and the paperwork that ships with it.

* production.py — plan a request's volumes, build, write and read back each one, mark a bad one for rewrite
* drives.py — the site's drives (configured or found by udev) as ``media`` drives
* alerts.py — operations told when a volume waits for a blank medium too long
* paperwork.py — the media DN (ICD Table 4.3.6-2), packing list and rejection notice of a shipment

The bytes on the media are ``media``'s business; this package knows the orders.
"""
