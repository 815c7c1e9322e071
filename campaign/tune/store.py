"""Where tuning results live: the measurement cache and the saved tune history.

One database, named by a SQLAlchemy URL, holds three things:

* ``campaign_tune_cache``: one row per measured configuration, keyed by the
  target, the measurement protocol (case, warm repeats, paired blocks), the
  knob values, the code version (a hash of the target's scope files) and
  the machine (CPU model, cores, Python). A repeated tune looks every
  configuration up here first and re-measures only what changed.
* ``campaign_tune_runs``: whole tune reports saved with ``--save NAME``
  (``campaign tune --history``).
* Optuna's own tables (``studies``, ``trials``, ...) for the smart strategy,
  created by Optuna in the same database, so that several tuning workers
  (threads, processes, or machines given the same ``--storage`` URL) share
  one study.

The default is an embedded SQLite file, ``.campaign/tune.sqlite`` in the
workspace. For many machines, point every worker at one server, e.g.
``postgresql://user:pass@host/campaign`` (driven by psycopg 3, a dependency;
``engine_url`` names the driver so the plain URL works).
Writes are single short transactions, so a crash loses at most the row being
written; a row is never half-written.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Sequence

DEFAULT_DB = Path(".campaign") / "tune.sqlite"


class StoreError(Exception):
    """The storage URL cannot be opened or read (a user mistake, not a bug)."""


def default_storage_url(workspace: Path) -> str:
    path = (Path(workspace) / DEFAULT_DB).resolve()
    return f"sqlite:///{path}"


def engine_url(url: str) -> str:
    """The SQLAlchemy URL to connect with: a plain ``postgresql://`` (or ``postgres://``) URL gets psycopg 3.

    SQLAlchemy's plain ``postgresql://`` means psycopg2, which is not a
    dependency; a URL that names its driver (``postgresql+psycopg2://``) is
    kept as it is.
    """
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def redact(url: str) -> str:
    """The URL without its password, for reports."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


def machine_of(env: dict) -> dict[str, Any]:
    """The part of ``collect_environment()`` that makes a timing this machine's."""
    return {
        "cpu_model": env.get("cpu_model"),
        "cores": env.get("cpu_affinity") or env.get("cpu_count"),
        "python": env.get("python"),
    }


def machine_key(machine: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(machine, sort_keys=True).encode()).hexdigest()[:16]


def code_version(workspace: Path, scope: list[str], extra_files: Sequence[Path] = ()) -> str:
    """A hash of the contents of the files matched by the target's scope globs (and ``extra_files``).

    ``extra_files`` is for the target's own definition (its cases and how it
    runs them live outside the scope, and change what a measurement means).
    """
    workspace = Path(workspace)
    digest = hashlib.sha256()
    paths = sorted({p for pattern in scope for p in workspace.glob(pattern) if p.is_file()})
    for path in paths:
        digest.update(str(path.relative_to(workspace)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for path in extra_files:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(str(path).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def knobs_json(knobs: dict[str, Any]) -> str:
    return json.dumps(knobs, sort_keys=True, default=str)


def cache_key(target: str, protocol: str, knobs: dict[str, Any], code: str, machine: str) -> str:
    text = json.dumps([target, protocol, knobs_json(knobs), code, machine])
    return hashlib.sha256(text.encode()).hexdigest()


def create_tables(create, attempts: int = 5):
    """Run ``create`` (a check-then-create of tables), again when another worker created them in between.

    Two workers starting at once on a fresh server both see no table and
    both issue CREATE TABLE; the loser's error ("already exists") means the
    table is there, so checking again succeeds.
    """
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return create()
        except (ProgrammingError, IntegrityError):
            if attempt == attempts - 1:
                raise


class TuneStore:
    """The cache and history tables behind one SQLAlchemy URL."""

    def __init__(self, url: str):
        self.url = url
        try:
            import sqlalchemy as sa
            from sqlalchemy.exc import SQLAlchemyError
        except ImportError as exc:  # pragma: no cover - optuna depends on it
            raise StoreError(f"SQLAlchemy is needed for tune storage: {exc}") from None
        self._sa = sa
        try:
            if url.startswith("sqlite:///"):
                db = Path(url[len("sqlite:///") :])
                if str(db) not in ("", ":memory:") and not db.parent.exists():
                    db.parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(engine_url(url),
                                           connect_args={"timeout": 30} if url.startswith("sqlite") else {})
            meta = sa.MetaData()
            self.cache = sa.Table(
                "campaign_tune_cache",
                meta,
                sa.Column("key", sa.String(64), primary_key=True),
                sa.Column("target", sa.String(200), index=True),
                sa.Column("machine", sa.String(32), index=True),
                sa.Column("code_version", sa.String(32)),
                sa.Column("protocol", sa.String(200)),
                sa.Column("knobs", sa.Text),
                sa.Column("status", sa.String(20)),
                sa.Column("result", sa.Text),
                sa.Column("created", sa.Float),
            )
            self.runs = sa.Table(
                "campaign_tune_runs",
                meta,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("name", sa.String(200), index=True),
                sa.Column("target", sa.String(200)),
                sa.Column("machine", sa.String(32)),
                sa.Column("created", sa.Float),
                sa.Column("report", sa.Text),
            )
            create_tables(lambda: meta.create_all(self.engine))
        except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:
            raise StoreError(
                f"cannot open the tune storage {redact(url)!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}. "
                f"Give a readable database URL with --storage (e.g. sqlite:///path/to/tune.sqlite, or "
                f"postgresql://user:password@host/db for many machines), or leave it out for the default "
                f"{DEFAULT_DB} in the workspace."
            ) from None

    def _run(self, fn, on_conflict=None):
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        try:
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except IntegrityError:
                if on_conflict is None:
                    raise
                with self.engine.begin() as conn:
                    return on_conflict(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"the tune storage {redact(self.url)!r} failed: {str(exc).splitlines()[0]}") from None

    # ------------------------------------------------------------------ cache

    def get(self, key: str) -> dict | None:
        sa = self._sa

        def q(conn):
            row = conn.execute(sa.select(self.cache.c.result).where(self.cache.c.key == key)).first()
            return json.loads(row[0]) if row else None

        return self._run(q)

    def put(self, key: str, *, target: str, machine: str, code: str, protocol: str, knobs: dict, result: dict) -> None:
        sa = self._sa
        row = {
            "key": key,
            "target": target,
            "machine": machine,
            "code_version": code,
            "protocol": protocol,
            "knobs": knobs_json(knobs),
            "status": result.get("status"),
            "result": json.dumps(result, default=str),
            "created": time.time(),
        }

        def q(conn):
            conn.execute(sa.delete(self.cache).where(self.cache.c.key == key))
            conn.execute(sa.insert(self.cache).values(**row))

        def overwrite(conn):  # another worker inserted the same key between our delete and insert: last one wins
            conn.execute(sa.update(self.cache).where(self.cache.c.key == key).values(**row))

        self._run(q, on_conflict=overwrite)

    def past_results(self, target: str, machine: str) -> list[dict]:
        """Every cached result for ``target`` on ``machine`` (any code version), newest first."""
        sa = self._sa

        def q(conn):
            rows = conn.execute(
                sa.select(self.cache.c.result, self.cache.c.code_version, self.cache.c.created)
                .where(self.cache.c.target == target, self.cache.c.machine == machine)
                .order_by(self.cache.c.created.desc())
            ).all()
            return [dict(json.loads(r[0]), code_version=r[1]) for r in rows]

        return self._run(q)

    def count(self) -> int:
        sa = self._sa
        return self._run(lambda conn: conn.execute(sa.select(sa.func.count()).select_from(self.cache)).scalar())

    # ---------------------------------------------------------------- history

    def save_run(self, name: str, target: str, machine: str, report: dict) -> int:
        sa = self._sa

        def q(conn):
            res = conn.execute(
                sa.insert(self.runs).values(
                    name=name, target=target, machine=machine, created=time.time(),
                    report=json.dumps(report, default=str),
                )
            )
            return int(res.inserted_primary_key[0])

        return self._run(q)

    def list_runs(self, name: str | None = None) -> list[dict]:
        """Saved runs (oldest first), all or those saved under ``name``."""
        sa = self._sa

        def q(conn):
            stmt = sa.select(self.runs).order_by(self.runs.c.created)
            if name is not None:
                stmt = stmt.where(self.runs.c.name == name)
            return [
                {"id": r.id, "name": r.name, "target": r.target, "machine": r.machine, "created": r.created,
                 "report": json.loads(r.report)}
                for r in conn.execute(stmt).all()
            ]

        return self._run(q)

    def close(self) -> None:
        self.engine.dispose()
