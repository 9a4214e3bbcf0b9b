"""The private PostgreSQL cluster of tests/pg_cluster.py does what its handle says."""

import time

import psycopg
import pytest

from tests.pg_cluster import PgCluster, pg_cluster

__all__ = ["pg_cluster"]  # the fixture, used by name


def test_committed_rows_survive_a_crash_and_a_clean_restart(pg_cluster: PgCluster) -> None:
    url = pg_cluster.create_database("survives")
    assert url == pg_cluster.url("survives") and f":{pg_cluster.port}/" in url
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        conn.execute("CREATE TABLE t (n int)")
        conn.execute("INSERT INTO t VALUES (1)")
    pg_cluster.restart("immediate")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (2)")
    pg_cluster.restart()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM t ORDER BY n").fetchall() == [(1,), (2,)]


def test_a_stopped_cluster_refuses_connections_until_it_starts(pg_cluster: PgCluster) -> None:
    url = pg_cluster.url()
    with psycopg.connect(url) as conn:
        pg_cluster.stop("fast")
        assert not pg_cluster.running
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    pg_cluster.start()
    assert pg_cluster.running
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_paused_cluster_answers_nothing_until_resumed(pg_cluster: PgCluster) -> None:
    url = pg_cluster.url()
    with psycopg.connect(url, autocommit=True) as conn:
        pg_cluster.pause()
        try:
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(url, connect_timeout=1)
            assert time.monotonic() - started >= 0.9  # it hung, it was not refused
        finally:
            pg_cluster.resume()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the old connection lives on
    pg_cluster.pause()
    pg_cluster.stop("immediate")  # stopping resumes it first
    assert not pg_cluster.running and not pg_cluster.paused
    pg_cluster.start()
