"""Keeps post content out of the logs, whatever the log level.

At DEBUG, Faust and aiokafka log every record they send with its key and value, which would
put post texts (and status ids) in the worker's log. Record payloads reach the logging calls
as ``bytes`` arguments, so every log record's bytes arguments are replaced by their length
before any handler formats them.
"""

from __future__ import annotations

import logging
from typing import Any

_installed = False


def _placeholder(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return value


def install() -> None:
    """Wrap the log record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_placeholder(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _placeholder(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
