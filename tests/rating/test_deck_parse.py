"""Reading CSV rate decks: formats accepted, and every bad line named with its number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cashdesk.rating.deck import DeckRow, ParsedDeck, format_deck, parse_deck


def ok(data: bytes) -> ParsedDeck:
    parsed = parse_deck(data)
    assert parsed.errors == [], parsed.errors
    return parsed


def errors(data: bytes) -> list[tuple[int, str]]:
    parsed = parse_deck(data)
    assert parsed.errors, "expected the deck to be rejected"
    return [(error.line, error.reason) for error in parsed.errors]


def test_header_with_all_columns() -> None:
    parsed = ok(b"prefix,destination,rate,connection_fee,initial,subsequent,grace\n"
                b"44,United Kingdom,0.1,0.05,30,6,3\n")
    assert parsed.has_header and parsed.delimiter == ","
    assert parsed.rows == [DeckRow(2, "44", "United Kingdom", 1000, 500, 30, 6, 3)]
    row = parsed.rows[0]
    assert row.price_per_minute == Decimal("0.1") and row.connection_fee == Decimal("0.05")


@pytest.mark.parametrize("header", [
    b"Code;Country;Price per minute (EUR);Setup;Min;Step",
    b"dialcode;name;rate_per_minute;connect;initial_increment;increment",
    b"Dial code;Description;Price;Connection fee;Initial increment;Subsequent increment",
    b"PREFIX;DESTINATION;RATE;CONNECT;MIN;STEP",
])
def test_header_synonyms(header: bytes) -> None:
    parsed = ok(header + b"\n44;United Kingdom;0,0125;0,10;30;6\n")
    assert parsed.delimiter == ";"
    assert parsed.rows == [DeckRow(2, "44", "United Kingdom", 125, 1000, 30, 6, 0)]


def test_header_columns_in_any_order_and_unknown_ones_ignored() -> None:
    parsed = ok(b"rate,effective date,prefix\n0.2,2026-01-01,33\n")
    assert parsed.rows == [DeckRow(2, "33", "", 2000, 0, 60, 60, 0)]
    assert parsed.ignored_columns == ("effective date",)


def test_no_header_full_order_and_defaults() -> None:
    parsed = ok(b"44,United Kingdom,0.1,0.02,30,6\n33,France,0.05\n")
    assert not parsed.has_header
    assert parsed.rows == [DeckRow(1, "44", "United Kingdom", 1000, 200, 30, 6, 0),
                           DeckRow(2, "33", "France", 500, 0, 60, 60, 0)]


def test_no_header_without_destination() -> None:
    parsed = ok(b"44,0.1,0,1,1\n33,0.05\n")
    assert parsed.rows == [DeckRow(1, "44", "", 1000, 0, 1, 1, 0),
                           DeckRow(2, "33", "", 500, 0, 60, 60, 0)]


def test_semicolons_decimal_commas_bom_crlf_and_blank_lines() -> None:
    data = "\ufeffprefix;destination;rate\r\n\r\n44;Royaume-Uni;0,10\r\n;;\r\n33;France;1,5\r\n"
    parsed = ok(data.encode("utf-8"))
    assert [(row.line, row.prefix, row.rate_sub_units) for row in parsed.rows] == [
        (3, "44", 1000), (5, "33", 15000)]


def test_tabs() -> None:
    assert ok(b"44\tUK\t0.1\n").rows[0].rate_sub_units == 1000


def test_quoted_destination_with_the_separator() -> None:
    parsed = ok(b'82,"Korea, Republic of",0.03\n')
    assert parsed.rows[0].destination == "Korea, Republic of"


def test_amount_forms() -> None:
    parsed = ok(b"1,0\n2,1\n3,.5\n4,0.12340\n5,12.\n6,\"0,25\"\n7,-0\n")
    assert [row.rate_sub_units for row in parsed.rows] == [0, 10000, 5000, 1234, 120000,
                                                           2500, 0]


def test_utf8_destinations() -> None:
    parsed = ok("212,المغرب,0.2\n".encode())
    assert parsed.rows[0].destination == "المغرب"


# --- rejected lines ------------------------------------------------------------------

def test_bad_prefixes() -> None:
    assert errors(b"44,UK,0.1\n+33,France,0.2\n3a,X,0.1\n,Empty,0.1\n"
                  + b"1" * 21 + b",Long,0.1\n") == [
        (2, "prefix '+33' must be digits only (write 33, not +33)"),
        (3, "prefix '3a' must be digits only"),
        (4, "the prefix is empty"),
        (5, f"prefix {'1' * 21} is longer than 20 digits"),
    ]


def test_bad_rates_and_fees() -> None:
    found = errors(b"prefix,rate,fee\n44,-0.1,0\n45,abc,0\n46,0.12345,0\n47,0.1,-1\n"
                   b"48,1.234,5\n49,1e3,0\n50,,0\n")
    assert found == [
        (2, "rate -0.1 is negative"),
        (3, "rate 'abc' is not a number"),
        (4, "rate 0.12345 has more than 4 decimal places"),
        (5, "connection fee -1 is negative"),
        (7, "rate '1e3' is not a number"),
        (8, "the rate is empty"),
    ]


def test_bad_increments() -> None:
    assert errors(b"44,UK,0.1,0,0,60\n45,X,0.1,0,60,6.5\n46,X,0.1,0,-1,1\n"
                  b"47,X,0.1,0,1,1,-2\n48,X,0.1,0,90000,1\n") == [
        (1, "initial increment 0 must be at least 1"),
        (2, "subsequent increment '6.5' is not a whole number of seconds"),
        (3, "initial increment '-1' is not a whole number of seconds"),
        (4, "grace seconds '-2' is not a whole number of seconds"),
        (5, "initial increment 90000 is more than a day"),
    ]


def test_missing_column_in_the_header() -> None:
    assert errors(b"prefix,destination,setup\n44,UK,0\n") == [
        (1, "missing column: rate per minute (the header has prefix, destination, setup)")]


def test_missing_column_in_a_row() -> None:
    assert errors(b"prefix,destination,rate\n44,UK,0.1\n33,France\n34\n") == [
        (3, "missing column: rate per minute"),
        (4, "missing column: rate per minute"),
    ]


def test_two_columns_for_the_same_thing() -> None:
    assert errors(b"prefix,rate,price\n44,0.1,0.2\n") == [
        (1, "columns 2 and 3 both give the rate per minute")]


def test_duplicate_prefix_names_both_lines() -> None:
    assert errors(b"prefix,rate\n44,0.1\n33,0.2\n44,0.3\n33,0.2\n") == [
        (4, "prefix 44 is already on line 2"),
        (5, "prefix 33 is already on line 3"),
    ]


def test_non_utf8_bytes_are_reported_by_line() -> None:
    found = errors(b"prefix,destination,rate\n44,UK,0.1\n33,Fran\xe7e,0.2\n"
                   b"34,Espa\xf1a,x\n")
    assert found == [
        (3, "not UTF-8 text (byte 0xE7 at column 8); save the deck as UTF-8"),
        (4, "not UTF-8 text (byte 0xF1 at column 8); save the deck as UTF-8"),
    ]


def test_non_utf8_and_other_errors_in_line_order() -> None:
    found = errors(b"44,UK,-1\n33,Fran\xe7e,0.2\n")
    assert [line for line, _ in found] == [1, 2]


def test_too_many_columns() -> None:
    assert errors(b"prefix,destination,rate\n82,Korea, Republic of,0.03\n") == [
        (2, ("4 columns, expected at most 3 (a destination with a separator in it must "
             "be in quotes)"))]


def test_trailing_empty_columns_are_fine() -> None:
    assert ok(b"prefix,destination,rate\n44,UK,0.1,,\n").rows[0].prefix == "44"


def test_empty_decks() -> None:
    assert errors(b"") == [(1, "the deck has no rates")]
    assert errors(b"\n\n") == [(1, "the deck has no rates")]
    assert errors(b"prefix,rate\n") == [(1, "the deck has no rates")]


def test_every_bad_line_is_reported_not_just_the_first() -> None:
    lines = [b"prefix,rate"] + [f"{n},-1".encode() for n in range(1, 501)]
    assert [line for line, _ in errors(b"\n".join(lines))] == list(range(2, 502))


def test_destination_too_long() -> None:
    assert errors(b"44," + b"x" * 121 + b",0.1\n") == [
        (1, "destination is longer than 120 characters")]


def test_format_deck_reads_back_identically() -> None:
    rows = [("44", "United Kingdom", 1000, 500, 30, 6, 0),
            ("82", 'Korea, "South"', 125, 0, 1, 1, 5),
            ("33", "", 120000, 0, 60, 60, 0)]
    text = format_deck(rows)
    assert text.splitlines()[0] == ("prefix,destination,rate_per_minute,connection_fee,"
                                    "initial_increment,subsequent_increment,grace_seconds")
    assert "44,United Kingdom,0.1,0.05,30,6,0" in text
    assert "33,,12,0,60,60,0" in text
    parsed = ok(text.encode())
    assert [tuple(row)[1:] for row in parsed.rows] == rows


def test_a_line_the_csv_reader_refuses_is_reported_and_the_rest_checked() -> None:
    parsed = parse_deck(b"44,UK,0.1\n33," + b"x" * 140_000 + b",0.2\n34,Spain,-1\n")
    assert [(error.line, error.reason[:8]) for error in parsed.errors] == [
        (2, "not CSV:"), (3, "rate -1 ")]
