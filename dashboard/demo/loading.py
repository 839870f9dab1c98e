"""Writing the generated rows: binary COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import (
    Connection,
    Table,
    insert,
)

from dashboard.demo.clock import DAY, SECOND


def _python_values(values: np.ndarray, timestamp: Callable[[np.ndarray], list]) -> list:
    """One column as Python values: NaN / NaT / None become None."""
    if values.dtype.kind == "f":
        null = np.isnan(values)
        out = np.where(null, 0, values).astype(np.int64).astype(object)
        out[null] = None
        return out.tolist()
    if values.dtype.kind == "M":
        out = np.asarray(timestamp(values), dtype=object)
        out[np.isnat(values)] = None
        return out.tolist()
    return values.tolist()


def _sqlite_timestamps(values: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS.ffffff' strings, exactly what SQLAlchemy's DateTime writes on SQLite.

    Built as a matrix of code points: numpy's own datetime_as_string is ~10x slower.
    """
    us = np.where(np.isnat(values), 0, values.astype(np.int64))
    day, tod = np.divmod(us, DAY)
    days, inverse = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]")).astype("<U10")
    out = np.empty((us.size, 26), np.uint32)
    out[:, :10] = dates.view(np.uint32).reshape(-1, 10)[inverse]
    sec, frac = np.divmod(tod, SECOND)
    fields = ((11, sec // 3600, 2), (14, sec // 60 % 60, 2), (17, sec % 60, 2), (20, frac, 6))
    for col, value, width in fields:
        for i in range(width):
            out[:, col + i] = 48 + value // 10 ** (width - 1 - i) % 10
    out[:, [10, 13, 16, 19]] = [ord(" "), ord(":"), ord(":"), ord(".")]
    return out.view("<U26").ravel()


class _SqliteLoader:
    """executemany through the sqlite3 driver, one transaction per chunk, no fsync while loading."""

    def __init__(self, conn: Connection) -> None:
        self.db = conn.connection.driver_connection
        self.synchronous = self.db.execute("PRAGMA synchronous").fetchone()[0]
        self.db.execute("PRAGMA synchronous=OFF")

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        names = list(cols)
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        values = [_python_values(cols[c], _sqlite_timestamps) for c in names]
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        self.db.executemany(sql, zip(*values, strict=True))

    def end_chunk(self) -> None:
        self.db.commit()

    def close(self) -> None:
        if self.db.in_transaction:  # only after a failure: end_chunk commits
            self.db.rollback()
        self.db.execute(f"PRAGMA synchronous={int(self.synchronous)}")


PG_EPOCH_US = 946_684_800 * SECOND  # PostgreSQL binary timestamps count from 2000-01-01
PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
PG_COPY_TRAILER = b"\xff\xff"


def _be_bytes(values: np.ndarray, dtype: str) -> np.ndarray:
    """Big-endian bytes of each value as an (n, width) uint8 matrix."""
    return values.astype(dtype).view(np.uint8).reshape(values.size, -1)


def _pg_field(values: np.ndarray, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """One column of a binary COPY: (bytes matrix, mask of the bytes that are really there).

    Each field is a 4-byte length (-1 for NULL) followed by that many bytes; a row is its
    fields' real bytes back to back, so the stream is matrix[mask] in row-major order.
    """
    kind = values.dtype.kind
    if kind in "iuf":
        null = np.isnan(values) if kind == "f" else np.zeros(values.size, bool)
        data = _be_bytes(np.where(null, 0, values), ">i4")
        size = np.where(null, -1, 4)
    elif kind == "M":
        null = np.isnat(values)
        data = _be_bytes(np.where(null, 0, values.astype(np.int64) - PG_EPOCH_US), ">i8")
        size = np.where(null, -1, 8)
    else:
        null = np.equal(values, None) if kind == "O" else np.zeros(values.size, bool)
        raw = np.strings.encode(np.where(null, "", values).astype(str), encoding)
        data = raw.view(np.uint8).reshape(values.size, -1)
        size = np.where(null, -1, np.strings.str_len(raw))
    lengths = _be_bytes(size, ">i4")
    mask = np.arange(data.shape[1]) < np.maximum(size, 0)[:, None]
    return np.hstack([lengths, data]), np.hstack([np.ones_like(lengths, bool), mask])


def _pg_copy_data(cols: list[np.ndarray], encoding: str) -> bytes:
    n = cols[0].size
    count = _be_bytes(np.full(n, len(cols)), ">i2")
    fields = [_pg_field(c, encoding) for c in cols]
    matrix = np.hstack([count] + [f[0] for f in fields])
    mask = np.hstack([np.ones_like(count, bool)] + [f[1] for f in fields])
    body = matrix.tobytes() if mask.all() else matrix[mask].tobytes()
    return PG_COPY_HEADER + body + PG_COPY_TRAILER


class _PostgresLoader:
    """Binary COPY ... FREEZE: the tables were created in this transaction, so rows land frozen
    and all-visible (no VACUUM needed for index-only scans)."""

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.connection.driver_connection
        self.encoding = self.pg.info.encoding

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        data = _pg_copy_data(list(cols.values()), self.encoding)
        sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY, FREEZE)"
        with self.pg.cursor() as cur, cur.copy(sql) as copy:
            copy.write(data)

    def end_chunk(self) -> None:
        pass

    def close(self) -> None:
        pass


class _GenericLoader:
    """Plain SQLAlchemy inserts for any other backend: correct, not fast."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        names = list(cols)
        values = [_python_values(cols[c], lambda v: v.astype("datetime64[us]").tolist()) for c in names]
        self.conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)])

    def end_chunk(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        pass


_Loader = _SqliteLoader | _PostgresLoader | _GenericLoader


def _loader(conn: Connection) -> _Loader:
    name = conn.dialect.name
    if name == "sqlite":
        return _SqliteLoader(conn)
    if name == "postgresql" and conn.dialect.driver == "psycopg":
        return _PostgresLoader(conn)
    return _GenericLoader(conn)
