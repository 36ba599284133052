"""Times stay in UTC and aware, quantities stay exact, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, exc, func, select

from sargs.db import ExactDecimal, UTCDateTime

RIGA = ZoneInfo("Europe/Riga")


@pytest.fixture
def scratch(app):
    """A throwaway table with the kernel's column types, and a connection to it."""
    table = Table("kernel_scratch", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()), Column("qty", ExactDecimal()))
    engine = app.extensions["sargs"].engine
    table.create(engine)
    with engine.connect() as connection:
        yield table, connection
        connection.rollback()
    table.drop(engine)


def test_a_time_comes_back_aware_in_utc(scratch):
    table, connection = scratch
    local = datetime(2026, 11, 24, 12, 30, tzinfo=RIGA)
    connection.execute(table.insert().values(id=1, at=local))
    stored = connection.scalar(select(table.c.at))
    assert stored == local
    assert stored.tzinfo == UTC and stored.hour == 10


def test_a_naive_time_is_refused(scratch):
    table, connection = scratch
    with pytest.raises(exc.StatementError, match="naive"):
        connection.execute(table.insert().values(id=1, at=datetime(2026, 11, 24, 12, 30)))


def test_decimal_quantities_sum_exactly(scratch):
    table, connection = scratch
    connection.execute(table.insert(), [{"id": n, "qty": Decimal("0.001")} for n in range(1, 1001)]
                       + [{"id": 1001, "qty": Decimal("0.1")}, {"id": 1002, "qty": Decimal("0.2")}])
    assert connection.scalar(select(func.sum(table.c.qty))) == Decimal("1.300")
    assert connection.scalar(select(table.c.qty).where(table.c.id == 1)) == Decimal("0.001")


def test_a_guarded_subtraction_in_sql_stays_exact(scratch):
    """0.3 - 0.1 - 0.1 leaves less than 0.1 in floating point; here it leaves 0.1."""
    table, connection = scratch
    connection.execute(table.insert().values(id=1, qty=Decimal("0.3")))
    n = Decimal("0.1")
    take = table.update().where(table.c.qty >= n).values(qty=table.c.qty - n)
    taken = [connection.execute(take).rowcount for _ in range(4)]
    assert taken == [1, 1, 1, 0]
    assert connection.scalar(select(table.c.qty)) == Decimal("0.000")


def test_more_places_than_the_column_keeps_are_refused(scratch):
    table, connection = scratch
    with pytest.raises(exc.StatementError, match="decimal places"):
        connection.execute(table.insert().values(id=1, qty=Decimal("0.0001")))
    with pytest.raises(exc.StatementError, match="float"):
        connection.execute(table.insert().values(id=1, qty=0.1))
