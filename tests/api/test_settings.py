from __future__ import annotations

import pytest
from pydantic import ValidationError

from rag_app.settings import Settings


def test_settings_come_from_rag_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_SIZE", "1500")
    monkeypatch.setenv("RAG_DATABASE_URL", "postgresql://u:pw-7f3a9@db/rag")
    settings = Settings()
    assert settings.chunk_size == 1500
    assert "pw-7f3a9" not in repr(settings)


def test_a_mistyped_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_SIZ", "1500")
    with pytest.raises(ValidationError, match="RAG_CHUNK_SIZ"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RAG_CHUNK_SIZE", "10"),
        ("RAG_CHUNK_OVERLAP", "5000"),
        ("RAG_PORT", "70000"),
        ("RAG_VECTOR_STORE", "faiss"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_the_old_name_of_the_database_user_is_accepted_with_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DATABASE_APP_USER", "legal_app")
    with caplog.at_level("WARNING", logger="rag_app.settings"):
        settings = Settings()
    assert settings.database_user == "legal_app"
    assert "RAG_DATABASE_APP_USER is deprecated" in caplog.text
    assert "set that instead" in caplog.text
    monkeypatch.setenv("RAG_DATABASE_USER", "other_app")
    with pytest.raises(ValueError, match="they differ: set only RAG_DATABASE_USER"):
        Settings()
    monkeypatch.setenv("RAG_DATABASE_APP_USER", "Robert'); DROP")
    monkeypatch.delenv("RAG_DATABASE_USER")
    with pytest.raises(ValueError, match="database_user"):
        Settings()
