"""The test PostgreSQL URL is read like `database.url`: `postgresql://` works as well."""

from __future__ import annotations

import pytest

from tests.conftest import POSTGRES_URL_ENV, postgres_url_from_env


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u:secret@db/x", "postgresql+asyncpg://u:secret@db/x"),
        ("postgresql+asyncpg://postgres@127.0.0.1/t", "postgresql+asyncpg://postgres@127.0.0.1/t"),
    ],
)
def test_plain_and_async_forms_give_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, given)
    assert postgres_url_from_env() == expected


def test_unset_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    assert postgres_url_from_env() is None


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("mysql://u@h/db", "not a SQLite or PostgreSQL URL (scheme 'mysql')"),
        ("sqlite:///test.db", "not a PostgreSQL URL"),
    ],
)
def test_other_databases_fail_in_one_line(
    monkeypatch: pytest.MonkeyPatch, given: str, reason: str
) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, given)
    with pytest.raises(pytest.fail.Exception) as caught:
        postgres_url_from_env()
    assert str(caught.value).startswith(f"{POSTGRES_URL_ENV}: ")
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)
