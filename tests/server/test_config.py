"""Settings: defaults < TOML file < environment < flags, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from cashdesk.server.config import DEFAULT_HOST, DEFAULT_PORT, ConfigError, load_config
from cashdesk.server.process import check_exposure, tls_context


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_listen_on_loopback_only(tmp_path):
    config = load_config(path=write(tmp_path / "empty.toml", ""), env={})
    assert (config.host, config.port) == (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 8470)
    assert config.database_url.startswith("sqlite:///")
    assert config.token_ttl.total_seconds() == 12 * 3600
    assert config.sip_realm == "cashdesk" and config.loopback_only and not config.tls
    assert config.log_file.name == "server.log"


def test_file_then_environment_then_flags(tmp_path):
    file = write(tmp_path / "server.toml", '[server]\nhost = "10.0.0.5"\nport = 9000\n'
                 'database = "sqlite:///from-file.sqlite3"\ntoken_hours = 8\n'
                 'sip_realm = "shop.example"\n')
    config = load_config(path=file, env={})
    assert (config.host, config.port, config.token_hours) == ("10.0.0.5", 9000, 8.0)
    assert config.sip_realm == "shop.example"
    env = {"CASHDESK_PORT": "9100", "CASHDESK_DB": "postgresql://db/cashdesk"}
    config = load_config(path=file, env=env)
    assert (config.host, config.port) == ("10.0.0.5", 9100)
    assert config.database_url == "postgresql://db/cashdesk"
    config = load_config(path=file, env=env, overrides={"port": 9200, "host": None})
    assert (config.host, config.port) == ("10.0.0.5", 9200)


def test_the_config_file_can_come_from_the_environment(tmp_path):
    file = write(tmp_path / "elsewhere.toml", "[server]\nport = 9300\n")
    assert load_config(env={"CASHDESK_CONFIG": str(file)}).port == 9300


@pytest.mark.parametrize(("text", "message"), [
    ("[server]\nprot = 1\n", "unknown setting 'prot'"),
    ("[sever]\nport = 1\n", "unknown table or key 'sever'"),
    ("[server]\nport = \"many\"\n", "not a valid port"),
    ("[server]\nport = 70000\n", "not between 1 and 65535"),
    ("[server]\ntls_cert = \"/c.pem\"\n", "both a certificate"),
    ("[server]\nlog_level = \"LOUD\"\n", "log_level must be one of"),
    ("[server\n", "not valid TOML"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(path=write(tmp_path / "server.toml", text), env={})


def test_a_named_file_must_exist_and_env_values_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(path=tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match=r"\$CASHDESK_PORT"):
        load_config(path=write(tmp_path / "e.toml", ""), env={"CASHDESK_PORT": "eighty"})


def test_no_plain_http_beyond_loopback_unless_asked(tmp_path):
    empty = write(tmp_path / "e.toml", "")
    exposed = load_config(path=empty, env={"CASHDESK_HOST": "0.0.0.0"})
    with pytest.raises(ConfigError, match="clear text"):
        check_exposure(exposed)
    check_exposure(load_config(path=empty, env={"CASHDESK_HOST": "0.0.0.0"},
                               overrides={"allow_plain_http": True}))
    check_exposure(load_config(path=empty, env={"CASHDESK_HOST": "::1"}))


def test_missing_tls_files_are_named(tmp_path):
    config = load_config(path=write(tmp_path / "e.toml", ""), env={
        "CASHDESK_TLS_CERT": str(tmp_path / "cert.pem"),
        "CASHDESK_TLS_KEY": str(tmp_path / "key.pem")})
    assert config.tls and config.base_url == "https://127.0.0.1:8470"
    with pytest.raises(ConfigError, match="TLS file not found: .*cert.pem"):
        tls_context(config)
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="cannot use the TLS certificate"):
        tls_context(config)
