"""Snapshots shared through object storage: ``demoseed push`` / ``pull`` / ``ls`` (see docs/sharing.md).

:mod:`.store` opens a remote by URL (S3 and S3-compatible servers, GCS, Azure, ``file://``, read-only
``https://``) and turns the store's errors into one line; :mod:`.signing` signs and checks manifests
(Ed25519, OpenSSH keys); :mod:`.cache` is the local content-addressed cache; :mod:`.share` pushes, pulls
and lists.
"""
