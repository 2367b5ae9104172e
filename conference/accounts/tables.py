"""Accounts, their database-backed sessions and API tokens."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

from conference.registry.tables import Conference, MemberUnit, Person, Street
from conference.roles import Role

ROLES = tuple(Role)  # conference.roles: who may do what


class User(Table, tablename="app_user"):
    """One account. Its scope hangs on the role: office -> conference, convenor -> person,
    street -> street, unit -> member unit; admin sees everything."""

    id = Serial(primary_key=True)
    username = Varchar(length=40, unique=True)
    display_name = Varchar(length=60, default="")
    password_hash = Varchar(length=200)
    role = Varchar(length=16)
    conference = ForeignKey(Conference, null=True, index=True, on_delete=OnDelete.set_null)
    street = ForeignKey(Street, null=True, index=True, on_delete=OnDelete.set_null)
    unit = ForeignKey(MemberUnit, null=True, index=True, on_delete=OnDelete.set_null)
    person = ForeignKey(Person, null=True, index=True, on_delete=OnDelete.set_null)
    # Only the SHA-256 of the token is kept: a copy of the database does not hand out API access.
    api_token_hash = Varchar(length=64, null=True, default=None, unique=True)
    active = Boolean(default=True)
    created_at = Timestamptz()
    # Where the set-password and reset links go (conference.accounts.onboarding); "" for none.
    email = Varchar(length=120, default="")


class Session(Table, tablename="web_session"):
    """A log-in session. Keyed by the SHA-256 of the cookie value, so the table alone cannot be
    replayed; kept in the database so it survives restarts and is shared by every process."""

    id = Serial(primary_key=True)
    key_hash = Varchar(length=64, unique=True)
    account = ForeignKey(User, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    expires_at = Timestamptz()


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed attempts per key (conference.accounts.throttle): an (account, address) pair, an
    address, or an address guessing reply/feed links. In the database so that every server process
    counts the same failures. `key_hash` is the SHA-256 of the key: no user names or addresses here."""

    id = Serial(primary_key=True)
    key_hash = Varchar(length=64, unique=True)
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(index=True)


class AccountToken(Table, tablename="account_token"):
    """A one-time link to set a password: `purpose` "set" for a new account the office opened,
    "reset" for a forgotten password. Only the token's SHA-256 is kept; it is spent by the first
    use (`used_at`, set by one conditional UPDATE) and dies at `expires_at`."""

    id = Serial(primary_key=True)
    account = ForeignKey(User, index=True, on_delete=OnDelete.cascade)
    purpose = Varchar(length=16)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
