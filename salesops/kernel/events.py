"""Sending an app's event so that a listener's failure never fails the change that sent it.

`send_logged` takes a Django signal (anything with `send_robust`: the kernel imports no Django), sends it, and logs
each listener's exception instead of raising it. Apps' `events` modules call it, on commit or at once.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def send_logged(signal: Any, *, sender: str, **kwargs: Any) -> bool:
    """Send `signal` from `sender` with `kwargs`; a listener that raises is logged with its traceback. True when
    every listener went through."""
    ok = True
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            ok = False
            logger.error("%s event listener %r failed", sender, receiver, exc_info=result)
    return ok
