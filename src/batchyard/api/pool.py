"""The server's worker pool: runs API-submitted jobs, at most ``max_jobs`` at once.

The ids of the jobs the pool holds (queued or running) are kept in a small file in the project's
state folder, so a server that dies (SIGKILL, a reboot) knows on its next start which jobs were
its own, and resumes them (or leaves them paused) without touching jobs run from the CLI.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from pathlib import Path

from batchyard.app import Batchyard
from batchyard.engine.context import StopFlag
from batchyard.engine.runner import owner_is_dead
from batchyard.errors import BatchyardError, LeaseHeld, NotFound
from batchyard.secrets import mask_secrets
from batchyard.store.models import JobStatus, utcnow

logger = logging.getLogger("batchyard.api")

STATE_FILE = "serve-jobs.json"


class JobPool:
    """Runs jobs in threads of the server's process; each is a normal runner with a lease."""

    def __init__(self, app: Batchyard, max_jobs: int, state_file: Path | None) -> None:
        self.app = app
        self.max_jobs = max_jobs
        self.state_file = state_file
        self._queue: deque[str] = deque()
        self._running: dict[str, StopFlag] = {}
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._threads or self._closed:
                return
            self._stopping = False
            for n in range(self.max_jobs):
                thread = threading.Thread(target=self._work, name=f"batchyard-job-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Pause the running jobs (in-flight items finish or checkpoint) and stop the threads.

        The paused jobs stay in the state file, so the next start picks them up again; a job
        submitted after this waits there too.
        """
        with self._cond:
            self._stopping = self._closed = True
            for flag in self._running.values():
                flag.set()
            self._cond.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)

    # -- jobs ------------------------------------------------------------------------------------

    def submit(self, job_id: str) -> None:
        """Queue a pending or paused job; it starts as soon as a slot is free."""
        with self._cond:
            if job_id in self._queue or job_id in self._running:
                return
            self._queue.append(job_id)
            self._save()
            self._cond.notify()
        self.start()

    def holds(self, job_id: str) -> bool:
        with self._cond:
            return job_id in self._queue or job_id in self._running

    def snapshot(self) -> dict[str, list[str]]:
        with self._cond:
            return {"queued": list(self._queue), "running": list(self._running)}

    def recover(self, on_start: str) -> list[str]:
        """Pick up the jobs this server held when it last stopped: resume or pause them."""
        picked: list[str] = []
        for job_id in self._load():
            try:
                job = self.app.store.get_job(job_id)
            except NotFound:
                continue
            if job.status.finished:
                continue
            if on_start == "resume":
                self.submit(job.id)
            else:
                self._leave_paused(job.id)
            picked.append(job.id)
        if on_start != "resume":
            self._save()
        return picked

    def _leave_paused(self, job_id: str) -> None:
        store = self.app.store
        job = store.get_job(job_id)
        if job.status is JobStatus.PAUSED:
            return
        if job.lease_owner and not owner_is_dead(job.lease_owner):
            expires = job.lease_expires_at
            if expires is not None and expires > utcnow():
                return  # another live runner took it over meanwhile
        store.reset_running(job_id)
        store.update_job(job_id, lease_owner=None, lease_expires_at=None, control=None)
        store.set_status(job_id, JobStatus.PAUSED)
        store.log(job_id, "the server restarted; left paused (resume it to go on)")

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job_id = self._queue.popleft()
                flag = StopFlag()
                self._running[job_id] = flag
                self._save()
            try:
                self.app.execute(job_id, install_signals=False, stop=flag)
            except LeaseHeld as exc:
                logger.info("job %s: %s", job_id, exc)
            except BatchyardError as exc:
                logger.warning("job %s: %s", job_id, mask_secrets(str(exc)))
            except Exception as exc:
                logger.error(
                    "job %s stopped: %s: %s", job_id, type(exc).__name__, mask_secrets(str(exc))
                )
            finally:
                with self._cond:
                    # A job paused by shutdown stays listed, so a later save still records it.
                    if not self._stopping:
                        self._running.pop(job_id, None)
                        self._save()

    # -- the state file --------------------------------------------------------------------------

    def _save(self) -> None:
        if self.state_file is None:
            return
        ids = [*self._running, *self._queue]
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(ids), encoding="utf-8")
            os.replace(tmp, self.state_file)
        except OSError as exc:
            logger.warning("cannot record the server's jobs in %s: %s", self.state_file, exc)

    def _load(self) -> list[str]:
        if self.state_file is None or not self.state_file.is_file():
            return []
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("cannot read %s: %s", self.state_file, exc)
            return []
        return [str(x) for x in data] if isinstance(data, list) else []
