"""A deterministic data set: the same seed gives the same ids, names and message bodies.

Media messages carry real, valid files generated here (PNG, WAV, Ogg Opus, PDF, WebP, MP4
container), so that clients that download and inspect media see genuine bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
import time
import zlib

from .account import (
    Account,
    Chat,
    Contact,
    Group,
    JSONDict,
    Me,
    MediaBlob,
    Participant,
    StoredMessage,
    lid_for_number,
    make_key,
    new_invite_code,
)

FIRST_NAMES = (
    "Ana",
    "Bruno",
    "Carla",
    "Daniel",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katja",
    "Luca",
    "Mara",
    "Nils",
    "Olga",
    "Paul",
    "Rosa",
    "Sven",
    "Tara",
    "Uwe",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
)
LAST_NAMES = (
    "Alves",
    "Berg",
    "Costa",
    "Dahl",
    "Engel",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Klein",
    "Lopez",
    "Meyer",
    "Novak",
    "Olsen",
    "Peters",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Vogel",
)
COMPANIES = ("Bakery Sol", "Garage Nord", "Dental Care", "Pizza Roma", "Bike Shop", "Florist Iris")
GROUP_SUBJECTS = (
    "Family",
    "Football Team",
    "Book Club",
    "Neighbours",
    "Work Crew",
    "Trip 2026",
    "Choir",
    "Climbing",
    "Parents Class 3b",
    "Garden Club",
)
WORDS = (
    "hello",
    "tomorrow",
    "meeting",
    "dinner",
    "great",
    "thanks",
    "photo",
    "later",
    "today",
    "weekend",
    "coffee",
    "train",
    "late",
    "ready",
    "call",
    "soon",
    "idea",
    "plan",
    "home",
    "park",
    "music",
    "game",
    "birthday",
    "cake",
    "sunny",
    "rain",
    "office",
    "holiday",
    "ticket",
    "see",
)
COUNTRY_PREFIXES = ("49", "44", "1555", "351", "34", "39", "31")

#: Message types cycled through in the first chats so every type is present.
ALL_TYPES = (
    "chat",
    "image",
    "video",
    "audio",
    "ptt",
    "document",
    "sticker",
    "location",
    "vcard",
    "chat",
)
WEIGHTED_TYPES = (
    ("chat", 60),
    ("image", 10),
    ("video", 4),
    ("audio", 3),
    ("ptt", 6),
    ("document", 5),
    ("sticker", 5),
    ("location", 3),
    ("vcard", 2),
    ("chat_link", 2),
)

_TYPE_NAMES = tuple(kind for kind, _ in WEIGHTED_TYPES)
_TYPE_WEIGHTS = tuple(weight for _, weight in WEIGHTED_TYPES)


# ----- media files --------------------------------------------------------------------------


def make_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG with a colour gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type "none" for each scanline
        for x in range(width):
            rows += bytes((x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 160))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def make_wav(seconds: float = 0.25, rate: int = 8000, frequency: float = 440.0) -> bytes:
    """A valid 8-bit mono PCM WAV with a sine tone."""
    count = int(seconds * rate)
    samples = bytes(
        int(128 + 100 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(count)
    )
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(samples))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
    )


def _ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    """One Ogg page holding whole packets (each shorter than 255 bytes)."""
    lacing = bytes(len(p) for p in packets)
    header = (
        b"OggS"
        + bytes((0, flags))
        + struct.pack("<qIII", granule, 0x5157A11, sequence, 0)
        + bytes((len(lacing),))
        + lacing
    )
    page = header + b"".join(packets)
    checksum = _ogg_crc(page)
    return page[:22] + struct.pack("<I", checksum) + page[26:]


def make_ogg_opus(frames: int = 25) -> bytes:
    """A valid Ogg Opus stream (a voice note) of `frames` x 20 ms of silence."""
    pre_skip = 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    vendor = b"wa-sim"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    # A 1-byte code-0 packet (TOC only, CELT fullband 20 ms) is a valid empty (DTX) frame.
    audio = [b"\xf8"] * frames
    return (
        _ogg_page([head], 0, 0, 0x02)
        + _ogg_page([tags], 0, 1, 0x00)
        + _ogg_page(audio, pre_skip + 960 * frames, 2, 0x04)
    )


def make_pdf(text: str = "WhatsApp simulator document") -> bytes:
    """A valid one-page PDF showing a line of text."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] "
            b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


class _BitWriter:
    """Least-significant-bit-first bit packing, as VP8L wants it."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def write(self, value: int, bits: int) -> None:
        self.value |= (value & ((1 << bits) - 1)) << self.length
        self.length += bits

    def getvalue(self) -> bytes:
        return self.value.to_bytes((self.length + 7) // 8, "little")


def make_webp(
    width: int = 64, height: int = 64, rgba: tuple[int, int, int, int] = (37, 211, 102, 255)
) -> bytes:
    """A valid lossless (VP8L) WebP of one colour, 64x64 by default (a tiny sticker)."""
    red, green, blue, alpha = rgba
    bits = _BitWriter()
    bits.write(0x2F, 8)  # VP8L signature
    bits.write(width - 1, 14)
    bits.write(height - 1, 14)
    bits.write(1 if alpha < 255 else 0, 1)
    bits.write(0, 3)  # version
    bits.write(0, 1)  # no transforms
    bits.write(0, 1)  # no colour cache
    bits.write(0, 1)  # no meta prefix codes
    # Five "simple" prefix codes with one 8-bit symbol each: green, red, blue, alpha, distance.
    # A one-symbol code takes zero bits per pixel, so no pixel data follows.
    for symbol in (green, red, blue, alpha, 0):
        bits.write(1, 1)  # simple code
        bits.write(0, 1)  # one symbol
        bits.write(1, 1)  # 8-bit symbol
        bits.write(symbol, 8)
    payload = bits.getvalue()
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + (b"\0" * (len(payload) % 2))
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def make_mp4() -> bytes:
    """A well-formed ISO-BMFF (MP4) container: `ftyp`, a `moov` with `mvhd`, an empty `mdat`."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = box(
        b"mvhd",
        struct.pack(">BxxxIIII", 0, 0, 0, 1000, 1000)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\0" * 10
        + matrix
        + b"\0" * 24
        + struct.pack(">I", 2),
    )
    return ftyp + box(b"moov", mvhd) + box(b"mdat", b"")


MEDIA_KINDS: dict[str, tuple[str, str | None]] = {
    "image": ("image/png", None),
    "video": ("video/mp4", None),
    "audio": ("audio/wav", "tone.wav"),
    "ptt": ("audio/ogg; codecs=opus", None),
    "document": ("application/pdf", "report.pdf"),
    "sticker": ("image/webp", None),
}


def media_blobs() -> dict[str, MediaBlob]:
    """One shared blob per media type."""
    makers = {
        "image": make_png,
        "video": make_mp4,
        "audio": make_wav,
        "ptt": make_ogg_opus,
        "document": make_pdf,
        "sticker": make_webp,
    }
    return {
        kind: MediaBlob(makers[kind](), MEDIA_KINDS[kind][0], MEDIA_KINDS[kind][1])
        for kind in makers
    }


# ----- the data set -------------------------------------------------------------------------


class _Seeder:
    """Builds one account from a seeded random generator."""

    def __init__(self, seed: int, now: int) -> None:
        # Deterministic on purpose: the same seed must give the same data set.
        self.rng = random.Random(seed)  # noqa: S311
        self.now = now
        self.blobs = media_blobs()
        self.used_numbers: set[str] = set()

    def digits(self, count: int) -> str:
        return f"{self.rng.randrange(10**count):0{count}d}"

    def phone(self) -> str:
        while True:
            prefix = self.rng.choice(COUNTRY_PREFIXES)
            number = prefix + str(self.rng.randint(1, 9)) + self.digits(11 - len(prefix))
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def lid(self) -> str:
        return f"{self.rng.randint(10**13, 10**15 - 1)}@lid"

    def incoming_id(self) -> str:
        return f"3A{self.rng.getrandbits(72):018X}"

    def own_id(self) -> str:
        return f"3EB0{self.rng.getrandbits(64):016X}"

    def sentence(self, words: int = 0) -> str:
        count = words or self.rng.randint(2, 9)
        text = " ".join(self.rng.choices(WORDS, k=count))
        return text[0].upper() + text[1:] + self.rng.choice((".", "!", "?", ""))

    def name(self, index: int) -> str:
        return (
            f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[(index * 7) % len(LAST_NAMES)]}"
        )


def build_account(
    *,
    chats: int = 12,
    messages: int = 20,
    contacts: int = 20,
    groups: int = 3,
    seed: int = 1,
    now: int | None = None,
    long_chat: int = 0,
) -> Account:
    """The seeded account: `chats` chats of which `groups` are groups, `messages` per chat.

    With `long_chat`, the first 1:1 chat holds that many messages instead (for benchmarks that
    page back through a long history).

    Ids, names and bodies depend only on the arguments; times are relative to `now`
    (default: the current time), so that mutes "until" stay in the future.
    """
    clock = int(time.time()) if now is None else now
    seeder = _Seeder(seed, clock)
    me_number = seeder.phone()
    account = Account(me=Me(id=f"{me_number}@c.us", lid=seeder.lid(), pushname="Sam Simulator"))

    chat_partners = _seed_contacts(account, seeder, contacts)
    group_count = max(0, min(groups, chats))
    direct_count = chats - group_count
    while len(chat_partners) < direct_count:
        stranger = _stranger(seeder, len(account.contacts))
        account.contacts[stranger.id] = stranger
        chat_partners.append(stranger)

    group_slots = {((i + 1) * chats) // (group_count + 1) for i in range(group_count)}
    slots = ["group" if slot in group_slots else "direct" for slot in range(chats)]
    direct_iter = iter(chat_partners[:direct_count])
    group_index = 0
    long_slot = slots.index("direct") if long_chat and "direct" in slots else -1
    for slot, kind in enumerate(slots):
        last_t = clock - 300 - slot * 900 - seeder.rng.randint(0, 299)
        if kind == "group":
            group = _seed_group(account, seeder, group_index, last_t)
            group_index += 1
            chat = Chat(id=group.id, name=group.subject, t=last_t)
            chat.is_read_only = group.announce and not _me_admin(account, group)
        else:
            partner = next(direct_iter)
            chat = Chat(id=partner.id, name=partner.name or partner.pushname or "", t=last_t)
        count = long_chat if slot == long_slot else messages
        _decorate_chat(chat, slot, seeder, count)
        account.chats[chat.id] = chat
        account.chat_messages[chat.id] = []
        _seed_messages(account, seeder, chat, slot, count)
    _seed_joinable_group(account, seeder)
    return account


def _seed_contacts(account: Account, seeder: _Seeder, count: int) -> list[Contact]:
    """Address-book contacts; returns those usable as 1:1 chat partners."""
    partners: list[Contact] = []
    for index in range(count):
        number = seeder.phone()
        name = seeder.name(index)
        contact = Contact(
            id=f"{number}@c.us",
            name=name,
            pushname=name.split()[0].lower() if index % 3 else name.split()[0],
            short_name=name.split()[0],
            about=seeder.sentence(4),
        )
        if index % 5 == 3:
            # Known only by LID: the phone number travels as `phoneNumber`.
            contact.phone_number = contact.id
            contact.id = seeder.lid()
        else:
            # Known by phone number; the account still has a LID for it (LID-first).
            contact.lid = lid_for_number(contact.id)
        if index % 7 == 2:
            company = COMPANIES[(index // 7) % len(COMPANIES)]
            contact.is_business = True
            contact.verified_name = company
            contact.name = company
        if index == 9:
            contact.is_enterprise = True
            contact.is_business = True
            contact.verified_name = contact.verified_name or "Enterprise Ltd"
        if index == 1:
            contact.is_blocked = True
        if index == 4:
            contact.group_add_privacy = True
        if index == 11:
            # In the address book but not on WhatsApp.
            contact.is_wa_contact = False
            contact.pushname = None
            contact.about = None
        account.contacts[contact.id] = contact
        if contact.is_wa_contact:
            partners.append(contact)
    return partners


def _stranger(seeder: _Seeder, index: int) -> Contact:
    """A WhatsApp user not in the address book (known by pushname only)."""
    number = seeder.phone()
    return Contact(
        id=f"{number}@c.us",
        pushname=seeder.name(index + 3).split()[0],
        is_my_contact=False,
        about=seeder.sentence(3),
        lid=lid_for_number(f"{number}@c.us"),
    )


def _me_admin(account: Account, group: Group) -> bool:
    mine = group.participant(account.me.id) or group.participant(account.me.lid)
    return mine is not None and (mine.is_admin or mine.is_super_admin)


def _seed_group(account: Account, seeder: _Seeder, index: int, last_t: int) -> Group:
    """A group: me admin in even-numbered groups, a plain member in the others."""
    if index % 4 == 3:
        gid = f"{seeder.phone()}-{1_500_000_000 + seeder.rng.randrange(10**8)}@g.us"
    else:
        gid = f"120363{seeder.digits(12)}@g.us"
    members = [c for c in account.contacts.values() if c.is_wa_contact and not c.is_blocked]
    lid_mode = index % 3 == 1
    chosen = seeder.rng.sample(members, k=min(len(members), 3 + index % 4))
    if len(chosen) < 2:
        for _ in range(2 - len(chosen)):
            stranger = _stranger(seeder, len(account.contacts))
            account.contacts[stranger.id] = stranger
            chosen.append(stranger)
    participants: list[Participant] = []
    me_admin = index % 2 == 0
    me_id = account.me.lid if lid_mode else account.me.id
    participants.append(
        Participant(
            id=me_id,
            is_admin=me_admin,
            is_super_admin=index == 0,
            phone_number=account.me.id if lid_mode else None,
        )
    )
    for position, contact in enumerate(chosen):
        if lid_mode:
            if not contact.id.endswith("@lid"):
                # Drawn and dropped: keeps the random stream, so every later seeded value stays.
                seeder.lid()
            member_id = contact.account_lid or contact.id
            phone = contact.phone_number or contact.id
        else:
            member_id = contact.phone_number or contact.id
            phone = None
        participants.append(
            Participant(
                id=member_id,
                is_admin=position == 0,
                is_super_admin=position == 0 and index != 0,
                phone_number=phone,
            )
        )
    owner = me_id if index == 0 else participants[1].id
    group = Group(
        id=gid,
        subject=GROUP_SUBJECTS[index % len(GROUP_SUBJECTS)] + ("" if index < 10 else f" {index}"),
        owner=owner,
        creation=last_t - 86400 * (30 + index),
        desc=seeder.sentence(8),
        desc_id=seeder.incoming_id(),
        announce=index % 3 == 2,
        restrict=index % 3 == 2,
        is_lid_addressing_mode=lid_mode,
        participants=participants,
        invite_code=new_invite_code(seeder.rng.choice),
    )
    account.groups[gid] = group
    return group


def _seed_joinable_group(account: Account, seeder: _Seeder) -> None:
    """A group the user is not in, reachable with a known invite code (`SIMJOINABLE...`)."""
    members = [c for c in account.contacts.values() if c.is_wa_contact and not c.is_blocked][:3]
    if not members:
        return
    gid = f"120363{seeder.digits(12)}@g.us"
    participants = [
        Participant(id=c.phone_number or c.id, is_admin=i == 0, is_super_admin=i == 0)
        for i, c in enumerate(members)
    ]
    account.groups[gid] = Group(
        id=gid,
        subject="Open Invite Group",
        owner=participants[0].id,
        creation=seeder.now - 86400 * 90,
        desc="Anyone with the link can join",
        desc_id=seeder.incoming_id(),
        participants=participants,
        invite_code="SIMJOINABLE" + new_invite_code(seeder.rng.choice)[:11],
    )


def _decorate_chat(chat: Chat, slot: int, seeder: _Seeder, messages: int) -> None:
    """Pinned, archived, muted and unread chats at fixed positions."""
    if slot in (0, 1):
        chat.pin = seeder.now - 3600 * (slot + 1)
    elif slot % 10 == 7:
        chat.archive = True
    if slot % 8 == 3:
        chat.mute_expiration = -1
    elif slot % 8 == 5:
        chat.mute_expiration = seeder.now + 7 * 86400
    if slot % 3 == 0 and messages:
        chat.unread_count = min(messages, 1 + slot % 4)


def _pick_type(seeder: _Seeder, slot: int, index: int) -> str:
    if slot < 3:
        # The first chats cycle through every type (shifted, so short chats still cover all).
        return ALL_TYPES[(index + slot * 4) % len(ALL_TYPES)]
    return seeder.rng.choices(_TYPE_NAMES, weights=_TYPE_WEIGHTS)[0]


def _seed_messages(account: Account, seeder: _Seeder, chat: Chat, slot: int, count: int) -> None:
    """`count` messages ending at `chat.t`; groups open with two notifications."""
    group = account.groups.get(chat.id)
    times = []
    t = chat.t
    for _ in range(count):
        times.append(t)
        t -= seeder.rng.randint(60, 1800)
    times.reverse()
    others = [p.id for p in group.participants if not account.is_me(p.id)] if group else [chat.id]
    own_from = (
        account.me.lid
        if (chat.id.endswith("@lid") or (group and group.is_lid_addressing_mode))
        else account.me.id
    )
    unread_from = count - chat.unread_count
    for index, when in enumerate(times):
        if group is not None and index < 2:
            subtype = "create" if index == 0 else "add"
            author = group.owner
            recipients = [] if index == 0 else others[-1:]
            key = make_key(False, chat.id, seeder.incoming_id(), author)
            wire = _base_wire(
                key, "gp2", when, sender=chat.id, receiver=account.me.id, author=author
            )
            wire.update({"subtype": subtype, "recipients": recipients, "body": ""})
            account.add_message(StoredMessage(chat.id, wire))
            continue
        from_me = index < unread_from and seeder.rng.random() < 0.35
        if from_me:
            participant = own_from if group else None
            key = make_key(True, chat.id, seeder.own_id(), participant)
            wire = _base_wire(
                key,
                "chat",
                when,
                sender=own_from,
                receiver=chat.id,
                author=own_from if group else None,
            )
            wire["ack"] = 3 if index < count - 1 else 2
        else:
            sender = seeder.rng.choice(others) if group else None
            key = make_key(False, chat.id, seeder.incoming_id(), sender)
            wire = _base_wire(key, "chat", when, sender=chat.id, receiver=own_from, author=sender)
        kind = _pick_type(seeder, slot, index)
        _fill_content(
            account, seeder=seeder, wire=wire, kind=kind, chat=chat, others=others, index=index
        )
        account.add_message(StoredMessage(chat.id, wire))


def _base_wire(
    key: JSONDict, kind: str, when: int, *, sender: str, receiver: str, author: str | None
) -> JSONDict:
    wire: JSONDict = {
        "id": key,
        "type": kind,
        "body": "",
        "t": when,
        "from": sender,
        "to": receiver,
        "ack": 0,
        "star": False,
        "isForwarded": False,
        "forwardingScore": 0,
        "mentionedJidList": [],
        "isNewMsg": False,
        "hasReaction": False,
    }
    if author:
        wire["author"] = author
    return wire


def _fill_content(
    account: Account,
    *,
    seeder: _Seeder,
    wire: JSONDict,
    kind: str,
    chat: Chat,
    others: list[str],
    index: int,
) -> None:
    """Type-specific fields: text with links/mentions/quotes, media, location, vcard."""
    rng = seeder.rng
    if kind in ("chat", "chat_link"):
        wire["type"] = "chat"
        body = seeder.sentence()
        if kind == "chat_link" or index % 11 == 4:
            body += f" https://example.org/post/{rng.randint(100, 999)}"
        if chat.is_group and index % 5 == 2 and others:
            target = rng.choice(others)
            body = f"@{target.split('@')[0]} {body}"
            wire["mentionedJidList"] = [target]
        if index % 6 == 5:
            earlier = account.chat_messages.get(chat.id, [])
            if earlier:
                wire["quotedMsgId"] = earlier[rng.randrange(len(earlier))]
        if index % 13 == 7:
            wire["isForwarded"] = True
            wire["forwardingScore"] = 1
        wire["body"] = body
    elif kind in MEDIA_KINDS:
        wire["type"] = kind
        blob = seeder.blobs[kind]
        direct_path = (
            f"/v/t62.7118-24/{seeder.digits(8)}_{seeder.digits(15)}_{seeder.digits(16)}_n.enc"
        )
        account.media[direct_path] = blob
        media_key = base64.b64encode(rng.randbytes(32)).decode()
        wire.update(
            {
                "mimetype": blob.mimetype,
                "size": len(blob.data),
                "directPath": direct_path,
                "mediaKey": media_key,
                "filehash": blob.filehash,
                "encFilehash": base64.b64encode(
                    hashlib.sha256(media_key.encode() + blob.data[:64]).digest()
                ).decode(),
                "mediaKeyTimestamp": wire["t"],
            }
        )
        if blob.filename:
            wire["filename"] = blob.filename
        if kind in ("image", "video", "document") and rng.random() < 0.6:
            wire["caption"] = seeder.sentence(4)
        if kind in ("audio", "ptt", "video"):
            wire["duration"] = "1" if kind != "audio" else "0"
        if kind == "video":
            wire["isGif"] = index % 4 == 0
        if kind == "document":
            wire["body"] = ""
    elif kind == "location":
        wire["type"] = "location"
        wire["lat"] = round(rng.uniform(-60, 60), 6)
        wire["lng"] = round(rng.uniform(-170, 170), 6)
        wire["loc"] = f"{rng.choice(WORDS).title()} Cafe\n{rng.randint(1, 99)} Main Street"
    elif kind == "vcard":
        wire["type"] = "vcard"
        named = [c for c in list(account.contacts.values())[:50] if c.name]
        person = rng.choice(named) if named else None
        name = person.name if person and person.name else "Someone"
        number = (person.phone_number or person.id).split("@")[0] if person else "15550000000"
        wire["vcardFormattedName"] = name
        wire["body"] = (
            "BEGIN:VCARD\nVERSION:3.0\n"
            f"N:;{name};;;\nFN:{name}\n"
            f"TEL;type=CELL;type=VOICE;waid={number}:+{number}\nEND:VCARD"
        )
