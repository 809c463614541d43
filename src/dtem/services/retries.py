"""Run a unit of work again when concurrent writers collided in the database.

PostgreSQL resolves a deadlock or a serialization failure by aborting one transaction
(`WriteConflict`); nothing of it was kept, so the whole unit of work can run again. A few
attempts, with a short randomised pause so that the colliding writers part.

>>> retry_conflicts(lambda: 42)
42
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from dtem.domain.errors import WriteConflict

T = TypeVar("T")
ATTEMPTS = 5
log = logging.getLogger("dtem.retries")


def retry_conflicts(unit_of_work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`unit_of_work()`, run up to `attempts` times while it raises `WriteConflict`."""
    for attempt in range(1, attempts):
        try:
            return unit_of_work()
        except WriteConflict as exc:
            log.info("attempt %d of %d: %s", attempt, attempts, exc)
            time.sleep(random.uniform(0.0, 0.02 * 2**attempt))
    return unit_of_work()  # the last attempt's conflict reaches the caller
