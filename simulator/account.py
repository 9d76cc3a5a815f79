"""The account the simulator plays: me, chats, contacts, groups, messages, media, devices, outbox.

Everything here is plain data with JSON (de)serialization; the server (`simulator.server`) decides
when things change and what the page is told. Wire shapes follow `simulator/PROTOCOL.md` "Shapes".
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from functools import cached_property
import hashlib
import json
import os
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

type JSONDict = dict[str, Any]

USER_ID_RE = re.compile(r"^\d{5,20}@(c\.us|lid)$")
GROUP_ID_RE = re.compile(r"^\d{5,20}(-\d{5,20})?@g\.us$")
ANY_ID_RE = re.compile(r"^\d{5,20}(-\d{5,20})?@(c\.us|lid|g\.us)$")

#: Newest messages per chat that the `sync` snapshot carries; `load_earlier` pages the rest.
SNAPSHOT_MESSAGES_PER_CHAT = 3

INVITE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
STATE_FILE = "account.json"
MEDIA_DIR = "media"


def is_user_id(value: object) -> bool:
    """True for `<digits>@c.us` and `<digits>@lid`."""
    return isinstance(value, str) and USER_ID_RE.match(value) is not None


def is_group_id(value: object) -> bool:
    """True for `<digits>@g.us` and `<digits>-<digits>@g.us`."""
    return isinstance(value, str) and GROUP_ID_RE.match(value) is not None


def serialize_key(from_me: bool, remote: str, msg_id: str, participant: str | None = None) -> str:
    """The `_serialized` form of a MsgKey: `<fromMe>_<remote>_<id>[_<participant>]`."""
    text = f"{'true' if from_me else 'false'}_{remote}_{msg_id}"
    return f"{text}_{participant}" if participant else text


def make_key(from_me: bool, remote: str, msg_id: str, participant: str | None = None) -> JSONDict:
    """A MsgKey in the wire shape."""
    key: JSONDict = {"fromMe": from_me, "remote": remote, "id": msg_id}
    if participant:
        key["participant"] = participant
    key["_serialized"] = serialize_key(from_me, remote, msg_id, participant)
    return key


def new_incoming_id() -> str:
    """A fresh id as an Android phone makes them today: 32 upper hex digits.

    Key ids got longer: an Android sender is told by an id of more than 25 characters
    (docs/whatsapp-web-surface.md §8.1 C40).
    """
    return secrets.token_hex(16).upper()


def lid_for_number(phone_id: str) -> str:
    """The LID the account's server gave a phone number: fixed per number, unrelated digits."""
    digest = hashlib.sha256(f"lid:{phone_id}".encode()).digest()
    return f"{10**14 + int.from_bytes(digest[:8], 'big') % (9 * 10**14)}@lid"


def new_own_id() -> str:
    """A fresh id as WhatsApp Web makes them: `3EB0` + 16 upper hex digits."""
    return "3EB0" + secrets.token_hex(8).upper()


def new_invite_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A group invite code: 22 letters and digits (``choice`` picks one; the seed passes its own)."""
    return "".join(choice(INVITE_ALPHABET) for _ in range(22))


@dataclass
class Me:
    """The account owner."""

    id: str
    lid: str
    pushname: str
    platform: str = "android"
    about: str = "Hey there! I am using WhatsApp."

    def wire(self) -> JSONDict:
        """The **me** shape."""
        return {
            "id": self.id,
            "lid": self.lid,
            "pushname": self.pushname,
            "platform": self.platform,
        }


@dataclass
class Contact:
    """A contact (or any known user)."""

    id: str
    name: str | None = None
    pushname: str | None = None
    short_name: str | None = None
    #: For a contact known by LID: its phone number (`@c.us`).
    phone_number: str | None = None
    is_business: bool = False
    is_enterprise: bool = False
    is_my_contact: bool = True
    is_wa_contact: bool = True
    is_blocked: bool = False
    verified_name: str | None = None
    about: str | None = None
    #: Server-side only: adding this user to a group answers 403 (privacy settings).
    group_add_privacy: bool = False
    #: For a contact known by phone number: its LID (the page learns the pair from `lid`).
    lid: str | None = None

    @property
    def account_lid(self) -> str | None:
        """The contact's LID, whichever id it is known by."""
        return self.id if self.id.endswith("@lid") else self.lid

    @property
    def phone_id(self) -> str | None:
        """The contact's phone number id, whichever id it is known by."""
        return self.id if self.id.endswith("@c.us") else self.phone_number

    def wire(self) -> JSONDict:
        """The **contact** shape (optional fields left out when unknown)."""
        data: JSONDict = {
            "id": self.id,
            "isBusiness": self.is_business,
            "isEnterprise": self.is_enterprise,
            "isMyContact": self.is_my_contact,
            "isWAContact": self.is_wa_contact,
            "isBlocked": self.is_blocked,
        }
        optional = {
            "name": self.name,
            "pushname": self.pushname,
            "shortName": self.short_name,
            "phoneNumber": self.phone_number,
            "lid": self.lid,
            "verifiedName": self.verified_name,
            "about": self.about,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data


@dataclass
class Chat:
    """A chat (1:1 or group)."""

    id: str
    name: str
    t: int
    unread_count: int = 0
    archive: bool = False
    pin: int = 0
    mute_expiration: int = 0
    is_read_only: bool = False
    is_locked: bool = False

    @property
    def is_group(self) -> bool:
        """Whether this is a group chat."""
        return self.id.endswith("@g.us")

    def wire(self) -> JSONDict:
        """The **chat** shape."""
        return {
            "id": self.id,
            "name": self.name,
            "t": self.t,
            "unreadCount": self.unread_count,
            "archive": self.archive,
            "pin": self.pin,
            "muteExpiration": self.mute_expiration,
            "isGroup": self.is_group,
            "isReadOnly": self.is_read_only,
            "isLocked": self.is_locked,
        }


@dataclass
class Participant:
    """A group member."""

    id: str
    is_admin: bool = False
    is_super_admin: bool = False
    phone_number: str | None = None

    def wire(self) -> JSONDict:
        """The participant entry of the **group** shape."""
        data: JSONDict = {
            "id": self.id,
            "isAdmin": self.is_admin or self.is_super_admin,
            "isSuperAdmin": self.is_super_admin,
        }
        if self.phone_number:
            data["phoneNumber"] = self.phone_number
        return data


@dataclass
class Group:
    """Group metadata."""

    id: str
    subject: str
    owner: str
    creation: int
    desc: str = ""
    desc_id: str = ""
    announce: bool = False
    restrict: bool = False
    member_add_mode: str = "admin_add"
    is_lid_addressing_mode: bool = False
    participants: list[Participant] = field(default_factory=list)
    invite_code: str = ""

    def participant(self, user_id: str) -> Participant | None:
        """The member with that id, or None."""
        return next((p for p in self.participants if p.id == user_id), None)

    def wire(self) -> JSONDict:
        """The **group** shape."""
        return {
            "id": self.id,
            "subject": self.subject,
            "owner": self.owner,
            "creation": self.creation,
            "desc": self.desc,
            "descId": self.desc_id,
            "announce": self.announce,
            "restrict": self.restrict,
            "memberAddMode": self.member_add_mode,
            "isLidAddressingMode": self.is_lid_addressing_mode,
            "participants": [p.wire() for p in self.participants],
        }


@dataclass
class StoredMessage:
    """A message: its wire form plus the server-side facts tests look at."""

    chat: str
    wire: JSONDict
    revoked: bool = False
    #: Accepted from the page but never delivered (a location sent with the wrong stanza type).
    undelivered: bool = False
    #: sender id -> emoji (the current reaction of each sender).
    reactions: dict[str, str] = field(default_factory=dict)
    #: voter id -> the poll options (local ids) they chose, for polls.
    votes: dict[str, list[int]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The serialized MsgKey."""
        return str(self.wire["id"]["_serialized"])

    def truth(self) -> JSONDict:
        """The `/_sim/messages/{id}` answer."""
        data = dict(self.wire)
        data.update(
            {
                "id": self.key,
                "key": self.wire["id"],
                "chat": self.chat,
                "type": self.wire.get("type"),
                "body": self.wire.get("body"),
                "ack": self.wire.get("ack"),
                "starred": bool(self.wire.get("star")),
                "revoked": self.revoked,
                "undelivered": self.undelivered,
                "reactions": dict(self.reactions),
                "votes": {voter: list(ids) for voter, ids in self.votes.items()},
            }
        )
        return data


@dataclass
class MediaBlob:
    """Media bytes stored under a `directPath`."""

    data: bytes
    mimetype: str
    filename: str | None = None

    @cached_property
    def _sha256(self) -> bytes:
        # Blobs are never changed in place; saves and uploads ask for the hash again and again.
        return hashlib.sha256(self.data).digest()

    @property
    def sha256_hex(self) -> str:
        """Hex SHA-256 of the bytes (the outbox's `sha256`)."""
        return self._sha256.hex()

    @property
    def filehash(self) -> str:
        """Base64 SHA-256 of the bytes (WhatsApp's `filehash`)."""
        return base64.b64encode(self._sha256).decode()


@dataclass
class Device:
    """A linked device (one browser profile)."""

    id: str
    secret: str
    linked_at: float

    def wire(self) -> JSONDict:
        """The `{id, secret}` the page keeps."""
        return {"id": self.id, "secret": self.secret}


@dataclass
class Account:
    """Everything one WhatsApp account holds on the server side."""

    me: Me
    chats: dict[str, Chat] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    #: chat id -> serialized keys, oldest first.
    chat_messages: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    media: dict[str, MediaBlob] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    #: device id -> serialized keys waiting for offline delivery.
    pending: dict[str, list[str]] = field(default_factory=dict)
    outbox: list[JSONDict] = field(default_factory=list)
    seq: int = 0

    # ----- lookups -------------------------------------------------------------------------

    def is_me(self, user_id: str) -> bool:
        """Whether the id is the account owner (phone number or LID)."""
        return user_id in (self.me.id, self.me.lid)

    def chat_order(self) -> list[Chat]:
        """Chats as WhatsApp lists them: pinned first (newest pin first), then newest first."""
        return sorted(self.chats.values(), key=lambda c: (c.pin == 0, -c.pin, -c.t))

    def blocklist(self) -> list[str]:
        """The block list: LIDs of blocked contacts (docs/whatsapp-web-surface.md §8.1 C33)."""
        return [c.account_lid or c.id for c in self.contacts.values() if c.is_blocked]

    def contact_for(self, user_id: str) -> Contact | None:
        """The contact known by that id, its phone number or its LID."""
        contact = self.contacts.get(user_id)
        if contact is not None:
            return contact
        return next((c for c in self.contacts.values() if user_id in (c.phone_number, c.lid)), None)

    def registered(self, user_id: str) -> Contact | None:
        """The WhatsApp user with that phone number or LID id, if registered."""
        contact = self.contact_for(user_id)
        return contact if contact is not None and contact.is_wa_contact else None

    def lid_of(self, user_id: str) -> str | None:
        """The @lid id of a user known by phone number (or the id itself for an @lid id)."""
        if user_id.endswith("@lid"):
            return user_id
        if self.is_me(user_id):
            return self.me.lid
        contact = self.contact_for(user_id)
        return contact.account_lid if contact is not None else None

    def phone_of(self, user_id: str) -> str | None:
        """The @c.us id of a user known by LID (or the id itself for an @c.us id)."""
        if user_id.endswith("@c.us"):
            return user_id
        if self.is_me(user_id):
            return self.me.id
        contact = self.contact_for(user_id)
        return contact.phone_id if contact is not None else None

    def chat_keys(self, chat_id: str) -> list[str]:
        """The serialized keys of a chat, oldest first."""
        return self.chat_messages.setdefault(chat_id, [])

    # ----- changes --------------------------------------------------------------------------

    def add_message(self, message: StoredMessage) -> None:
        """Store a message at the end of its chat."""
        self.messages[message.key] = message
        self.chat_keys(message.chat).append(message.key)

    def remove_message(self, key: str) -> StoredMessage | None:
        """Forget a message."""
        message = self.messages.pop(key, None)
        if message is not None:
            keys = self.chat_messages.get(message.chat, [])
            if key in keys:
                keys.remove(key)
        return message

    def record(self, kind: str, page: str | None, **fields: Any) -> JSONDict:
        """Append one outbox entry (`docs/internals.md` §1.1)."""
        self.seq += 1
        entry: JSONDict = {"seq": self.seq, "kind": kind, "at": time.time(), "page": page}
        entry.update(fields)
        self.outbox.append(entry)
        return entry

    # ----- snapshot -------------------------------------------------------------------------

    def snapshot(self, exclude: set[str] | None = None) -> JSONDict:
        """The `sync` frame: every chat, contact and group, and the newest messages per chat."""
        skip = exclude or set()
        chats = self.chat_order()
        messages: list[JSONDict] = []
        for chat in chats:
            keys = [k for k in self.chat_messages.get(chat.id, []) if k not in skip]
            for key in keys[-SNAPSHOT_MESSAGES_PER_CHAT:]:
                wire = dict(self.messages[key].wire)
                wire["isNewMsg"] = False
                messages.append(wire)
        return {
            "t": "sync",
            "me": self.me.wire(),
            "chats": [c.wire() for c in chats],
            "contacts": [c.wire() for c in self.contacts.values()],
            "groups": [self.groups[c.id].wire() for c in chats if c.id in self.groups],
            "messages": messages,
            "blocklist": self.blocklist(),
        }

    # ----- persistence ----------------------------------------------------------------------

    def to_json(self) -> JSONDict:
        """Everything but media bytes, as JSON-able data."""
        return {
            "me": asdict(self.me),
            "chats": [asdict(c) for c in self.chats.values()],
            "contacts": [asdict(c) for c in self.contacts.values()],
            "groups": [asdict(g) for g in self.groups.values()],
            "chat_messages": self.chat_messages,
            "messages": [asdict(m) for m in self.messages.values()],
            "media": {
                path: {
                    "sha256": blob.sha256_hex,
                    "mimetype": blob.mimetype,
                    "filename": blob.filename,
                }
                for path, blob in self.media.items()
            },
            "devices": [asdict(d) for d in self.devices.values()],
            "pending": self.pending,
            "outbox": self.outbox,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: JSONDict, media_bytes: dict[str, bytes]) -> Account:
        """Rebuild an account from `to_json` output and the media bytes by SHA-256 hex."""
        groups = []
        for raw in data["groups"]:
            group = Group(**{k: v for k, v in raw.items() if k != "participants"})
            group.participants = [Participant(**p) for p in raw["participants"]]
            groups.append(group)
        account = cls(
            me=Me(**data["me"]),
            chats={c["id"]: Chat(**c) for c in data["chats"]},
            contacts={c["id"]: Contact(**c) for c in data["contacts"]},
            groups={g.id: g for g in groups},
            chat_messages={k: list(v) for k, v in data["chat_messages"].items()},
            devices={d["id"]: Device(**d) for d in data["devices"]},
            pending={k: list(v) for k, v in data["pending"].items()},
            outbox=list(data["outbox"]),
            seq=int(data["seq"]),
        )
        for raw in data["messages"]:
            message = StoredMessage(**raw)
            account.messages[message.key] = message
        for path, meta in data["media"].items():
            blob_bytes = media_bytes.get(meta["sha256"])
            if blob_bytes is not None:
                account.media[path] = MediaBlob(blob_bytes, meta["mimetype"], meta["filename"])
        return account

    def save(self, state_dir: Path) -> None:
        """Write the account under `state_dir` atomically (media files first, then the JSON)."""
        media_dir = state_dir / MEDIA_DIR
        media_dir.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        for blob in self.media.values():
            digest = blob.sha256_hex
            if digest in written:
                continue
            written.add(digest)
            target = media_dir / digest
            if not target.exists():
                _write_atomically(target, blob.data)
        payload = json.dumps(self.to_json(), separators=(",", ":")).encode()
        _write_atomically(state_dir / STATE_FILE, payload)

    @classmethod
    def load(cls, state_dir: Path) -> Account | None:
        """The account saved under `state_dir`, or None when there is none."""
        path = state_dir / STATE_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        media_dir = state_dir / MEDIA_DIR
        wanted = {meta["sha256"] for meta in data["media"].values()}
        media_bytes = {
            digest: (media_dir / digest).read_bytes()
            for digest in wanted
            if (media_dir / digest).exists()
        }
        return cls.from_json(data, media_bytes)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary sibling, flush it to disk, then rename over the target."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
