"""The Kamailio config renderer and its CLI subcommand."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cashdesk.pbx.kamailio.config import (
    ConfigError,
    HostPort,
    KamailioSettings,
    render_config,
    template_path,
)


def settings(tmp_path: Path, **overrides: object) -> KamailioSettings:
    values: dict[str, object] = {
        "listen": HostPort("127.0.0.1", 5070), "carrier": HostPort("127.0.0.2", 5080),
        "evapi": HostPort("127.0.0.1", 8448), "subscriber_db": tmp_path / "subscribers.sqlite3",
        "run_dir": tmp_path / "run"}
    values.update(overrides)
    return KamailioSettings(**values)  # type: ignore[arg-type]


def test_every_placeholder_is_filled(tmp_path: Path) -> None:
    text = render_config(settings(tmp_path))
    assert "%%" not in text.replace("%%{NAME}", "")
    assert "listen=udp:127.0.0.1:5070" in text
    assert 'modparam("evapi", "bind_addr", "127.0.0.1:8448")' in text
    assert f'"sqlite:///{tmp_path}/subscribers.sqlite3"' in text
    assert '$ru = "sip:" + $avp(number) + "@127.0.0.2:5080";' in text
    assert "t_set_fr(0, 1500);" in text
    assert 'modparam("dialog", "timeout_noreset", 1)' in text


def test_the_template_uses_only_known_placeholders(tmp_path: Path) -> None:
    template = template_path().read_text()
    used = set(re.findall(r"%%\{([A-Z_]+)\}", template)) - {"NAME"}
    assert used == set(settings(tmp_path).placeholders())


def test_an_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TYPO"):
        render_config(settings(tmp_path), template="listen=%%{TYPO}\n")


@pytest.mark.parametrize("text", ["localhost:5060", "127.0.0.1", "127.0.0.1:0",
                                  "127.0.0.1:70000", ":5060", "1.2.3:5060"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        HostPort.parse(text, what="--listen")


def test_a_realm_with_quotes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        render_config(settings(tmp_path, realm='bad"realm'))


def test_the_workers_are_settings(tmp_path: Path) -> None:
    text = render_config(settings(tmp_path, children=6, async_workers=3))
    assert "children=6" in text
    assert "async_workers=3" in text
    assert "async_workers=2" in render_config(settings(tmp_path))


@pytest.mark.parametrize("workers", [{"children": 0}, {"async_workers": 0}])
def test_a_config_without_workers_is_refused(tmp_path: Path, workers: dict[str, int]) -> None:
    # Kamailio would not start: async_task_data() needs async workers (seen with 5.6.3).
    with pytest.raises(ConfigError, match="worker"):
        render_config(settings(tmp_path, **workers))


def test_cli_writes_the_config(tmp_path: Path) -> None:
    from cashdesk.cli import main

    out = tmp_path / "kamailio.cfg"
    code = main(["kamailio-config", "--listen", "127.0.0.1:5070", "--carrier", "127.0.0.2:5080",
                 "--evapi", "127.0.0.1:8448", "--subscriber-db", str(tmp_path / "s.sqlite3"),
                 "--run-dir", str(tmp_path / "run"), "--async-workers", "4", "-o", str(out)])
    assert code == 0
    text = out.read_text()
    assert "listen=udp:127.0.0.1:5070" in text
    assert "async_workers=4" in text
    assert (tmp_path / "s.sqlite3").exists()  # the subscriber table is created too


def test_cli_reports_a_bad_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cashdesk.cli import main

    code = main(["kamailio-config", "--listen", "nowhere", "--carrier", "127.0.0.2:5080",
                 "--subscriber-db", str(tmp_path / "s.sqlite3"), "--run-dir", str(tmp_path),
                 "-o", str(tmp_path / "k.cfg")])
    assert code == 2
    assert "--listen" in capsys.readouterr().err


@pytest.mark.e2e
def test_kamailio_accepts_the_rendered_config(pbx_binaries: None, tmp_path: Path) -> None:
    path = tmp_path / "kamailio.cfg"
    path.write_text(render_config(settings(tmp_path)))
    result = subprocess.run(["kamailio", "-c", "-f", str(path)], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "config file ok" in result.stdout + result.stderr
