"""structlog, configured once: JSON lines off a TTY, a readable console on one."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict

from newsdrop.shared.settings import LogFormat


class _NamedPrintLogger(structlog.PrintLogger):
    """A PrintLogger that knows the name it was created for (``get_logger(name)``)."""

    def __init__(self, file: TextIO, name: str | None) -> None:
        super().__init__(file)
        self.name = name


class _NamedPrintLoggerFactory:
    """``PrintLoggerFactory``, keeping the name ``get_logger(name)`` passes on."""

    def __init__(self, file: TextIO) -> None:
        self.file = file

    def __call__(self, *args: Any) -> _NamedPrintLogger:
        return _NamedPrintLogger(self.file, str(args[0]) if args and args[0] else None)


def _add_logger_name(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """``logger=<name>`` on every line of a named logger, as stdlib records get it."""
    name = getattr(logger, "name", None)
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


def configure_logging(
    service: str,
    level: str = "INFO",
    fmt: LogFormat = LogFormat.AUTO,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and stdlib logging; every line carries ``service``, and ``logger``
    (the name given to ``get_logger``, or the stdlib logger's) where there is one. Lines go
    to ``stream`` (default: stderr)."""
    out = stream if stream is not None else sys.stderr
    use_json = fmt is LogFormat.JSON or (fmt is LogFormat.AUTO and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, _add_logger_name, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_NamedPrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # watchfiles logs every event batch at INFO ("1 change detected"): noise on the hot path.
    logging.getLogger("watchfiles").setLevel(max(numeric_level, logging.WARNING))
    root.setLevel(
        max(numeric_level, logging.INFO) if numeric_level < logging.INFO else numeric_level
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A logger for ``name`` (the module, usually): its lines carry ``logger=name``."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
