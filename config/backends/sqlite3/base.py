"""SAM Hub's SQLite backend: Django's, with each statement's "%s" placeholders turned into
SQLite's "?" once per process. Django's cursor rewrites them with a regular expression on every
execute, which for the reasoning call's two statements cost about as much as SQLite's work on
the INSERT (docs/benchmarks.md). config/settings.py selects it for every SQLite database."""

import functools

from django.db.backends.sqlite3 import base

# The statements remembered: at most 1024 of at most 4096 characters (a few MB at worst);
# longer ones (bulk inserts, long IN lists) are rare and converted each time, as by Django.
CACHED_STATEMENTS = 1024
CACHED_STATEMENT_CHARS = 4096


def _qmark_style(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


_qmark_style_cached = functools.lru_cache(maxsize=CACHED_STATEMENTS)(_qmark_style)


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            if len(query) <= CACHED_STATEMENT_CHARS:
                return _qmark_style_cached(query)
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
