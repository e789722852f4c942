"""Implicit scheduling (RFC 6638 §3.2) between the users of an organisation, iMIP beyond it.

Theory of operation
-------------------
The server schedules on the client's behalf when a calendar object with an
ORGANIZER is written or deleted through CalDAV:

* The organizer writes it: every internal attendee gets the object (REQUEST) in
  their default calendar — an existing copy with the same UID is updated, keeping
  the attendee's own PARTSTAT. Attendees that were dropped get a CANCEL (their copy
  is removed). Rooms and equipment answer at once: ACCEPTED when their calendar is
  free for the event's span, DECLINED otherwise, and the organizer's copy records
  the answer. External attendees get an iMIP message (RFC 6047) through the mail
  submission API when something they care about changed.
* An attendee writes it with a new PARTSTAT: a REPLY updates the PARTSTAT of that
  attendee in the organizer's copy (internal) or goes out by iMIP (external).
* Deletes: the organizer's is a CANCEL, an attendee's a REPLY with DECLINED.

Copies in other mailboxes are written through the store directly, never through
this module again, so scheduling never loops. Scheduling never fails the client's
request: a delivery that goes wrong is logged, the write stands (§3.2.9 lets the
server report per-attendee status; Kastell does not yet write SCHEDULE-STATUS).

Schedule inbox/outbox collections exist for discovery (Apple Calendar asks for
them); the outbox answers free-busy POSTs (§5) for users of the organisation.
Inbox messages are not kept: the object lands in the calendar itself.
"""

from __future__ import annotations

import datetime as dt
import email.message
import hashlib
import logging
from typing import Any

import icalendar
from starlette.responses import Response

from kastell.directory.errors import DirectoryError
from kastell.directory.records import Account
from kastell.formats import ical
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.caldav.reports import busy_periods, vfreebusy
from kastell.protocols.dav.common import xml_response
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import CALDAV, DAV, NSMAP, qn, sub
from kastell.store import calendar
from kastell.store.errors import StoreError
from kastell.store.mailbox import Mailbox
from kastell.store.model import Folder, Item, NewItem

log = logging.getLogger("kastell.dav.scheduling")

_SIGNIFICANT = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "SUMMARY", "LOCATION", "STATUS")


class Peer:
    """Another account of the caller's organisation, with its mailbox."""

    def __init__(self, account: Account, box: Mailbox) -> None:
        self.account = account
        self.box = box


async def peer(ctx: Context, address: str) -> Peer | None:
    """The internal account at ``address`` (same organisation, active), or None: external."""
    try:
        account = await ctx.kastell.directory.get_account(address)
    except DirectoryError:
        return None
    if account.org_id != ctx.account.org_id or not account.active:
        return None
    try:
        return Peer(account, await ctx.kastell.store.open(account.org_id, account.id))
    except StoreError:
        return None


async def calendar_folders(box: Mailbox) -> list[Folder]:
    return [f for f in await box.folders() if f.folder_class in ("IPF.Appointment", "IPF.Task")]


async def find_by_uid(box: Mailbox, uid: str) -> tuple[Folder, Item] | None:
    for folder in await calendar_folders(box):
        found = await calendar.uid_in_use(box, folder.id, uid)
        if found:
            return folder, found[0]
    return None


def _significant(old: Any, new: Any) -> bool:
    if old is None:
        return True
    a, b = ical.main_component(old), ical.main_component(new)
    if a is None or b is None:
        return True
    return any(str(a.get(k)) != str(b.get(k)) for k in _SIGNIFICANT)


def _uid(cal: Any) -> str:
    component = ical.main_component(cal)
    return str(component.get("UID")) if component is not None else ""


def _summary(cal: Any) -> str:
    component = ical.main_component(cal)
    return str(component.get("SUMMARY", "")) if component is not None else ""


async def send_imip(ctx: Context, to: str, method: str, itip: bytes, summary: str) -> None:
    """An iMIP message (RFC 6047 §2.4): text for people, text/calendar with METHOD for software."""
    from kastell.mail import submit  # the core submission API (local delivery or the queue)

    subject = {"REQUEST": "Invitation", "REPLY": "Reply", "CANCEL": "Cancelled"}.get(method, method)
    msg = email.message.EmailMessage()
    msg["From"] = ctx.account.address
    msg["To"] = to
    msg["Subject"] = f"{subject}: {summary}"[:200]
    msg.set_content(f"{subject}: {summary}\n\nThis message carries a calendar {method.lower()}.\n")
    msg.add_alternative(itip.decode("utf-8"), subtype="calendar", params={"method": method})
    try:
        await submit.submit(
            ctx.kastell, ctx.account, ctx.account.address, [to], msg.as_bytes(), protocol="HTTP", save_sent=True
        )
    except Exception:  # the calendar write stands; the operator sees why mail did not go
        log.warning("iMIP %s to %s failed", method, to, exc_info=True)


def _name_for(uid: str) -> str:
    return hashlib.sha1(uid.encode()).hexdigest() + ".ics"


async def _room_answer(p: Peer, source: bytes, uid: str) -> str:
    """ACCEPTED when the resource's calendar has nothing else in the event's span."""
    span = ical.item_columns(source)
    start, end = span.get("start_time"), span.get("end_time")
    if start is None:
        return "ACCEPTED"
    home = await p.box.folder_by_role("calendar")
    for item in await calendar.items_in_range(p.box, home.id, start, end if end is not None else start + 1):
        if item.object_uid != uid:
            return "DECLINED"
    return "ACCEPTED"


async def _deliver(p: Peer, source: bytes, uid: str) -> str | None:
    """Put the organizer's object into an attendee's calendar; a room's answer, if any."""
    address = p.account.address.lower()
    existing = await find_by_uid(p.box, uid)
    answer = None
    if p.account.kind in ("room", "equipment"):
        answer = await _room_answer(p, source, uid)
        source = ical.set_partstat(source, address, answer)
    elif existing is not None:
        old = icalendar.Calendar.from_ical(await p.box.source(existing[1]))
        mine = ical.scheduling_info(old)[1].get(address)
        if mine and mine != "NEEDS-ACTION":
            source = ical.set_partstat(source, address, mine)
    if existing is not None:
        await p.box.replace(existing[1].id, NewItem(source, kind=existing[1].kind, name=existing[1].name))
    else:
        home = await p.box.folder_by_role("calendar")
        await p.box.append(home.id, NewItem(source, kind="event", name=_name_for(uid)))
    return answer


async def _cancel(p: Peer, uid: str) -> None:
    existing = await find_by_uid(p.box, uid)
    if existing is not None:
        await p.box.remove(existing[1].id)


async def _reply_internal(p: Peer, uid: str, attendee: str, partstat: str) -> None:
    existing = await find_by_uid(p.box, uid)
    if existing is None:
        return
    source = ical.set_partstat(await p.box.source(existing[1]), attendee, partstat)
    await p.box.replace(existing[1].id, NewItem(source, kind=existing[1].kind, name=existing[1].name))


async def after_put(ctx: Context, res: r.Resource, old_source: bytes | None, new_source: bytes) -> bool:
    """Schedule after a calendar object was stored at ``res`` (see the module docstring).

    True when the stored object itself was changed (a room answered), so the caller
    must not hand out the ETag of what the client sent (RFC 4791 §5.3.4).
    """
    try:
        return await _after_put(ctx, res, old_source, new_source)
    except Exception:
        log.exception("scheduling after PUT of %s failed", res.path)
        return False


async def _after_put(ctx: Context, res: r.Resource, old_source: bytes | None, new_source: bytes) -> bool:
    new = icalendar.Calendar.from_ical(new_source)
    organizer, attendees = ical.scheduling_info(new)
    if organizer is None:
        return False
    old = icalendar.Calendar.from_ical(old_source) if old_source else None
    old_attendees = ical.scheduling_info(old)[1] if old is not None else {}
    me = ctx.account.address.lower()
    uid, summary = _uid(new), _summary(new)
    if organizer == me:
        changed = _significant(old, new)
        answers: dict[str, str] = {}
        for address in attendees:
            if address == me:
                continue
            p = await peer(ctx, address)
            if p is not None:
                answer = await _deliver(p, new_source, uid)
                if answer is not None and answer != attendees[address]:
                    answers[address] = answer
            elif changed or address not in old_attendees:
                await send_imip(ctx, address, "REQUEST", ical.itip_message(new_source, "REQUEST"), summary)
        for address in old_attendees:
            if address in attendees or address == me:
                continue
            p = await peer(ctx, address)
            if p is not None:
                await _cancel(p, uid)
            elif old_source is not None:
                await send_imip(ctx, address, "CANCEL", ical.itip_message(old_source, "CANCEL"), summary)
        if answers and res.folder is not None and res.name is not None:
            # Rooms answered at once: record their PARTSTAT in the organizer's copy.
            item = await ctx.mailbox.item_by_name(res.folder.id, res.name)
            source = new_source
            for address, answer in answers.items():
                source = ical.set_partstat(source, address, answer)
            await ctx.mailbox.replace(item.id, NewItem(source, kind=item.kind, name=item.name))
            return True
        return False
    mine = attendees.get(me)
    if mine is not None and mine != old_attendees.get(me):
        await _reply(ctx, organizer, uid, summary, mine, new_source)
    return False


async def _reply(ctx: Context, organizer: str, uid: str, summary: str, partstat: str, source: bytes) -> None:
    me = ctx.account.address.lower()
    p = await peer(ctx, organizer)
    if p is not None:
        await _reply_internal(p, uid, me, partstat)
    else:
        reply = ical.itip_message(ical.set_partstat(source, me, partstat), "REPLY", attendee=me)
        await send_imip(ctx, organizer, "REPLY", reply, summary)


async def after_delete(ctx: Context, old_source: bytes) -> None:
    """The organizer's delete cancels; an attendee's declines."""
    try:
        old = icalendar.Calendar.from_ical(old_source)
        organizer, attendees = ical.scheduling_info(old)
        if organizer is None:
            return
        me = ctx.account.address.lower()
        uid, summary = _uid(old), _summary(old)
        if organizer == me:
            for address in attendees:
                if address == me:
                    continue
                p = await peer(ctx, address)
                if p is not None:
                    await _cancel(p, uid)
                else:
                    await send_imip(ctx, address, "CANCEL", ical.itip_message(old_source, "CANCEL"), summary)
        elif me in attendees:
            await _reply(ctx, organizer, uid, summary, "DECLINED", old_source)
    except Exception:
        log.exception("scheduling after DELETE failed")


async def handle_post(ctx: Context, segments: list[str]) -> Response:
    """POST to the schedule outbox: a free-busy request for users of the organisation (§5);
    POST of a CalendarServer share request to a collection (sharing.py)."""
    res = await r.resolve(ctx, segments)
    if res.kind == r.COLLECTION:
        from kastell.protocols.dav import sharing
        from kastell.protocols.dav.xml import CS, parse

        root = parse(ctx.body)
        if root is not None and root.tag == qn(CS, "share"):
            return await sharing.handle_share(ctx, res, root)
    if res.kind != r.OUTBOX:
        raise DavError(405, None, "POST is only for the schedule outbox and sharing")
    try:
        cal = icalendar.Calendar.from_ical(ctx.body)
        fb = next(c for c in cal.walk("VFREEBUSY"))
        start = _utc(fb.decoded("DTSTART"))
        end = _utc(fb.decoded("DTEND"))
    except Exception as exc:
        raise DavError(400, qn(CALDAV, "valid-calendar-data"), "a VFREEBUSY request is expected") from exc
    if str(cal.get("METHOD", "")).upper() != "REQUEST":
        raise DavError(403, qn(CALDAV, "valid-scheduling-message"), "METHOD:REQUEST expected")
    recipients = [ical.address_of(a) for a in ical._attendee_list(fb)]
    organizer = fb.get("ORGANIZER")
    from lxml import etree

    root = etree.Element(qn(CALDAV, "schedule-response"), nsmap=NSMAP)
    for address in recipients:
        response = sub(root, qn(CALDAV, "response"))
        sub(sub(response, qn(CALDAV, "recipient")), qn(DAV, "href"), f"mailto:{address}")
        p = await peer(ctx, address)
        if p is None:
            sub(response, qn(CALDAV, "request-status"), "3.7;Invalid calendar user")
            continue
        periods = []
        for folder in await calendar_folders(p.box):
            if folder.folder_class == "IPF.Appointment":
                periods += await busy_periods(ctx, p.box, folder.id, start, end)
        extra = [f"ATTENDEE:mailto:{address}"]
        if organizer is not None:
            extra.append(f"ORGANIZER:{organizer}")
        uid = fb.get("UID")
        if uid is not None:
            extra.append(f"UID:{uid}")
        sub(response, qn(CALDAV, "request-status"), "2.0;Success")
        body = vfreebusy(start, end, sorted(periods), method="REPLY", extra=extra)
        sub(response, qn(CALDAV, "calendar-data"), body.decode())
    return xml_response(root, 200)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


async def receive_imip_reply(box: Mailbox, itip: bytes) -> bool:
    """Apply an iMIP REPLY (RFC 6047) that reached the organizer's mailbox ``box``.

    The PARTSTAT of each replying ATTENDEE is copied into the organizer's object with
    the same UID. Returns whether an object was updated. Meant to be called by mail
    delivery for a text/calendar part with METHOD:REPLY (see docs/dav.md: the hook
    belongs in kastell/mail, and this function in a core groupware module).
    """
    try:
        cal = icalendar.Calendar.from_ical(itip)
    except Exception:
        return False
    if str(cal.get("METHOD", "")).upper() != "REPLY":
        return False
    component = ical.main_component(cal)
    if component is None or "UID" not in component:
        return False
    existing = await find_by_uid(box, str(component["UID"]))
    if existing is None:
        return False
    source = await box.source(existing[1])
    for attendee in ical._attendee_list(component):
        partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        source = ical.set_partstat(source, ical.address_of(attendee), partstat)
    await box.replace(existing[1].id, NewItem(source, kind=existing[1].kind, name=existing[1].name))
    return True
