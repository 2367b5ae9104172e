"""The demo accounts: one per role, all with the published password DEMO_PASSWORD."""

from __future__ import annotations

from conference.accounts.passwords import hash_password
from conference.accounts.tables import User
from conference.records import insert_audited
from conference.timefmt import now

DEMO_PASSWORD = "demo12345"  # noqa: S105 - published demo log-in, printed by `make run`

# username, display name, role, the record its scope hangs on
DEMO_ACCOUNTS = [
    ("admin", "系统管理员", "admin", None),
    ("office", "兰山区联席会议办公室", "office", "兰山区"),
    ("office_luozhuang", "罗庄街道联席会议办公室", "office", "罗庄街道"),
    ("convenor", "王建国", "convenor", "王建国"),
    ("street", "兰山街道党工委", "street", "兰山街道"),
    ("street_luozhuang", "罗庄街道党工委", "street", "罗庄街道"),
    ("unit", "兰山区市场监管局", "unit", "兰山区市场监管局"),
    ("unit_police", "兰山派出所", "unit", "兰山派出所"),
]


def print_logins() -> None:
    print(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for username, display, role, _link in DEMO_ACCOUNTS:
        print(f"  {username:<18} {display}（{role}）")


async def create_accounts(ids: dict[str, dict[str, int]]) -> bool:
    """The demo accounts not there yet; `ids` maps "conference", "street", "unit" and "person" to
    {name: id} of the demo registry. Call inside the registry's transaction."""
    created_any = False
    for username, display, role, link in DEMO_ACCOUNTS:
        if await User.exists().where(User.username == username):
            continue
        fk = {"office": "conference", "street": "street", "unit": "unit", "convenor": "person"}.get(role)
        extra = {fk: ids[fk][link]} if fk and link else {}
        await insert_audited(None, User, "user", {"username": username, "display_name": display, "role": role,
                                                  "password_hash": await hash_password(DEMO_PASSWORD),
                                                  "created_at": now(), **extra},
                             conference_id=extra.get("conference"))
        created_any = True
    return created_any
