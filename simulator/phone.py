"""The phone and the other people: the control routes a test (or a person) uses to act on the account.

`/_sim/link` scans a QR or enters a pairing code, `/_sim/incoming`, `/burst`, `/traffic` and
`/offline` bring messages from others, `/_sim/ack`, `/react`, `/revoke`, `/group` and `/call` are what
others do to the account's messages and groups (docs/internals.md §1). `GET /_sim/phone` is the
same for people: `simulator/phone.html` with the current QR code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
import secrets

from aiohttp import web
import segno

from .account import JSONDict, Participant, is_group_id, new_incoming_id
from .args import InputError, decode_b64, not_found, read_json
from .message_kinds import MEDIA_TYPES, MESSAGE_TYPES
from .part import ServerPart
from .traffic import TrafficGenerator, TrafficRun, parse_plan

PHONE_HTML = Path(__file__).with_name("phone.html")
MAX_BURST = 100_000
GROUP_ACTIONS = (
    "add",
    "remove",
    "leave",
    "promote",
    "demote",
    "subject",
    "description",
    "picture",
    "announce",
    "restrict",
)


def qr_to_svg(text: str) -> str:
    """A QR code image (SVG) of `text`, made with segno."""
    code = segno.make(text, error="l", micro=False)
    svg: str = code.svg_inline(scale=4, border=2)
    return svg


class Phone(ServerPart):
    """What the phone and the other people do, as control routes."""

    def routes(self) -> list[web.RouteDef]:
        """The control routes of the phone's side."""
        return [
            web.get("/_sim/phone", self.handle_phone),
            web.get("/_sim/phone/qr.svg", self.handle_phone_qr),
            web.post("/_sim/link", self.handle_link),
            web.post("/_sim/incoming", self.handle_incoming),
            web.post("/_sim/burst", self.handle_burst),
            web.post("/_sim/traffic", self.handle_traffic),
            web.get("/_sim/traffic", self.handle_traffic_status),
            web.post("/_sim/ack", self.handle_ack),
            web.post("/_sim/react", self.handle_react),
            web.post("/_sim/revoke", self.handle_revoke),
            web.post("/_sim/group", self.handle_group),
            web.post("/_sim/call", self.handle_call),
            web.post("/_sim/offline", self.handle_offline),
        ]

    async def handle_phone(self, _request: web.Request) -> web.Response:
        """The phone page for people (the current QR inline, the rest fetched by its script)."""
        qr = self.hub.current_qr()
        qr_svg = qr_to_svg(qr) if qr else "<p>No page shows a QR code.</p>"
        template = PHONE_HTML.read_text(encoding="utf-8")
        page = template.replace("{{QR_SVG}}", qr_svg).replace(
            "{{QR_JSON}}", json.dumps(qr).replace("</", "<\\/")
        )
        return web.Response(text=page, content_type="text/html")

    async def handle_phone_qr(self, _request: web.Request) -> web.Response:
        """The current QR as SVG (404 when no page shows one)."""
        qr = self.hub.current_qr()
        if qr is None:
            raise not_found("qr", "no page shows a QR code")
        return web.Response(text=qr_to_svg(qr), content_type="image/svg+xml")

    async def handle_link(self, request: web.Request) -> web.Response:
        """`POST /_sim/link`: the phone scans a QR or enters a pairing code."""
        args = await read_json(request)
        if args.has("qr"):
            qr = args.text("qr")
            page = next(
                (p for p in self.server.pages if not p.closed and p.scannable_qr() == qr), None
            )
            if page is None:
                raise InputError("qr", "no page shows this QR code now")
        elif args.has("code"):
            code = args.text("code").strip().upper().replace("-", "")
            page = self.server.pairing_codes.get(code)
            if page is None or page.closed or page.device_id is not None:
                raise InputError("code", "no page waits for this pairing code")
        else:
            raise InputError("qr", "give qr or code")
        await self.hub.link(page)
        return web.json_response({"linked": True})

    async def handle_incoming(self, request: web.Request) -> web.Response:
        """`POST /_sim/incoming`: a message from someone (or typed on the phone)."""
        args = await read_json(request)
        chat_id = args.wid("chat")
        from_me = args.boolean("from_me")
        sender = args.optional_wid("from", kind="user")
        author = args.optional_wid("author", kind="user")
        body = args.optional_text("body", default="") or ""
        kind = args.optional_text("type")
        if kind is not None and kind not in MESSAGE_TYPES:
            raise InputError("type", f"must be one of {', '.join(sorted(MESSAGE_TYPES))}")
        mentions = args.id_list("mentions", required=False)
        quoted_id = args.optional_text("quoted_id")
        media_args = args.optional_obj("media")
        media: tuple[bytes, str, str | None] | None = None
        if media_args is not None:
            mimetype = media_args.text("mimetype")
            filename = media_args.optional_text("filename")
            data = decode_b64(media_args.text("data_b64"), "media.data_b64")
            media = (data, mimetype, filename)
            if kind is None:
                kind = _kind_for_mimetype(mimetype)
            elif kind not in MEDIA_TYPES:
                raise InputError("type", "must be a media type when media is given")
        elif kind in MEDIA_TYPES:
            raise InputError("media", "is required for a media type")
        pushes: list[JSONDict] = []
        if is_group_id(chat_id):
            chat = self.server.get_chat(chat_id, "chat")
            if author is None and not from_me:
                raise InputError("author", "is required for group chats")
        else:
            if sender is not None and sender != chat_id:
                known = self.account.contacts.get(chat_id)
                if known is None or sender != known.phone_number:
                    raise InputError("from", "must be the chat (or its phone number)")
            chat, pushes = self.changes.ensure_direct_chat(chat_id)
        if quoted_id is not None:
            self.server.get_message(quoted_id, "quoted_id")
        message = self.changes.build_incoming(
            chat,
            sender=sender,
            author=author,
            body=body,
            kind=kind or "chat",
            from_me=from_me,
            media=media,
            quoted_id=quoted_id,
            mentions=mentions,
        )
        await self.hub.deliver(message, pushes)
        return web.json_response({"id": message.key})

    async def handle_burst(self, request: web.Request) -> web.Response:
        """`POST /_sim/burst`: many text messages from these 1:1 chats, as fast as the server goes.

        Messages from WhatsApp's servers reach a device without anybody's HTTP request per
        message; a benchmark that sent each one through `/_sim/incoming` measured its own sender.
        """
        args = await read_json(request)
        chat_ids = args.id_list("chats")
        if not chat_ids:
            raise InputError("chats", "must name at least one chat")
        count = args.integer("count", minimum=1, maximum=MAX_BURST)
        chats = [self.server.get_chat(chat_id, "chats") for chat_id in chat_ids]
        ids: list[str] = []
        for n in range(count):
            chat = chats[n % len(chats)]
            message = self.changes.build_incoming(
                chat, sender=None, author=None, body=f"burst {n}", kind="chat", from_me=False
            )
            await self.hub.deliver(message, [])
            ids.append(message.key)
        return web.json_response({"ids": ids})

    async def handle_traffic(self, request: web.Request) -> web.Response:
        """`POST /_sim/traffic`: mixed events at a steady rate, generated here (simulator/traffic.py).

        Answers 202 at once; `GET /_sim/traffic` reports the progress. One run at a time.
        """
        args = await read_json(request)
        if args.boolean("stop"):
            if self.server.traffic is not None and self.server.traffic.task is not None:
                self.server.traffic.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.server.traffic.task
            return web.json_response(self.server.traffic.status() if self.server.traffic else {})
        if self.server.traffic is not None and self.server.traffic.finished is None:
            raise InputError("count", "a traffic run is still going (stop it first)", status=409)
        run = TrafficRun(parse_plan(self.server, args))
        run.task = asyncio.get_running_loop().create_task(TrafficGenerator(self.server, run)())
        self.server.traffic = run
        return web.json_response(run.status(), status=202)

    async def handle_traffic_status(self, _request: web.Request) -> web.Response:
        """`GET /_sim/traffic`: the latest run's progress (404 before any)."""
        if self.server.traffic is None:
            raise not_found("traffic", "no traffic run yet")
        return web.json_response(self.server.traffic.status())

    async def handle_ack(self, request: web.Request) -> web.Response:
        """`POST /_sim/ack`: the receiver's phone acknowledged a message."""
        args = await read_json(request)
        key = args.text("id")
        ack = args.integer("ack", minimum=-1, maximum=4)
        if ack == 0:
            raise InputError("ack", "must be 1..4 or -1")
        message = await self.changes.sent_message(key)
        message.wire["ack"] = ack
        await self.hub.broadcast({"t": "msg_update", "id": message.key, "changes": {"ack": ack}})
        self.server.changed()
        return web.Response(status=204)

    async def handle_react(self, request: web.Request) -> web.Response:
        """`POST /_sim/react`: someone reacted to a message (`""` removes)."""
        args = await read_json(request)
        key = args.text("id")
        emoji = args.text("emoji")
        sender = args.optional_wid("from", kind="user")
        message = await self.changes.sent_message(key)
        await self.changes.apply_reaction(
            message, self.changes.default_sender(message, sender), emoji, from_me=False
        )
        return web.Response(status=204)

    async def handle_revoke(self, request: web.Request) -> web.Response:
        """`POST /_sim/revoke`: the sender deleted a message for everyone."""
        args = await read_json(request)
        message = await self.changes.sent_message(args.text("id"))
        await self.changes.revoke(message)
        return web.Response(status=204)

    async def handle_group(self, request: web.Request) -> web.Response:
        """`POST /_sim/group`: someone changed a group."""
        args = await read_json(request)
        group_id = args.wid("group", kind="group")
        action = args.choice("action", GROUP_ACTIONS)
        group = self.server.get_group(group_id, "group")
        author = args.optional_wid("author", kind="user")
        if author is None:
            author = group.owner
        participants = args.id_list(
            "participants", required=action in ("add", "remove", "promote", "demote")
        )
        recipients = list(participants)
        if action == "add":
            for user in participants:
                if group.participant(user) is None:
                    group.participants.append(Participant(id=user))
        elif action in ("remove", "leave"):
            gone = set(participants) if action == "remove" else {author}
            missing = [user for user in sorted(gone) if group.participant(user) is None]
            if missing:
                field_name = "participants" if action == "remove" else "author"
                raise not_found(field_name, f"{missing[0]} is not in the group")
            recipients = sorted(gone) if action == "leave" else recipients
            group.participants = [p for p in group.participants if p.id not in gone]
        elif action in ("promote", "demote"):
            for user in participants:
                member = group.participant(user)
                if member is None:
                    raise not_found("participants", f"{user} is not in the group")
                member.is_admin = action == "promote"
                if action == "demote":
                    member.is_super_admin = False
        elif action == "subject":
            group.subject = args.text("value")
        elif action == "description":
            group.desc = args.text("value")
            group.desc_id = new_incoming_id()
        elif action in ("announce", "restrict"):
            value = args.data.get("value")
            if not isinstance(value, bool):
                raise InputError("value", "must be a boolean")
            setattr(group, action, value)
        else:  # picture: nothing in the metadata changes
            args.optional_text("value")
        body = (
            group.subject if action == "subject" else group.desc if action == "description" else ""
        )
        notification = self.changes.gp2(group, action, author, recipients, body)
        await self.changes.push_group(group, notification)
        return web.json_response({"id": notification.key})

    async def handle_call(self, request: web.Request) -> web.Response:
        """`POST /_sim/call`: an incoming call."""
        args = await read_json(request)
        caller = args.wid("from")
        is_video = args.boolean("is_video")
        is_group = args.boolean("is_group")
        call_id = secrets.token_hex(16).upper()
        call: JSONDict = {
            "id": call_id,
            "peerJid": caller,
            "offerTime": self.server.now(),
            "isVideo": is_video,
            "isGroup": is_group,
            "outgoing": False,
            "canHandleLocally": True,
            "webClientShouldHandle": True,
            "participants": [],
        }
        await self.hub.broadcast({"t": "call_add", "call": call})
        return web.json_response({"id": call_id})

    async def handle_offline(self, request: web.Request) -> web.Response:
        """`POST /_sim/offline`: N incoming texts queued for the next (re)connection."""
        args = await read_json(request)
        count = args.integer("messages", minimum=0, maximum=100_000)
        chat_id = args.optional_wid("chat")
        if chat_id is not None:
            chat = self.server.get_chat(chat_id, "chat")
        else:
            candidates = [c for c in self.account.chat_order() if not c.is_group and not c.archive]
            if not candidates:
                raise InputError("chat", "is required (no 1:1 chat to use)")
            chat = candidates[0]
        group = self.account.groups.get(chat.id)
        others = [p.id for p in group.participants if not self.account.is_me(p.id)] if group else []
        if group is not None and not others:
            raise InputError("chat", "the group has no other member")
        for index in range(count):
            message = self.changes.build_incoming(
                chat,
                sender=None,
                author=others[index % len(others)] if others else None,
                body=f"Offline message {index + 1} of {count}",
                kind="chat",
                from_me=False,
            )
            for device_id in self.account.devices:
                self.account.pending.setdefault(device_id, []).append(message.key)
        self.server.changed()
        return web.Response(status=204)


def _kind_for_mimetype(mimetype: str) -> str:
    """The message type WhatsApp uses for a media MIME type."""
    base = mimetype.split(";", maxsplit=1)[0].strip().lower()
    if base == "image/webp":
        return "sticker"
    if base.startswith("image/"):
        return "image"
    if base.startswith("video/"):
        return "video"
    if base.startswith("audio/"):
        return "ptt" if "opus" in mimetype.lower() else "audio"
    return "document"
