"""db.translate_errors: every fault of the connection or of the server's state is a temporary outage (503)."""

from __future__ import annotations

import asyncpg
import pytest

from pager.store import db

E = asyncpg.exceptions

OUTAGES = [
    OSError("connection refused"),
    ConnectionResetError("reset by peer"),
    TimeoutError(),
    E.TargetServerAttributeNotMatched("None of the hosts match the target attribute requirement read-write"),
    E.InterfaceError("cannot call Connection.fetchrow(): connection is closed"),
    E.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    E.ConnectionFailureError("08006"),
    E.CannotConnectNowError("the database system is starting up"),
    E.AdminShutdownError("terminating connection due to administrator command"),
    E.CrashShutdownError("terminating connection because of crash of another server process"),
    E.QueryCanceledError("canceling statement due to conflict with recovery"),
    E.TooManyConnectionsError("sorry, too many clients already"),
    E.DiskFullError("could not extend file"),
    E.SerializationError("could not serialize access"),
    E.DeadlockDetectedError("deadlock detected"),
    E.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    E.IdleInTransactionSessionTimeoutError("terminating connection due to idle-in-transaction timeout"),
    E.PostgresIOError("could not read block"),
]


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_outages_are_unavailable(exc: BaseException) -> None:
    with pytest.raises(db.Unavailable) as caught, db.translate_errors():
        raise exc
    assert type(exc).__name__ in str(caught.value)


def test_a_value_postgresql_refuses_is_invalid_input() -> None:
    with pytest.raises(db.InvalidInput), db.translate_errors():
        raise E.NumericValueOutOfRangeError("value out of range")


@pytest.mark.parametrize(
    "exc", [E.UndefinedColumnError("column x does not exist"), E.UniqueViolationError("duplicate key"), KeyError("x")]
)
def test_bugs_and_conflicts_pass_through(exc: BaseException) -> None:
    with pytest.raises(type(exc)), db.translate_errors():
        raise exc
