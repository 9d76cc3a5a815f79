"""Typed results of the client, and their JSON in the shapes whatsapp-web.js gives them.

The page hands over WhatsApp Web's own serialized models (``page data``). Each class here reads the
fields it needs from that data the way whatsapp-web.js 1.34 builds its structures, and ``as_json()``
returns the object whatsapp-web.js would have produced, so that users of the ``ha-whatsapp-web-rest-api``
add-on (which sent those objects as JSON) find the same field names: ``id._serialized``, ``isGroup``,
``unreadCount``, ``hasMedia``, ``_data`` and the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, cast

from .errors import LoggedOut, NotConnected
from .ids import STATUS_BROADCAST, user_part

type JSON = Any
type JSONObject = dict[str, Any]

# Message ids longer than this come from Android phones (whatsapp-web.js 1.34.6's rule).
_ANDROID_ID_MIN_LENGTH = 22


class ClientState(StrEnum):
    """Where the client is in its life."""

    STOPPED = "stopped"
    STARTING = "starting"
    NEEDS_PAIRING = "needs_pairing"
    PAIRING = "pairing"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LOGGED_OUT = "logged_out"
    FAILED = "failed"

    @property
    def unlinked(self) -> bool:
        """No device is linked: linking needs a QR code or a pairing code."""
        return self in (ClientState.NEEDS_PAIRING, ClientState.LOGGED_OUT)

    def not_connected(self) -> NotConnected:
        """The error for a call that needs the connection, made in this state."""
        return LoggedOut() if self is ClientState.LOGGED_OUT else NotConnected(self.value)


class MessageAck(IntEnum):
    """How far a sent message got."""

    ERROR = -1
    PENDING = 0
    SERVER = 1
    DEVICE = 2
    READ = 3
    PLAYED = 4


def serialized_id(value: JSON) -> str | None:
    """The string form of a page id (a Wid or MsgKey object, or already a string)."""
    if isinstance(value, dict):
        text = value.get("_serialized")
        return text if isinstance(text, str) else None
    return value if isinstance(value, str) else None


def wid_json(value: JSON) -> JSONObject | None:
    """A chat or user id as whatsapp-web.js shows it: ``{server, user, _serialized}``."""
    text = serialized_id(value)
    if text is None:
        return None
    user, _, server = text.partition("@")
    return {"server": server, "user": user, "_serialized": text}


@dataclass(frozen=True, slots=True)
class Me:
    """The linked account."""

    id: str
    lid: str | None
    pushname: str | None
    platform: str | None

    @property
    def number(self) -> str:
        """The phone number, digits only."""
        return user_part(self.id)

    @classmethod
    def from_page(cls, data: JSONObject) -> Me:
        """Build from the bridge's ``me`` record."""
        return cls(
            id=str(data["wid"]),
            lid=data.get("lid"),
            pushname=data.get("pushname"),
            platform=data.get("platform"),
        )

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's ``client.info`` shape."""
        wid = wid_json(self.id)
        return {
            "pushname": self.pushname,
            "wid": wid,
            "me": wid,
            "platform": self.platform,
            "lid": self.lid,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """A message, as the page serialized it."""

    data: JSONObject = field(repr=False)

    @classmethod
    def from_page(cls, data: JSONObject) -> Message:
        """Wrap the bridge's message record."""
        return cls(data=data)

    @property
    def id(self) -> str:
        """The serialized message id."""
        return str(serialized_id(self.data["id"]))

    @property
    def chat_id(self) -> str:
        """The chat the message belongs to."""
        return str(serialized_id(self.data["id"].get("remote")))

    @property
    def is_status(self) -> bool:
        """A status update (a contact's story), not a message of a chat."""
        return bool(self.data.get("isStatusV3")) or self.chat_id == STATUS_BROADCAST

    @property
    def from_me(self) -> bool:
        """Sent by this account (here or from the phone)."""
        return bool(self.data["id"].get("fromMe"))

    @property
    def type(self) -> str:
        """WhatsApp's message type: chat, image, ptt, gp2, ..."""
        return str(self.data.get("type") or "unknown")

    @property
    def timestamp(self) -> int:
        """Unix seconds."""
        return int(self.data.get("t") or 0)

    @property
    def has_media(self) -> bool:
        """There is a file to download."""
        return bool(self.data.get("directPath"))

    @property
    def body(self) -> str:
        """The text: the caption of media, the body of text messages."""
        data = self.data
        if self.has_media:
            return str(data.get("caption") or "")
        return str(data.get("body") or data.get("pollName") or data.get("eventName") or "")

    @property
    def sender(self) -> str | None:
        """Who wrote it: the author in groups, else the sender."""
        return serialized_id(self.data.get("author")) or serialized_id(self.data.get("from"))

    @property
    def ack(self) -> int:
        """Delivery state (see MessageAck)."""
        return int(self.data.get("ack") or 0)

    @property
    def subtype(self) -> str | None:
        """For group notifications: add, remove, leave, subject, ..."""
        value = self.data.get("subtype")
        return str(value) if value is not None else None

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's Message object."""
        data = self.data
        key = data["id"]
        message_key = key.get("id") if isinstance(key, dict) else None
        device_type = "web"
        if isinstance(message_key, str):
            if len(message_key) >= _ANDROID_ID_MIN_LENGTH:
                device_type = "android"
            elif message_key.startswith("3A"):
                device_type = "ios"
        message_type = data.get("type")
        result: JSONObject = {
            "_data": data,
            "mediaKey": data.get("mediaKey"),
            "id": key,
            "ack": data.get("ack"),
            "hasMedia": self.has_media,
            "body": self.body,
            "type": message_type,
            "timestamp": data.get("t"),
            "from": serialized_id(data.get("from")),
            "to": serialized_id(data.get("to")),
            "author": serialized_id(data.get("author")),
            "deviceType": device_type,
            "isForwarded": data.get("isForwarded"),
            "forwardingScore": data.get("forwardingScore") or 0,
            "isStatus": self.is_status,
            "isStarred": data.get("star"),
            "broadcast": data.get("broadcast"),
            "fromMe": self.from_me,
            "hasQuotedMsg": bool(data.get("quotedMsg")),
            "hasReaction": bool(data.get("hasReaction")),
            "duration": data.get("duration") or None,
            "location": _location_json(data) if message_type == "location" else None,
            "vCards": _vcards(data),
            "inviteV4": _invite_json(data) if message_type == "groups_v4_invite" else None,
            "mentionedIds": [serialized_id(item) for item in data.get("mentionedJidList") or []],
            "groupMentions": data.get("groupMentions") or [],
            "orderId": data.get("orderId") or None,
            "token": data.get("token") or None,
            "isGif": bool(data.get("isGif")),
            "isEphemeral": data.get("isEphemeral"),
            "links": data.get("links") or [],
        }
        for optional in (
            "title",
            "description",
            "businessOwnerJid",
            "productId",
            "latestEditSenderTimestampMs",
            "latestEditMsgKey",
            "protocolMessageKey",
            "dynamicReplyButtons",
            "selectedButtonId",
        ):
            if data.get(optional):
                result[optional] = data[optional]
        if message_type == "poll_creation":
            result["pollName"] = data.get("pollName")
            result["pollOptions"] = data.get("pollOptions")
            result["allowMultipleAnswers"] = not data.get("pollSelectableOptionsCount")
        return {
            name: value for name, value in result.items() if value is not None or name in _NULLABLE
        }


# whatsapp-web.js sets these even when they are null/undefined; JSON keeps the nulls.
_NULLABLE = frozenset(
    {"author", "from", "to", "mediaKey", "ack", "timestamp", "type", "isEphemeral"}
)


def _location_json(data: JSONObject) -> JSONObject:
    name = address = url = None
    loc = data.get("loc")
    if isinstance(loc, str) and loc:
        name, _, address_part = loc.partition("\n")
        address = address_part or None
        url = data.get("clientUrl")
    description = f"{name}\n{address}" if name and address else (name or address or "")
    location: JSONObject = {
        "latitude": data.get("lat"),
        "longitude": data.get("lng"),
        "description": description,
    }
    for key, value in (("name", name), ("address", address), ("url", url)):
        if value is not None:
            location[key] = value
    return location


def _vcards(data: JSONObject) -> list[str]:
    if data.get("type") == "multi_vcard":
        return [str(card.get("vcard")) for card in data.get("vcardList") or []]
    if data.get("type") == "vcard":
        return [str(data.get("body") or "")]
    return []


def _invite_json(data: JSONObject) -> JSONObject:
    return {
        "inviteCode": data.get("inviteCode"),
        "inviteCodeExp": data.get("inviteCodeExp"),
        "groupId": data.get("inviteGrp"),
        "groupName": data.get("inviteGrpName"),
        "fromId": serialized_id(data.get("from")),
        "toId": serialized_id(data.get("to")),
    }


@dataclass(frozen=True, slots=True)
class GroupParticipant:
    """A member of a group."""

    id: str
    is_admin: bool
    is_super_admin: bool

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's participant shape."""
        return {
            "id": wid_json(self.id),
            "isAdmin": self.is_admin,
            "isSuperAdmin": self.is_super_admin,
        }


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat: a person or a group."""

    data: JSONObject = field(repr=False)

    @classmethod
    def from_page(cls, data: JSONObject) -> Chat:
        """Wrap the bridge's chat record."""
        return cls(data=data)

    @property
    def id(self) -> str:
        """The chat id."""
        return str(serialized_id(self.data["id"]))

    @property
    def name(self) -> str:
        """The title WhatsApp shows."""
        return str(self.data.get("formattedTitle") or self.data.get("name") or "")

    @property
    def is_group(self) -> bool:
        """A group chat."""
        return bool(self.data.get("isGroup"))

    @property
    def unread_count(self) -> int:
        """Unread messages (-1 when marked unread by hand)."""
        return int(self.data.get("unreadCount") or 0)

    @property
    def archived(self) -> bool:
        """In the archive."""
        return bool(self.data.get("archive"))

    @property
    def pinned(self) -> bool:
        """Pinned to the top."""
        return bool(self.data.get("pin"))

    @property
    def is_muted(self) -> bool:
        """Notifications muted."""
        return bool(self.data.get("isMuted"))

    @property
    def participants(self) -> list[GroupParticipant]:
        """Members of a group (empty for other chats)."""
        metadata = self.data.get("groupMetadata") or {}
        return [
            GroupParticipant(
                id=str(serialized_id(item.get("id"))),
                is_admin=bool(item.get("isAdmin")),
                is_super_admin=bool(item.get("isSuperAdmin")),
            )
            for item in metadata.get("participants") or []
        ]

    @property
    def last_message(self) -> Message | None:
        """The newest message loaded in the chat."""
        last = self.data.get("lastMessage")
        return Message.from_page(last) if isinstance(last, dict) else None

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's Chat (or GroupChat) object."""
        data = self.data
        result: JSONObject = {}
        if self.is_group:
            result["groupMetadata"] = data.get("groupMetadata")
        last = self.last_message
        result.update(
            {
                "id": wid_json(data["id"]),
                "name": data.get("formattedTitle"),
                "isGroup": self.is_group,
                "unreadCount": data.get("unreadCount", 0),
                "timestamp": data.get("t"),
                "archived": bool(data.get("archive")),
                "pinned": self.pinned,
                "isMuted": self.is_muted,
                "muteExpiration": data.get("muteExpiration", 0),
            }
        )
        if self.is_group:
            # whatsapp-web.js sets isReadOnly for groups only (an announcement group).
            result["isReadOnly"] = bool(data.get("isReadOnly"))
        if last is not None:
            result["lastMessage"] = last.as_json()
        return result


@dataclass(frozen=True, slots=True)
class Contact:
    """A person (or business) this account knows."""

    data: JSONObject = field(repr=False)

    @classmethod
    def from_page(cls, data: JSONObject) -> Contact:
        """Wrap the bridge's contact record."""
        return cls(data=data)

    @property
    def id(self) -> str:
        """The contact id."""
        return str(serialized_id(self.data["id"]))

    @property
    def name(self) -> str | None:
        """The name in the address book, else the push name."""
        value = self.data.get("name") or self.data.get("pushname")
        return str(value) if value else None

    @property
    def is_blocked(self) -> bool:
        """Blocked by this account."""
        return bool(self.data.get("isBlocked"))

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's Contact object."""
        data = self.data
        result: JSONObject = {
            "id": wid_json(data["id"]),
            "number": data.get("userid"),
            "isBusiness": bool(data.get("isBusiness")),
            "isEnterprise": data.get("isEnterprise"),
            "labels": data.get("labels"),
            "name": data.get("name"),
            "pushname": data.get("pushname"),
            "sectionHeader": data.get("sectionHeader"),
            "shortName": data.get("shortName"),
            "statusMute": data.get("statusMute"),
            "type": data.get("type"),
            "verifiedLevel": data.get("verifiedLevel"),
            "verifiedName": data.get("verifiedName"),
            "isMe": data.get("isMe"),
            "isUser": data.get("isUser"),
            "isGroup": data.get("isGroup"),
            "isWAContact": data.get("isWAContact"),
            "isMyContact": data.get("isMyContact"),
            "isBlocked": bool(data.get("isBlocked")),
        }
        if result["isBusiness"] and data.get("businessProfile") is not None:
            result["businessProfile"] = data["businessProfile"]
        return {name: value for name, value in result.items() if value is not None}


@dataclass(frozen=True, slots=True)
class GroupNotification:
    """Something happened in a group: people joined or left, the subject changed, ..."""

    message: Message

    @property
    def chat_id(self) -> str:
        """The group."""
        return self.message.chat_id

    @property
    def type(self) -> str:
        """add, invite, remove, leave, promote, demote, subject, description, picture, announce, ..."""
        return self.message.subtype or "unknown"

    @property
    def recipients(self) -> list[str]:
        """Who it is about."""
        return [
            text
            for item in self.message.data.get("recipients") or []
            if (text := serialized_id(item))
        ]

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's GroupNotification object."""
        data = self.message.data
        return {
            "id": data["id"],
            "body": data.get("body") or "",
            "type": self.type,
            "timestamp": data.get("t"),
            "chatId": self.chat_id,
            "author": serialized_id(data.get("author")),
            # whatsapp-web.js passes WhatsApp's recipients through as id objects.
            "recipientIds": [wid_json(item) or item for item in data.get("recipients") or []],
        }


@dataclass(frozen=True, slots=True)
class Call:
    """An incoming call."""

    data: JSONObject = field(repr=False)

    @property
    def caller(self) -> str:
        """Who is calling."""
        return str(serialized_id(self.data.get("peerJid")))

    @property
    def is_video(self) -> bool:
        """A video call."""
        return bool(self.data.get("isVideo"))

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's Call object."""
        data = self.data
        return {
            "id": data.get("id"),
            "from": self.caller,
            "timestamp": data.get("offerTime"),
            "isVideo": self.is_video,
            "isGroup": bool(data.get("isGroup")),
            "fromMe": bool(data.get("outgoing")),
            "canHandleLocally": bool(data.get("canHandleLocally")),
            "webClientShouldHandle": bool(data.get("webClientShouldHandle")),
            "participants": data.get("participants") or [],
        }


@dataclass(frozen=True, slots=True)
class Reaction:
    """Someone reacted to a message (an empty reaction removes it)."""

    data: JSONObject = field(repr=False)

    @property
    def message_id(self) -> str:
        """The message reacted to."""
        return str(serialized_id(self.data.get("parentMsgKey")))

    @property
    def emoji(self) -> str:
        """The reaction; empty when removed."""
        return str(self.data.get("reactionText") or "")

    @property
    def sender(self) -> str | None:
        """Who reacted."""
        return serialized_id(self.data.get("senderUserJid"))

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's Reaction object."""
        data = self.data
        return {
            "id": data.get("msgKey"),
            "orphan": data.get("orphan"),
            "orphanReason": data.get("orphanReason"),
            "timestamp": data.get("timestamp"),
            "reaction": self.emoji,
            "read": data.get("read"),
            "msgId": data.get("parentMsgKey"),
            "senderId": self.sender,
            "ack": data.get("ack"),
        }


@dataclass(frozen=True, slots=True)
class PollVote:
    """Someone's current choice on a poll (no options: they withdrew their vote)."""

    data: JSONObject = field(repr=False)

    @property
    def poll_id(self) -> str:
        """The poll message voted on."""
        return str(serialized_id(self.data.get("parentMsgKey")))

    @property
    def chat_id(self) -> str | None:
        """The chat of the poll."""
        key = self.data.get("parentMsgKey")
        return serialized_id(key.get("remote")) if isinstance(key, dict) else None

    @property
    def voter(self) -> str | None:
        """Who voted."""
        return serialized_id(self.data.get("voter"))

    @property
    def selected_options(self) -> list[str | None]:
        """The names of the chosen options (None for an option the page could not name)."""
        options = self.data.get("selectedOptions") or []
        return [item.get("name") for item in options if isinstance(item, dict)]

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's PollVote, with the vote time in seconds as ``timestamp``."""
        data = self.data
        parent = data.get("parentMessage")
        return {
            "voter": self.voter,
            "selectedOptions": [
                {"name": item.get("name"), "localId": item.get("localId")}
                for item in data.get("selectedOptions") or []
                if isinstance(item, dict)
            ],
            "timestamp": data.get("timestamp"),
            "interractedAtTs": data.get("senderTimestampMs"),
            "parentMsgKey": data.get("parentMsgKey"),
            "parentMessage": parent if isinstance(parent, dict) else None,
        }


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A file taken from or sent to WhatsApp."""

    data: bytes = field(repr=False)
    mimetype: str
    filename: str | None = None

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)


def transfer_allowance(media: MediaFile | None) -> float:
    """Seconds a call carrying ``media`` gets on top of its usual time: one a megabyte."""
    return media.size / 1_000_000 if media is not None else 0.0


@dataclass(frozen=True, slots=True)
class GroupCreated:
    """What creating a group returned."""

    gid: str
    title: str
    participants: dict[str, JSONObject]

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's createGroup result."""
        return {"title": self.title, "gid": wid_json(self.gid), "participants": self.participants}


@dataclass(frozen=True, slots=True)
class MuteState:
    """A chat's mute after muting or unmuting it."""

    is_muted: bool
    mute_expiration: int

    def as_json(self) -> JSONObject:
        """whatsapp-web.js's mute result."""
        return {"isMuted": self.is_muted, "muteExpiration": self.mute_expiration}


def as_json_object(value: JSON) -> JSONObject:
    """Narrow a page value known to be an object."""
    if not isinstance(value, dict):
        raise TypeError(f"expected an object from the page, got {type(value).__name__}")
    return cast("JSONObject", value)


# ---------------------------------------------------------------------------------------------
# Events, in the order the page reported them.


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The account is linked and WhatsApp Web finished its start-up sync."""

    me: Me


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session ended or paused: ``LOGOUT``, ``CONFLICT``, ``TIMEOUT``, ``BROWSER_CRASHED``, ..."""

    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """WhatsApp Web's own connection state changed (``CONNECTED``, ``TIMEOUT``, ``CONFLICT``, ...)."""

    state: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message from someone else; ``offline`` when it arrived while this client was away.

    ``sender_alternate_id`` is the sender's other id (the LID of a phone number, or the reverse) when
    the page knew it.
    """

    message: Message
    offline: bool = False
    sender_alternate_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageSent:
    """A message from this account, sent here or from the phone."""

    message: Message
    offline: bool = False


@dataclass(frozen=True, slots=True)
class MessageAcknowledged:
    """A sent message reached the server, the phone, was read or played."""

    message: Message
    ack: int


@dataclass(frozen=True, slots=True)
class MessageRevokedForEveryone:
    """The sender deleted a message for everyone; ``revoked`` is what it was, when known."""

    message: Message
    revoked: Message | None


@dataclass(frozen=True, slots=True)
class MessageRevokedForMe:
    """A message deleted for this account only."""

    message: Message


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """A message's text (a caption for media) was edited, by this account or by its sender."""

    message: Message
    new_body: str
    previous_body: str | None


@dataclass(frozen=True, slots=True)
class PollVoted:
    """Someone voted on a poll, changed their vote or withdrew it."""

    vote: PollVote


@dataclass(frozen=True, slots=True)
class GroupChanged:
    """A group notification: ``kind`` is ``join``, ``leave``, ``admin_changed`` or ``update``."""

    kind: str
    notification: GroupNotification
    offline: bool = False


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """Someone is calling this account."""

    call: Call


@dataclass(frozen=True, slots=True)
class MessageReaction:
    """A reaction was added or removed."""

    reaction: Reaction


@dataclass(frozen=True, slots=True)
class CapabilityMissing:
    """WhatsApp Web lacks a module or member: ``feature`` no longer works until it is updated."""

    feature: str
    missing: str


@dataclass(frozen=True, slots=True)
class CapabilitiesProbed:
    """The page was probed: ``table`` maps each operation to its call shape, or None if missing."""

    table: dict[str, str | None]


type ClientEvent = (
    Authenticated
    | CapabilitiesProbed
    | CapabilityMissing
    | Disconnected
    | StateChanged
    | MessageReceived
    | MessageSent
    | MessageAcknowledged
    | MessageRevokedForEveryone
    | MessageRevokedForMe
    | GroupChanged
    | IncomingCall
    | MessageReaction
    | MessageEdited
    | PollVoted
)

# How whatsapp-web.js routes a group notification's subtype to its events.
GROUP_NOTIFICATION_KINDS: dict[str, str] = {
    "add": "join",
    "invite": "join",
    "linked_group_join": "join",
    "remove": "leave",
    "leave": "leave",
    "promote": "admin_changed",
    "demote": "admin_changed",
}
