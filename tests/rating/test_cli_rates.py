"""`cashdesk-server import-rates` / `export-rates`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from cashdesk.cli import main
from cashdesk.clock import FakeClock
from cashdesk.store.database import open_engine, session_factory
from cashdesk.store.models import Cabin, Callshop, Rate, Tariff
from tests.rating.conftest import make_shop

DECK = b"prefix;destination;rate;setup;min;step\n44;;0,10;0;30;6\n33;France;0,05;0;1;1\n"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cashdesk.sqlite3'}"
    assert main(["init", "--db", url, "--shop", "Corner Calls",
                 "--admin-password", "Rating-tests-2026"]) == 0
    return url


def _write(tmp_path: Path, data: bytes, name: str = "deck.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _rate_count(url: str, tariff_name: str) -> int:
    engine = open_engine(url)
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Rate).join(
                Tariff, Rate.tariff_id == Tariff.id).where(Tariff.name == tariff_name)) or 0
    finally:
        engine.dispose()


def test_import_into_the_standard_tariff(db: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["import-rates", _write(tmp_path, DECK), "--tariff", "Standard",
                 "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("Imported 2 rates into tariff 'Standard' of 'Corner Calls' "
                          "(replacing 0; revision 1; 1 destination names filled in)")
    assert _rate_count(db, "Standard") == 2


def test_import_creates_a_missing_tariff(db: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-rates", _write(tmp_path, DECK), "--tariff", "Night",
                 "--db", db]) == 0
    assert "new tariff" in capsys.readouterr().out
    engine = open_engine(db)
    with session_factory(engine)() as session:
        night = session.scalars(select(Tariff).where(Tariff.name == "Night")).one()
        shop = session.scalars(select(Callshop)).one()
        assert night.callshop_id == shop.id and night.currency == shop.currency
    engine.dispose()


def test_import_a_buy_tariff(db: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-rates", _write(tmp_path, DECK), "--tariff", "Cost", "--buy",
                 "--db", db]) == 0
    assert "set as the shop's buy tariff" in capsys.readouterr().out
    engine = open_engine(db)
    with session_factory(engine)() as session:
        cost = session.scalars(select(Tariff).where(Tariff.name == "Cost")).one()
        assert cost.callshop_id is None
        assert session.scalars(select(Callshop)).one().buy_tariff_id == cost.id
    engine.dispose()
    assert _rate_count(db, "Cost") == 2


def test_rejected_deck_prints_every_line_and_changes_nothing(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-rates", _write(tmp_path, DECK), "--tariff", "Standard",
                 "--db", db]) == 0
    bad = b"prefix,rate\n44,0.2\n4x,0.1\n33,-1\n44,0.3\n55,0.1\xff\n"
    capsys.readouterr()
    assert main(["import-rates", _write(tmp_path, bad, "bad.csv"), "--tariff", "Standard",
                 "--db", db]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:4] == [
        "line 3: prefix '4x' must be digits only",
        "line 4: rate -1 is negative",
        "line 5: prefix 44 is already on line 2",
        "line 6: not UTF-8 text (byte 0xFF at column 7); save the deck as UTF-8",
    ]
    assert "rejected, 4 bad lines; the rates are unchanged" in err[4]
    assert _rate_count(db, "Standard") == 2
    # A rejected deck for a new tariff does not leave an empty tariff behind either.
    assert main(["import-rates", _write(tmp_path, bad, "bad.csv"), "--tariff", "Ghost",
                 "--db", db]) == 1
    engine = open_engine(db)
    with session_factory(engine)() as session:
        assert session.scalar(select(Tariff).where(Tariff.name == "Ghost")) is None
    engine.dispose()


def test_export_to_stdout_and_file_round_trip(db: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-rates", _write(tmp_path, DECK), "--tariff", "Standard",
                 "--db", db]) == 0
    capsys.readouterr()
    assert main(["export-rates", "--tariff", "Standard", "--db", db]) == 0
    exported = capsys.readouterr().out
    assert exported.splitlines() == [
        ("prefix,destination,rate_per_minute,connection_fee,initial_increment,"
         "subsequent_increment,grace_seconds"),
        "33,France,0.05,0,1,1,0",
        "44,United Kingdom,0.1,0,30,6,0",
    ]
    target = tmp_path / "out.csv"
    assert main(["export-rates", "--tariff", "Standard", "-o", str(target), "--db", db]) == 0
    assert "Exported 2 rates" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == exported
    assert main(["import-rates", str(target), "--tariff", "Copy", "--db", db]) == 0
    capsys.readouterr()
    assert main(["export-rates", "--tariff", "Copy", "--db", db]) == 0
    assert capsys.readouterr().out == exported


def test_cabin_overrides(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = open_engine(db)
    with session_factory(engine).begin() as session:
        shop = session.scalars(select(Callshop)).one()
        session.add(Cabin(callshop_id=shop.id, name="Cabin 1", sip_username="cabin1"))
    engine.dispose()
    assert main(["import-rates", _write(tmp_path, b"44,UK,0.09\n"), "--cabin", "Cabin 1",
                 "--db", db]) == 0
    assert "into cabin 'Cabin 1'" in capsys.readouterr().out
    assert main(["export-rates", "--cabin", "Cabin 1", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "44,UK,0.09,0,60,60,0"


def test_several_shops_need_shop(db: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    engine = open_engine(db)
    with session_factory(engine).begin() as session:
        second = make_shop(session, FakeClock(), name="Second Shop").callshop
        second_id = second.id
    engine.dispose()
    deck = _write(tmp_path, DECK)
    assert main(["import-rates", deck, "--tariff", "Standard", "--db", db]) == 2
    assert "several callshops: pass --shop" in capsys.readouterr().err
    assert main(["import-rates", deck, "--tariff", "Standard", "--shop", "Second Shop",
                 "--db", db]) == 0
    assert "of 'Second Shop'" in capsys.readouterr().out
    assert main(["import-rates", deck, "--tariff", "Standard", "--shop", str(second_id),
                 "--db", db]) == 0
    assert "replacing 2" in capsys.readouterr().out
    assert main(["import-rates", deck, "--tariff", "Standard", "--shop", "Nowhere",
                 "--db", db]) == 2
    assert "no callshop 'Nowhere'" in capsys.readouterr().err


def test_errors_a_person_can_fix(db: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-rates", str(tmp_path / "missing.csv"), "--tariff", "Standard",
                 "--db", db]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["export-rates", "--tariff", "Nope", "--db", db]) == 2
    assert "no tariff named 'Nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["import-rates", "x.csv", "--db", db])  # --tariff or --cabin is required
