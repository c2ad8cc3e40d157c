"""Where a sweep's trials live: Optuna's storages, and a heartbeat on both.

* By default, an embedded file: Optuna's journal storage (``JournalFileBackend``), an
  append-only log of operations that every process replays; appends are made under a
  file lock, so parallel workers on one machine share it safely.  No server.
* ``--storage postgresql://USER:PASSWORD@HOST:PORT/DB``: Optuna's ``RDBStorage`` on a
  PostgreSQL server (through SQLAlchemy and psycopg), which workers on several machines
  share; they join a study by its name.

A worker that dies in the middle of a trial (killed, out of memory, its machine gone)
stops sending the trial's heartbeat.  Once no heartbeat has come for ``grace`` seconds,
the next worker that looks fails that trial (exactly one worker succeeds in moving a
running trial to FAIL; the storage refuses the others) and puts a copy of its parameters
back in the queue (Optuna's ``RetryHeartbeatStaleTrialCallback``), which the next free
worker runs.  So the crashed trial is kept, as failed, its retry names it
(``failed_trial``), and only complete and pruned trials count toward the budget: nothing
is lost or counted twice.  PostgreSQL has the heartbeat built into Optuna; the journal
storage gets the same from :class:`HeartbeatJournalStorage` (the heartbeat is a trial
attribute in the log).
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from nndl.errors import NndlError

#: Seconds between heartbeats, and without one before a running trial counts as dead.
HEARTBEAT, GRACE = 10, 30
#: How many times a crashed trial is retried.
RETRIES = 2
DEFAULT_JOURNAL = "journal.log"
_RDB_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite")


def is_database(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0].lower() in _RDB_SCHEMES


def safe_url(url: str) -> str:
    """The storage URL without its password (for messages)."""
    if not is_database(url):
        return str(url)
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:              # an unparsable URL: show only its scheme
        return url.split(":", 1)[0] + "://..."


def open_storage(url: str | None, sweep_dir, heartbeat: int = HEARTBEAT, grace: int = GRACE,
                 retries: int = RETRIES):
    """The Optuna storage of ``--storage`` (a database URL, or a journal file; default
    ``SWEEP_DIR/journal.log``), with the heartbeat and the retry of crashed trials."""
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)   # the heartbeat's
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=retries)
    if is_database(url):
        return _database(url, heartbeat, grace, retry)
    path = Path(url).expanduser() if url else Path(sweep_dir) / DEFAULT_JOURNAL
    if path.is_dir():
        raise NndlError(f"--storage {path}: is a folder; name the journal file, e.g. {path / DEFAULT_JOURNAL}")
    if not path.parent.is_dir():
        raise NndlError(f"--storage {path}: the folder {path.parent} does not exist")
    from optuna.storages.journal import JournalFileBackend

    try:
        backend = JournalFileBackend(str(path), lock_obj=flock_lock(str(path)))
        return HeartbeatJournalStorage(backend, heartbeat, grace, retry)
    except OSError as exc:
        raise NndlError(f"--storage {path}: cannot open the journal ({exc.strerror or exc})") from None


def _database(url: str, heartbeat: int, grace: int, retry):
    import optuna
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise NndlError(f"--storage {safe_url(url)}: not a database URL (postgresql://USER:PASSWORD@HOST:PORT/DB)") \
            from None
    engine_kwargs = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        engine_kwargs["connect_args"] = {"connect_timeout": 5}
    for attempt in range(6):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
                                              grace_period=grace, heartbeat_stale_trial_callback=retry)
        except ModuleNotFoundError as exc:
            raise NndlError(f"--storage {safe_url(url)}: the database driver {exc.name} is not installed "
                            f"(pip install 'nndl[sweep]')") from None
        except OperationalError as exc:
            raise NndlError(f"--storage {safe_url(url)}: cannot connect to the database at {_where(parsed)} "
                            f"({_reason(exc, parsed)})") from None
        except (IntegrityError, ProgrammingError) as exc:
            # Workers starting together on an empty database race to create Optuna's tables: the loser
            # finds them half made; it waits a moment and opens them again.
            if attempt == 5:
                raise NndlError(f"--storage {safe_url(url)}: cannot set up Optuna's tables in the database at "
                                f"{_where(parsed)} ({_reason(exc, parsed)})") from None
            time.sleep(0.3 + 0.1 * (os.getpid() % 8))
        except SQLAlchemyError as exc:
            raise NndlError(f"--storage {safe_url(url)}: the database at {_where(parsed)} failed "
                            f"({_reason(exc, parsed)})") from None


def _where(parsed) -> str:
    """``host:port`` of a server, or the file of an SQLite database."""
    if parsed.get_backend_name() in ("postgresql", "mysql"):
        default = 5432 if parsed.get_backend_name() == "postgresql" else 3306
        return f"{parsed.host or 'localhost'}:{parsed.port or default}"
    return str(parsed.database)


def _reason(exc, parsed) -> str:
    reason = _first_line(getattr(exc, "orig", None) or exc)
    return reason.replace(parsed.password, "***") if parsed.password else reason


def _first_line(exc) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _journal_heartbeat_base():
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat

    return JournalStorage, BaseHeartbeat


_JournalStorage, _BaseHeartbeat = _journal_heartbeat_base()


class HeartbeatJournalStorage(_JournalStorage, _BaseHeartbeat):
    """Optuna's journal storage with a heartbeat: each running trial's worker writes the time into the
    trial's system attribute ``nndl:heartbeat`` every ``interval`` seconds; a running trial whose last
    heartbeat (or start) is more than ``grace`` seconds old is stale."""

    KEY = "nndl:heartbeat"

    def __init__(self, backend, interval: int, grace: int, callback):
        super().__init__(backend)
        self._interval, self._grace, self._callback = int(interval), int(grace), callback

    def record_heartbeat(self, trial_id: int) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        try:
            self.set_trial_system_attr(trial_id, self.KEY, time.time())
        except (UpdateFinishedTrialError, KeyError):
            pass    # another worker declared the trial dead; its retry is queued

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        from optuna.trial import TrialState

        now, stale = time.time(), []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            # The later of its start and its last heartbeat (a retry inherits the crashed trial's attributes,
            # its old heartbeat among them).
            moments = [float(trial.system_attrs.get(self.KEY, 0.0))]
            if trial.datetime_start is not None:
                moments.append(trial.datetime_start.timestamp())   # a naive local time, as the journal keeps it
            if now - max(moments) > self._grace:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._interval

    def get_heartbeat_stale_trial_callback(self):
        return self._callback


# -- studies ---------------------------------------------------------------------------------------------
SPACE_KEY, SIGNATURE_KEY, OBJECTIVES_KEY = "nndl:space", "nndl:space_signature", "nndl:objectives"


def open_study(storage, name: str, space, objectives: list[str], sampler=None, pruner=None, url=None):
    """The study ``name`` in ``storage``, created if missing; a study made for another search space or
    other objectives is one line, before any trial runs."""
    import optuna

    from nndl.sweep.objective import directions

    where = safe_url(url) if url else "the sweep's journal"
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions(objectives),
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
    except ValueError as exc:
        raise NndlError(f"--study {name} in {where}: {_first_line(exc)}") from None
    attrs = study.user_attrs
    if SIGNATURE_KEY not in attrs:
        study.set_user_attr(SPACE_KEY, space.as_json())
        study.set_user_attr(SIGNATURE_KEY, space.signature())
        study.set_user_attr(OBJECTIVES_KEY, list(objectives))
        attrs = study.user_attrs
    if attrs.get(SIGNATURE_KEY) != space.signature():
        raise NndlError(f"--study {name} in {where} was created for another search space "
                        f"({_space_summary(attrs.get(SPACE_KEY))}); this one is {_space_summary(space.as_json())}. "
                        f"Give the same space to join it, or another --study name")
    if list(attrs.get(OBJECTIVES_KEY, objectives)) != list(objectives):
        raise NndlError(f"--study {name} in {where} optimizes {','.join(attrs[OBJECTIVES_KEY])}, not "
                        f"{','.join(objectives)}; give the same --objectives or another --study name")
    return study


def load_study(storage, name: str, url=None):
    """An existing study, or one line listing the studies there are."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
        where = safe_url(url) if url else "the sweep's journal"
        known = ", ".join(names) if names else "none"
        raise NndlError(f"no study named {name!r} in {where} (studies there: {known})") from None


def _space_summary(space) -> str:
    if not isinstance(space, dict):
        return "unknown"
    return "params " + ", ".join(sorted(space.get("params", {})))


def flock_lock(journal: str):
    """The journal's lock: an advisory ``flock`` on ``JOURNAL.flock``.  The kernel lets go of a flock
    when the process that holds it dies, so a worker killed while it writes (SIGKILL) can never leave
    the study locked — Optuna's default symlink lock stays behind in that case and the other workers
    wait on it.  Each thread (a worker and its heartbeat) takes the lock through its own descriptor."""
    import fcntl
    import os
    import threading

    from optuna.storages.journal._file import BaseJournalFileLock

    class FlockLock(BaseJournalFileLock):
        def __init__(self, path: str):
            self.path, self.held = path, threading.local()

        def acquire(self) -> bool:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.held.fd = fd
            return True

        def release(self) -> None:
            fd, self.held.fd = getattr(self.held, "fd", None), None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    return FlockLock(journal + ".flock")
