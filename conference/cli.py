"""The `conference` command: serve, migrate, remind, send-mail, fetch-mail, demo, createuser, token, backup, restore, holidays."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

os.environ.setdefault("PICCOLO_CONF", "conference.piccolo_conf")


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    from conference import db

    async def wrapped() -> Any:
        await db.start()
        try:
            return await coro
        finally:
            await db.stop()

    try:
        return asyncio.run(wrapped())
    except Exception as exc:
        # A database that was never migrated is the usual first-run mistake: say what to do.
        text = str(exc)
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            raise SystemExit("数据库尚未建表，请先运行：conference migrate") from exc
        raise


async def migrate_forwards() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    # Piccolo checks for its `migration` table in every schema of a PostgreSQL database, so with the
    # table present in another schema it skips creating it in ours; create it here in ours first.
    await Migration.create_table(if_not_exists=True)
    result = await run_forwards("conference")
    if not result.success:
        raise SystemExit(f"迁移失败：{result.message}")


async def migrate_backwards(migration_id: str = "all") -> None:
    from piccolo.apps.migrations.commands.backwards import run_backwards

    result = await run_backwards("conference", migration_id=migration_id, auto_agree=True)
    if not result.success:
        raise SystemExit(f"回滚失败：{result.message}")


def cmd_serve(args: argparse.Namespace) -> None:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run("conference.app:app", host=args.host, port=args.port, workers=args.workers, proxy_headers=True)


def cmd_migrate(args: argparse.Namespace) -> None:
    _run(migrate_backwards(args.to) if args.backwards else migrate_forwards())


def cmd_remind(args: argparse.Namespace) -> None:
    import datetime as dt

    from conference.tasks.reminders import run_reminders

    day = dt.date.fromisoformat(args.date) if args.date else None
    print(f"新排队催办 {_run(run_reminders(day))} 条。")


def cmd_send_mail(args: argparse.Namespace) -> None:
    from conference.i18n import gettext as _
    from conference.mail.sender import mail_loop, send_pending
    from conference.outbox import until_signal
    from conference.settings import get_settings

    # SIGTERM / Ctrl-C: the message in flight is finished and the rest goes back to the queue.
    stopped = _("已停止：正在发送的邮件已发完，其余邮件已放回队列。")
    if args.loop:
        _run(until_signal(mail_loop(get_settings().mail_interval or 15)))
        print(stopped)
        return
    outcome = _run(until_signal(send_pending()))
    if outcome is None:
        print(stopped)
        return
    print(f"已发送 {outcome.sent} 封，待重试 {outcome.retried} 封，转入发送失败 {outcome.dead} 封。")


def cmd_send_webhooks(args: argparse.Namespace) -> None:
    from conference.integrations.sender import send_pending, webhook_loop
    from conference.outbox import until_signal
    from conference.settings import get_settings

    stopped = "已停止：正在进行的投递已完成，其余投递在租约到期后由下一次运行继续。"
    if args.loop:
        _run(until_signal(webhook_loop(get_settings().webhook_interval or 15)))
        print(stopped)
        return
    outcome = _run(until_signal(send_pending()))
    if outcome is None:
        print(stopped)
        return
    print(f"已送达 {outcome.delivered} 条，待重试 {outcome.retried} 条，转入投递失败 {outcome.dead} 条。")


def cmd_fetch_mail(args: argparse.Namespace) -> None:
    from conference.mail.inbox import MailboxError, describe, fetch_replies, inbox_loop
    from conference.settings import get_settings

    if args.loop:
        _run(inbox_loop(get_settings().imap_interval or 300))
        return
    try:
        print(describe(_run(fetch_replies())))
    except MailboxError as exc:
        raise SystemExit(str(exc)) from exc


def cmd_demo(args: argparse.Namespace) -> None:
    from conference.demo import load_demo, print_logins

    created = _run(load_demo(only_if_empty=args.if_empty))
    print("已载入演示数据。" if created else "演示数据已存在，未重复载入。")
    print_logins()


def cmd_createuser(args: argparse.Namespace) -> None:
    from conference.accounts.services import create_user
    from conference.errors import ValidationFailed

    password = args.password or os.environ.get("CONFERENCE_PASSWORD") or getpass.getpass("密码：")
    data = {"username": args.username, "display_name": args.name or "", "password": password, "role": args.role,
            "conference": args.conference, "street": args.street, "unit": args.unit, "person": args.person}
    try:
        user_id = _run(create_user(None, data))
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        raise SystemExit(2) from exc
    print(f"已创建账号 {args.username}（id {user_id}）。")


def cmd_token(args: argparse.Namespace) -> None:
    from conference.accounts.services import issue_api_token
    from conference.accounts.tables import User

    async def issue() -> str:
        row = await User.select(User.id).where(User.username == args.username).first()
        if row is None:
            raise SystemExit(f"没有账号 {args.username}。")
        return await issue_api_token(None, row["id"])

    print(_run(issue()))


def cmd_backup(args: argparse.Namespace) -> None:
    from conference.backup.common import BackupError
    from conference.backup.create import backup
    from conference.i18n import gettext as _

    try:
        manifest = backup(Path(args.file))
    except BackupError as exc:
        raise SystemExit(str(exc)) from exc
    print(_("已备份到 {file}：{rows} 行数据，{files} 个文件，迁移 {migration}。").format(
        file=args.file, rows=sum(manifest["tables"].values()), files=len(manifest["files"]),
        migration=manifest["migration"]))


def cmd_restore(args: argparse.Namespace) -> None:
    from conference.backup.common import BackupError
    from conference.backup.restore import restore
    from conference.i18n import gettext as _

    try:
        result = restore(Path(args.file), force=args.force)
    except BackupError as exc:
        raise SystemExit(str(exc)) from exc
    manifest = result.manifest
    print(_("已从 {file} 恢复（备份时间 {created}）：{rows} 行数据，{files} 个文件，行数与备份清单一致。").format(
        file=args.file, created=manifest["created_at"], rows=sum(manifest["tables"].values()), files=result.files))
    if result.pending_migrations:
        print(_("备份的数据库结构比本程序旧，请运行：conference migrate"))


def cmd_holidays(args: argparse.Namespace) -> None:
    """`holidays import --year 2027 FILE.csv` replaces the year's schedule; `holidays seed` adds the
    official days chinese-calendar knows that are missing. Both recompute the working-day deadlines
    affected and queue a notice to each unit whose deadline moved."""
    from conference.errors import ValidationFailed
    from conference.holidays import services

    try:
        if args.action == "seed":
            print(f"已从 chinese-calendar 补充 {_run(services.seed())} 天。")
            return
        text = Path(args.file).read_text(encoding="utf-8-sig")
        entries = services.parse_csv(text)
        count = _run(services.import_year(None, args.year, entries))
    except ValidationFailed as exc:
        for message in exc.errors.values():
            print(message, file=sys.stderr)
        raise SystemExit(2) from exc
    except OSError as exc:
        raise SystemExit(f"无法读取 {args.file}：{exc.strerror}") from exc
    print(f"已导入 {args.year} 年的节假日安排：{count} 天。")


def main(argv: list[str] | None = None) -> None:
    from conference.integrations.events import listen

    listen()  # audited changes become webhook and group-robot events (conference.hooks), as in the app
    parser = argparse.ArgumentParser(prog="conference", description="联席会议议事督办系统")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="启动网页服务")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("migrate", help="执行数据库迁移")
    p.add_argument("--backwards", action="store_true", help="回滚")
    p.add_argument("--to", default="all", help="回滚到的迁移 ID（默认全部）")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("remind", help="排队今天的催办提醒（可反复执行，同一任务同一规则每天只发一次）")
    p.add_argument("--date", help="按指定日期计算（YYYY-MM-DD），默认今天")
    p.set_defaults(func=cmd_remind)
    p = sub.add_parser("send-mail", help="发送发件箱中到期的邮件（未设置 SMTP_HOST 时写入 .eml 文件）")
    p.add_argument("--loop", action="store_true", help="持续运行，按 MAIL_INTERVAL 间隔发送")
    p.set_defaults(func=cmd_send_mail)
    p = sub.add_parser("send-webhooks", help="投递到期的 Webhook 事件和企业微信、钉钉群机器人消息")
    p.add_argument("--loop", action="store_true", help="持续运行，每 WEBHOOK_INTERVAL 秒投递一次")
    p.set_defaults(func=cmd_send_webhooks)
    p = sub.add_parser("fetch-mail", help="读取办公室邮箱（IMAP）中日历软件发来的参会回复")
    p.add_argument("--loop", action="store_true", help="每隔 IMAP_INTERVAL 秒读取一次，直到中断")
    p.set_defaults(func=cmd_fetch_mail)
    p = sub.add_parser("demo", help="载入演示数据（可重复执行）")
    p.add_argument("--if-empty", action="store_true", help="仅当数据库为空时载入")
    p.set_defaults(func=cmd_demo)
    from conference.roles import Role

    p = sub.add_parser("createuser", help="创建账号")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[role.value for role in Role])
    p.add_argument("--name")
    p.add_argument("--password", help="不填则从 CONFERENCE_PASSWORD 或提示输入读取")
    p.add_argument("--conference", type=int)
    p.add_argument("--street", type=int)
    p.add_argument("--unit", type=int)
    p.add_argument("--person", type=int)
    p.set_defaults(func=cmd_createuser)
    p = sub.add_parser("token", help="为账号生成新的接口令牌（旧令牌作废）")
    p.add_argument("username")
    p.set_defaults(func=cmd_token)
    p = sub.add_parser("backup", help="在线备份数据库和发件箱文件到一个 .tar 文件")
    p.add_argument("file", help="备份文件，例如 /srv/backup/conference-20260101.tar")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="从备份文件恢复（目标数据库须为空，除非加 --force）")
    p.add_argument("file", help="conference backup 写出的备份文件")
    p.add_argument("--force", action="store_true", help="目标数据库已有数据时也恢复（覆盖现有全部数据）")
    p.set_defaults(func=cmd_restore)
    p = sub.add_parser("holidays", help="节假日与调休：导入某年安排（CSV）或从 chinese-calendar 补充")
    hsub = p.add_subparsers(dest="action", required=True)
    h = hsub.add_parser("import", help="用 CSV 文件替换某年的安排（每行：日期,类型,名称；类型为 holiday/放假 或 workday/上班）")
    h.add_argument("--year", type=int, required=True)
    h.add_argument("file")
    hsub.add_parser("seed", help="补充 chinese-calendar 已知年份中表内没有的日期（不覆盖已录入的）")
    p.set_defaults(func=cmd_holidays)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
