"""ESO Phase 3 (seed 000): data releases that PIs prepare, validate, upload and close, and that the archive
validates, archives and publishes — a second way into the archive beside PDR ingest.

* models.py — programs, CoI grants, collections, releases, their history and archived files (migration 0009)
* programs.py — "1. Create Phase 3 Program", "2. Manage Program Permissions": roles PI, CoI, ESO/EDP, ESO/SYSTEM
* releases.py — "3. Create Collection and Release", "release states": the state machine and who may move it
* categories.py — PRODCATG categories and the mandatory keywords of each
* content.py — CONTENT.ESO and CHANGES.USER ("updating or superseding a release"), parse/render pairs
* validator.py — "validate data release": ``validator.jar -r DIR -m create|update`` in Python
* areas.py — where upload areas and validation reports live
* upload.py — "6. Upload Data": the upload areas over SFTP, for the PI and CoIs of Open releases
* workflow.py — "7. Close Release" to "9. Validate Release (scientific)": the release run's steps
* scientific.py — "9. Validate Release (scientific)": what the scientists' queue shows of a waiting release
* archiving.py — "10. Archive Release", "11. Publish Release": granules, INSERT events, updates as new versions
"""
