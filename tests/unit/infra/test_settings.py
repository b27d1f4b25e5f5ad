from pathlib import Path

import pytest

from infra.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIMESTREAM_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("PRIMESTREAM_PARTITIONS", "12")
    monkeypatch.setenv("PRIMESTREAM_SYMBOLS", '["AAPL", "MSFT"]')

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.bootstrap_servers == "broker-a:9092,broker-b:9092"
    assert settings.partitions == 12
    assert settings.symbols == ["AAPL", "MSFT"]
    assert not settings.uses_local_broker


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("PRIMESTREAM_NAMESPACE=bt7\nPRIMESTREAM_TRACING_SAMPLE_RATIO=0.5\n")

    settings = Settings(_env_file=env)  # type: ignore[call-arg]

    assert settings.namespace == "bt7"
    assert settings.tracing_sample_ratio == 0.5
    assert settings.topic("signals") == "bt7.signals"


def test_secrets_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIMESTREAM_SCHEMA_REGISTRY_PASSWORD", "hunter2")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert settings.schema_registry_password is not None
    assert settings.schema_registry_password.get_secret_value() == "hunter2"


def test_out_of_range_sample_ratio_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIMESTREAM_TRACING_SAMPLE_RATIO", "1.5")

    with pytest.raises(ValueError, match="tracing_sample_ratio"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    with pytest.raises(ValueError, match="frozen"):
        settings.partitions = 3  # type: ignore[misc]
