"""Settings: file, environment and flags, interpolation and masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchyard.config import load_settings
from batchyard.errors import ConfigError
from batchyard.secrets import is_secret_name, mask_secrets, mask_url, redact, secret_values


def write(root: Path, text: str) -> Path:
    (root / "batchyard.toml").write_text(text)
    return root


def test_defaults_without_a_project(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    assert not s.has_config
    assert s.store_url == f"sqlite:///{tmp_path / '.batchyard' / 'store.db'}"
    assert (s.env, s.workers, s.executor) == ("dev", 4, "threads")
    assert s.connection_url() == f"sqlite:///{tmp_path / 'data.db'}"


def test_precedence_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path, '[store]\nurl = "sqlite:///from-file.db"\n[defaults]\nenv = "file"\nworkers = 2\n'
    )
    s = load_settings(tmp_path)
    assert s.store_url == f"sqlite:///{tmp_path / 'from-file.db'}"
    assert (s.env, s.workers) == ("file", 2)
    monkeypatch.setenv("BATCHYARD_ENV", "from-env")
    monkeypatch.setenv("BATCHYARD_WORKERS", "3")
    monkeypatch.setenv("BATCHYARD_STORE", "sqlite:////tmp/env.db")
    s = load_settings(tmp_path)
    assert (s.env, s.workers, s.store_url) == ("from-env", 3, "sqlite:////tmp/env.db")
    s = load_settings(tmp_path, env="flag", workers=8, store="sqlite:////tmp/flag.db")
    assert (s.env, s.workers, s.store_url) == ("flag", 8, "sqlite:////tmp/flag.db")


def test_found_from_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "season"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    s = load_settings(sub)
    assert s.root == tmp_path and s.name == "season"


def test_interpolation_and_masking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        '[connections]\npg = "postgresql://app:${PGPW}@db/x"\n'
        'other = "postgresql://app:${MISSING:-fallback}@db/y"\n',
    )
    monkeypatch.setenv("PGPW", "hunter22")
    s = load_settings(tmp_path)
    assert s.connection_url("pg") == "postgresql://app:hunter22@db/x"
    assert s.connection_url("other") == "postgresql://app:fallback@db/y"
    assert s.masked_connections()["pg"] == "postgresql://app:${PGPW}@db/x"
    assert mask_url("postgresql://app:hunter22@db/x") == "postgresql://app:***@db/x"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="unknown connection 'nope'"):
        s.connection_url("nope")
    monkeypatch.delenv("PGPW")
    with pytest.raises(ConfigError, match="environment variable PGPW is not set"):
        s.connection_url("pg")


def test_secret_masking_helpers() -> None:
    params = {
        "url": "postgresql://u:pa55word@h/d",
        "api_key": "abcd1234",
        "n": 3,
        "nested": {"password": "zzzz"},
    }
    masked = mask_secrets(params)
    assert masked == {
        "url": "postgresql://u:***@h/d",
        "api_key": "***",
        "n": 3,
        "nested": {"password": "***"},
    }
    secrets = secret_values(params)
    assert set(secrets) == {"pa55word", "abcd1234", "zzzz"}
    assert (
        redact("got abcd1234 from postgresql://u:pa55word@h/d", secrets)
        == "got *** from postgresql://u:***@h/d"
    )


def test_broken_toml_names_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "[defaults]\nworkers = \n")
    with pytest.raises(ConfigError, match=r"batchyard.toml: invalid TOML: .*line 2, column 11"):
        load_settings(tmp_path)


def test_wrong_type_names_file_line_and_key(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n\n[defaults]\nenv = "dev"\nworkers = "many"\n')
    with pytest.raises(ConfigError, match=r"batchyard.toml:6: defaults.workers: Input should be"):
        load_settings(tmp_path)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "[defaults]\nworkerz = 3\n")
    with pytest.raises(ConfigError, match=r"batchyard.toml:2: defaults.workerz: Extra inputs"):
        load_settings(tmp_path)


def test_bad_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHYARD_WORKERS", "lots")
    with pytest.raises(ConfigError, match="BATCHYARD_WORKERS='lots' is not an integer"):
        load_settings(tmp_path)


def test_secret_names_are_whole_parts() -> None:
    assert all(is_secret_name(n) for n in ("password", "db_password", "api-key", "TOKEN", "auth"))
    assert not any(is_secret_name(n) for n in ("author", "passenger", "compass", "tokens_used"))


def test_urls_inside_text_are_masked() -> None:
    assert mask_url("cannot reach postgresql://u:pw@h/db now") == (
        "cannot reach postgresql://u:***@h/db now"
    )
    assert mask_url("postgresql://app:${PGPW}@db/x") == "postgresql://app:${PGPW}@db/x"


def test_workers_and_executor_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="between 1 and 64 workers"):
        load_settings(tmp_path, workers=0)
    with pytest.raises(ConfigError, match="between 1 and 64 workers"):
        load_settings(tmp_path, workers=65)
    monkeypatch.setenv("BATCHYARD_EXECUTOR", "frob")
    with pytest.raises(ConfigError, match=r"BATCHYARD_EXECUTOR.*'frob'"):
        load_settings(tmp_path)
    monkeypatch.setenv("BATCHYARD_EXECUTOR", "dask://nowhere")
    with pytest.raises(ConfigError, match=r"HOST:PORT"):
        load_settings(tmp_path)


def test_dask_address_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BATCHYARD_EXECUTOR", "BATCHYARD_DASK"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "batchyard.toml").write_text(
        '[defaults]\nexecutor = "dask"\n\n[executor]\naddress = "sched:8786"\nchunk_items = 50\n'
    )
    s = load_settings(tmp_path)
    assert (s.executor, s.dask.address, s.dask.chunk_items) == ("dask", "tcp://sched:8786", 50)
    monkeypatch.setenv("BATCHYARD_DASK", "dask://other:9000")
    assert load_settings(tmp_path).dask.address == "tcp://other:9000"
    monkeypatch.setenv("BATCHYARD_EXECUTOR", "dask://third:1234")
    monkeypatch.delenv("BATCHYARD_DASK")
    s = load_settings(tmp_path)
    assert (s.executor, s.dask.address) == ("dask", "tcp://third:1234")
    (tmp_path / "batchyard.toml").write_text('[executor]\naddress = "no port"\n')
    with pytest.raises(ConfigError, match=r"batchyard.toml:2: executor.address: .*HOST:PORT"):
        load_settings(tmp_path)
