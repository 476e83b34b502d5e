"""Running generations, addressable by task id so that any request may stop them.

In the embedded mode the registry lives in this process; the scaled mode swaps in a Redis-backed
command channel with the same interface.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(slots=True)
class RunningTask:
    task_id: str
    app_id: str
    owner_key: str  # end user id or account id: only the one who started it may stop it
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class TaskRegistry:
    """Task ids of generations in flight, with their stop flags."""

    def __init__(self) -> None:
        self._tasks: dict[str, RunningTask] = {}

    def start(self, *, task_id: str, app_id: str, owner_key: str) -> RunningTask:
        task = RunningTask(task_id=task_id, app_id=app_id, owner_key=owner_key)
        self._tasks[task_id] = task
        return task

    def finish(self, task_id: str) -> None:
        self._tasks.pop(task_id, None)

    def request_stop(self, *, task_id: str, app_id: str, owner_key: str) -> bool:
        """Set the stop flag of a task of this app and user; unknown ids succeed quietly (as in Dify)."""
        task = self._tasks.get(task_id)
        if task is None or task.app_id != app_id or task.owner_key != owner_key:
            return False
        task.stop.set()
        return True

    def __len__(self) -> int:
        return len(self._tasks)


class ConversationLocks:
    """One answer at a time per conversation: a second send waits for the first to be saved."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def acquire(self, conversation_id: str, wait_seconds: float) -> bool:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._users[conversation_id] = self._users.get(conversation_id, 0) + 1
        try:
            await asyncio.wait_for(lock.acquire(), wait_seconds)
        except TimeoutError:
            self._release_user(conversation_id)
            return False
        return True

    def release(self, conversation_id: str) -> None:
        lock = self._locks.get(conversation_id)
        if lock is not None and lock.locked():
            lock.release()
        self._release_user(conversation_id)

    def _release_user(self, conversation_id: str) -> None:
        remaining = self._users.get(conversation_id, 1) - 1
        if remaining <= 0:
            self._users.pop(conversation_id, None)
            self._locks.pop(conversation_id, None)
        else:
            self._users[conversation_id] = remaining
