"""SAM Hub's SQLite backend (config/backends/sqlite3) runs statements as Django's does, with the
placeholders of short statements converted once and remembered."""

import pytest
from django.db.utils import ConnectionHandler

from config.backends.sqlite3.base import CACHED_STATEMENT_CHARS, _qmark_style_cached


@pytest.fixture
def connection(django_db_blocker):
    """A connection of the backend to an in-memory database, whatever the suite runs on (CI
    runs on PostgreSQL, the embedded default on SQLite)."""
    handler = ConnectionHandler(
        {"default": {"ENGINE": "config.backends.sqlite3", "NAME": ":memory:"}}
    )
    opened = handler["default"]
    with django_db_blocker.unblock():  # not the test database: a connection of its own
        yield opened
        opened.close()


def test_a_statement_runs_with_its_parameters_each_time_and_is_converted_once(connection):
    statement = "SELECT %s, '%%s', %s -- the backend's test"
    hits = _qmark_style_cached.cache_info().hits
    with connection.cursor() as cursor:
        answers = []
        for value in (7, 8):
            cursor.execute(statement, [value, "x"])
            answers.append(cursor.fetchone())

    assert answers == [(7, "%s", "x"), (8, "%s", "x")]
    assert _qmark_style_cached.cache_info().hits == hits + 1  # the second time, remembered


def test_a_long_statement_runs_with_its_parameters_too(connection):
    values = list(range(1500))
    statement = "SELECT " + ", ".join(["%s"] * len(values))
    assert len(statement) > CACHED_STATEMENT_CHARS

    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        assert list(cursor.fetchone()) == values
