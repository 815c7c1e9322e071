"""Replay's trust: a record runs only if this machine made it or the user said ``--trust``.

Replay executes the record: the baseline snapshot (its code, its
``campaign.toml`` commands) and every patch, steered by the journal. So trust
covers all of those bytes (``campaign.loop.manifest``), not just the journal.
When this machine makes a record (``campaign run``, ``campaign demo``,
``campaign finish``) the digest of its manifest is added to the trust store
(``$XDG_CONFIG_HOME/campaign/trusted``, default ``~/.config/campaign/trusted``,
one digest per line; ``CAMPAIGN_TRUST_FILE`` overrides the path).

A record is trusted only when the digest of its files *as they are now* is
in the store. Where the record lies does not matter: a record inside the
current git repository is not trusted for that (``git clone hostile && cd
hostile && campaign replay optim/x`` must not run the clone's code), and the
``manifest.json`` written with a record proves nothing by itself; it only
lets the refusal name the files that changed.
"""

from __future__ import annotations

import os
from pathlib import Path

from campaign.loop.manifest import changed_files, manifest, manifest_digest, read_manifest


def trust_file() -> Path:
    """Where this machine lists the digests of the records it made."""
    if os.environ.get("CAMPAIGN_TRUST_FILE"):
        return Path(os.environ["CAMPAIGN_TRUST_FILE"])
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "campaign" / "trusted"


def _trusted_digests() -> set[str]:
    try:
        return set(trust_file().read_text().split())
    except OSError:
        return set()


def remember_trusted(record_dir: Path) -> str:
    """This machine made ``record_dir``: trust exactly its current bytes; returns the digest."""
    digest = manifest_digest(manifest(Path(record_dir)))
    if digest not in _trusted_digests():
        path = trust_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fh.write(digest + "\n")
    return digest


def is_trusted(record_dir: Path) -> bool:
    """True when this machine made the record exactly as it is now."""
    return manifest_digest(manifest(Path(record_dir))) in _trusted_digests()


def untrusted_reason(record_dir: Path) -> str:
    """Why ``record_dir`` is not trusted, naming the altered files when its manifest allows."""
    record_dir = Path(record_dir)
    shipped = read_manifest(record_dir)
    if shipped is not None and manifest_digest(shipped) in _trusted_digests():
        changed = changed_files(shipped, manifest(record_dir))
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        return (f"{record_dir} was made on this machine, but since then these files changed: {shown}; "
                f"replay executes them")
    return (f"{record_dir} comes from an unknown source (this machine did not record it, or not as it is now) "
            f"and replay executes its code (the baseline snapshot, its campaign.toml commands and every patch)")
