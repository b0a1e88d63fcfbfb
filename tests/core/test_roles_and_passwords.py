"""Roles, the permission table and password hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from cashdesk.auth.passwords import (
    MEMORY_KIB,
    PARALLELISM,
    TIME_COST,
    WeakPassword,
    hash_password,
    needs_rehash,
    verify_password,
)
from cashdesk.auth.roles import PERMISSIONS, Permission, Role, allowed


def test_every_role_has_an_entry_and_every_permission_an_owner():
    assert set(PERMISSIONS) == set(Role)
    granted = set().union(*PERMISSIONS.values())
    assert granted == set(Permission)


def test_operator_reaches_no_admin_or_reseller_action():
    admin_only = PERMISSIONS[Role.ADMIN] - PERMISSIONS[Role.OPERATOR]
    assert Permission.MANAGE_CABINS in admin_only
    for permission in admin_only | PERMISSIONS[Role.RESELLER]:
        if permission not in PERMISSIONS[Role.OPERATOR]:
            assert not allowed(Role.OPERATOR, permission)


@pytest.mark.parametrize("role, permission, expected", [
    (Role.OPERATOR, Permission.PAY_CABIN, True),
    (Role.OPERATOR, Permission.VIEW_PROFIT, False),
    (Role.OPERATOR, Permission.RECORD_TOPUP, False),
    (Role.ADMIN, Permission.MANAGE_CABINS, True),
    (Role.ADMIN, Permission.RECORD_TOPUP, False),
    (Role.ADMIN, Permission.MANAGE_BUY_RATES, False),
    (Role.RESELLER, Permission.RECORD_TOPUP, True),
    (Role.RESELLER, Permission.PAY_CABIN, False),
    ("intruder", Permission.VIEW_LIVE, False),
])
def test_allowed(role, permission, expected):
    assert allowed(role, permission) is expected


def test_argon2id_with_at_least_owasp_parameters():
    encoded = hash_password("correct horse")
    assert encoded.startswith("$argon2id$")
    params = PasswordHasher.from_parameters  # noqa: F841 - documents where parsing lives
    assert f"m={MEMORY_KIB},t={TIME_COST},p={PARALLELISM}" in encoded
    assert MEMORY_KIB >= 19 * 1024 and TIME_COST >= 2 and PARALLELISM >= 1


def test_verify_and_reject():
    encoded = hash_password("correct horse")
    assert verify_password(encoded, "correct horse")
    assert not verify_password(encoded, "wrong horse")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(encoded)
    assert needs_rehash("$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo")


@pytest.mark.parametrize("password", ["short", " leading-space", "trailing-space "])
def test_weak_passwords_are_refused(password):
    with pytest.raises(WeakPassword):
        hash_password(password)
