"""Kinds of money movement on a prepaid account."""

from __future__ import annotations

from enum import StrEnum


class TopupKind(StrEnum):
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    CORRECTION = "correction"   # a signed adjustment by the reseller, never below zero
    REFUND = "refund"


class EntryKind(StrEnum):
    TOPUP = "topup"
    CALL = "call"


class AccountOwner(StrEnum):
    RESELLER = "reseller"
    CALLSHOP = "callshop"
