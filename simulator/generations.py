"""Dated snapshots of WhatsApp Web's in-page surface that the simulator can serve.

A generation is data: feature flags that `simulator/page.js` reads from the page config
(``surface``) and applies to its module table and to the few calls whose behaviour changed. Each
generation is a column of docs/whatsapp-web-surface.md §9.1; it differs from the next one exactly by
the rows whose cells differ (§9.2). Argument-shape changes (``sendSeen``, ``loadEarlierMsgs``) are
accepted in both forms by the older generations: the reference does not know those pages to have
refused the newer form, only the newer page to refuse the older one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

#: The flags of the newest generation: what `simulator/page.js` does without a ``surface`` config.
NEWEST_FLAGS: Final[dict[str, Any]] = {
    # C21: `loadEarlierMsgs(chat, msgs)` throws `reading 'waitForChatLoading'` when False.
    "loadEarlierPositional": False,
    # C15: `sendSeen(chat)` throws `reading 'markedUnread'` when False.
    "sendSeenPositional": False,
    # C35: `WAWebGroupQueryJob.joinGroupViaInvite` exists too.
    "joinInviteInQueryJob": False,
    # C20: "call-map" (module WAWebCallCollection, its Map's set, no `add`), "collection-add"
    # (`WAWebCollections.WAWebCallCollection` fires `add`), "call-add" (`WAWebCollections.Call`).
    "calls": "call-map",
    # C22: "old" = `WAWebCollections.GroupMetadata` / `.NewsletterCollection` only.
    "collectionNames": "new",
    # C25, C29: `Cmd` also fires `logout_from_bridge` and `offline_progress_update_from_bridge`.
    "cmdEventsFromBridge": True,
    # C33: "lid" = the block list holds LIDs; "phone-number" = it holds phone numbers, a contact
    # model of either kind is blocked by its phone number, and neither
    # `WAWebBlockContactUtils` nor `WAWebApiContact.getAlternateUserWid` exists yet.
    "blocklist": "lid",
    # C38/C43: the module that has `getADVSecretKey` ("WAWebUserPrefsMultiDevice", synchronous,
    # or "WAWebAdvSignatureApi", async, as in the registration modules before 2026-03).
    "advKeyModule": "WAWebUserPrefsMultiDevice",
    # C2: `Chat.find` of a phone-number chat not in memory works (else `Lid is missing in chat table`).
    "chatFindByPhone": False,
    # Renames nobody knows yet: "Module" -> "NewModule", "Module.member" -> "newMember".
    "renamed": {},
}


@dataclass(frozen=True, slots=True)
class Generation:
    """One dated surface: its name, what it is, and the flags that differ from the newest."""

    name: str
    summary: str
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def flags(self) -> dict[str, Any]:
        """Every flag, as the page config carries it."""
        return {**NEWEST_FLAGS, **self.changes, "name": self.name}


_OLDER_THAN_2026_02: Final[dict[str, Any]] = {
    "loadEarlierPositional": True,
    "joinInviteInQueryJob": True,
    "blocklist": "phone-number",
    "advKeyModule": "WAWebAdvSignatureApi",
}

GENERATIONS: Final[dict[str, Generation]] = {
    generation.name: generation
    for generation in (
        Generation(
            "2025-07",
            "mid-2025: Chat.find by phone number, positional sendSeen, WAWebCollections.Call with "
            "add events, old collection and Cmd event names, phone-number block list, ADV key in "
            "the registration modules, joinGroupViaInvite in both job modules",
            {
                **_OLDER_THAN_2026_02,
                "sendSeenPositional": True,
                "calls": "call-add",
                "collectionNames": "old",
                "cmdEventsFromBridge": False,
                "chatFindByPhone": True,
            },
        ),
        Generation(
            "2025-12",
            "late 2025: as 2025-07, but a phone-number chat not in memory needs "
            "findOrCreateLatestChat",
            {
                **_OLDER_THAN_2026_02,
                "sendSeenPositional": True,
                "calls": "call-add",
                "collectionNames": "old",
                "cmdEventsFromBridge": False,
            },
        ),
        Generation(
            "2026-02",
            "early 2026: sendSeen({chat, threadId}) only, WAWebCollections.WAWebCallCollection "
            "with add events, new collection and Cmd event names; still positional "
            "loadEarlierMsgs, phone-number block list, ADV key in the registration modules",
            {**_OLDER_THAN_2026_02, "calls": "collection-add"},
        ),
        Generation(
            "2026-05",
            "today's WhatsApp Web (the default): every change of docs/whatsapp-web-surface.md §8.1",
        ),
        Generation(
            "2027-01",
            "fictitious: blocking and joining by invite code moved to names nobody knows yet "
            "(tests the bridge's repair path)",
            {
                "renamed": {
                    "WAWebBlockContactAction": "WAWebContactBlockingAction",
                    "WAWebGroupInviteJob.joinGroupViaInvite": "joinGroupByInviteCode",
                }
            },
        ),
    )
}

#: The generation served unless another is asked for: today's WhatsApp Web.
DEFAULT_GENERATION: Final = "2026-05"


class UnknownGenerationError(ValueError):
    """A generation name the simulator does not know."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown WhatsApp Web generation {name!r}; known: {', '.join(GENERATIONS)}"
        )
        self.name = name


def generation(name: str) -> Generation:
    """The generation of that name; an unknown name raises UnknownGenerationError."""
    try:
        return GENERATIONS[name]
    except KeyError:
        raise UnknownGenerationError(name) from None
