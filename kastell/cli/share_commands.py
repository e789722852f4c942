"""``user share``: grant rights on a mailbox's mail folders (RFC 4314 letters) from the shell.

A shared mailbox (an account of kind "shared") has no password and so nobody
who could run SETACL on it over IMAP; the operator grants here, on every mail
folder of the mailbox at once (or on one with ``--folder``). A user granted
``a`` can then manage the folders' ACLs with any IMAP client. The grants are
the store's (kastell.store.acl); IMAP shows the folders as
``Other Users/<address>/<path>`` (docs/imap.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kastell.cli.directory_commands import _actor, _merge
from kastell.cli.main import KastellError, data_option, run_with_app
from kastell.directory.audit import record as audit_record

if TYPE_CHECKING:
    from kastell.app import Kastell

MAIL_CLASS = "IPF.Note"


@click.group()
@data_option
def user() -> None:
    """Accounts: users, shared mailboxes, rooms and equipment."""


@user.command("share")
@data_option
@click.argument("address")
@click.option("--to", "grantee", metavar="USER", help='the account to grant to (an address, or "anyone")')
@click.option("--rights", default=None, help="RFC 4314 letters, e.g. lrs (read), lrswipkxte (all but administer)")
@click.option("--revoke", is_flag=True, help="take the grantee's rights away")
@click.option("--folder", "folder_path", default=None, metavar="PATH", help="only this folder (default: every one)")
def user_share(address: str, grantee: str | None, rights: str | None, revoke: bool, folder_path: str | None) -> None:
    """Show who may use the mail folders of ADDRESS, or grant/revoke with --to."""
    if grantee is None and (rights is not None or revoke):
        raise click.UsageError("--rights and --revoke need --to")
    if grantee is not None and (rights is None) == (not revoke):
        raise click.UsageError("give either --rights or --revoke with --to")

    async def work(app: Kastell) -> list[str]:
        from kastell.store import acl

        owner = await app.directory.get_account(address)
        mailbox = await app.store.open(owner.org_id, owner.id)
        folders = [f for f in await mailbox.folders() if f.folder_class == MAIL_CLASS]
        if folder_path is not None:
            folders = [f for f in folders if f.path == folder_path]
            if not folders:
                raise KastellError(f"{owner.address} has no mail folder {folder_path!r}")
        if grantee is not None:
            account_id: int | None = None
            if grantee.lower() != acl.ANYONE:
                target = await app.directory.get_account(grantee)
                if target.org_id != owner.org_id:
                    raise KastellError(f"{target.address} is not in the organisation of {owner.address}")
                account_id = target.id
            try:
                for folder in folders:
                    await acl.set_rights(mailbox, folder.id, account_id, "" if revoke else rights or "")
            except (acl.InvalidRights, acl.InvalidGrantee) as exc:
                raise KastellError(str(exc)) from None
            await audit_record(
                app.db,
                _actor(),
                "user.share",
                owner.address,
                org_id=owner.org_id,
                detail={"to": grantee.lower(), "rights": "" if revoke else acl.normalise_rights(rights or "")},
            )
        lines = []
        names: dict[int, str] = {}
        for folder in folders:
            for grant in await acl.grants(mailbox, folder.id):
                if grant.account_id is None:
                    who = acl.ANYONE
                else:
                    if grant.account_id not in names:
                        account = await app.directory.get_account_by_id(owner.org_id, grant.account_id)
                        names[grant.account_id] = account.address
                    who = names[grant.account_id]
                lines.append(f"{folder.path}\t{who}\t{grant.rights}")
        return lines

    lines = run_with_app(work)
    click.echo("\n".join(lines) if lines else f"{address}: shared with nobody")


def register(cli: click.Group) -> None:
    _merge(cli, user)
