"""One place that turns every error a command raises into what a user should read: one line per
error and an exit status, never a Python traceback (`gridroute --debug …` shows the trace).

Exit statuses: 1 a refused request or bad input, 2 a usage error (click), 75 the database is
busy (try again), 70 an internal error (a bug: the message says to rerun with --debug)."""
from __future__ import annotations

import click

EXIT_REFUSED = 1
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)

# Exceptions click itself turns into output and an exit status.
_CLICK_OWN = (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
              EOFError)


class CommandFailed(click.ClickException):
    """A refusal rendered as `Error: <message>` with its own exit status."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED):
        super().__init__(message)
        self.exit_code = exit_code


def _lines(exc: Exception) -> list[str]:
    """Errors that carry a list of messages (reference data, rules files) print each one."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, (list, tuple)) and errors and all(isinstance(e, str) for e in errors):
        return list(errors)
    return [str(exc)]


def as_command_failure(exc: Exception) -> CommandFailed:
    """The user-facing form of `exc`."""
    from gridroute.config import ConfigError
    from gridroute.services.errors import ServiceError, from_database_error

    if isinstance(exc, ServiceError):
        return CommandFailed(str(exc), getattr(exc, "exit_code", EXIT_REFUSED))
    translated = from_database_error(exc) if _is_database_error(exc) else None
    if translated is not None:
        return CommandFailed(str(translated), getattr(translated, "exit_code", EXIT_REFUSED))
    if isinstance(exc, ConfigError):
        return CommandFailed(f"configuration error: {exc}")
    if isinstance(exc, UnicodeDecodeError):
        return CommandFailed(f"input is not valid {exc.encoding} text (byte {exc.start}): "
                             "convert it to UTF-8")
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        where = exc.filename if exc.filename is not None else "file"
        return CommandFailed(f"{where}: {exc.strerror or exc}")
    if type(exc).__module__.startswith("gridroute.") and type(exc).__name__.endswith("Error"):
        # the domain's own errors (grids, rules, reference data, calendar) say what is wrong
        return CommandFailed("\n".join(_lines(exc)))
    return CommandFailed(f"internal error: {type(exc).__name__}: {exc} (rerun with "
                         "gridroute --debug … to see the trace)", EXIT_INTERNAL)


def _is_database_error(exc: Exception) -> bool:
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, (DBAPIError, sqlite3.Error)):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.Error)


class ErrorReportingGroup(click.Group):
    """The root group: any exception a subcommand lets through is shown as one message."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _CLICK_OWN:
            raise
        except Exception as exc:  # noqa: BLE001 - the one place that renders every error
            state = ctx.obj
            if getattr(state, "debug", False):
                raise
            raise as_command_failure(exc) from None
