"""People: WhatsApp senders recognised as Home Assistant persons.

The options map phone numbers and LIDs to ``person.*`` entities. WhatsApp addresses the same person by
phone number (``<digits>@c.us``) or by LID (``<digits>@lid``), and which one a message carries changes
over time. The page tells, with each message, the sender's other id when it knows it; the pairs that
touch a mapped person are kept in a ``Store`` per account, so that after a restart (when WhatsApp Web
may not know the pair yet) a message under either id is still recognised.

Only pairs of mapped people are kept: the file never becomes a list of everyone who wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.helpers.storage import Store

from .client.errors import InvalidId
from .client.ids import chat_kind, normalize_user_id
from .const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from homeassistant.core import HomeAssistant

PEOPLE_STORAGE_VERSION: Final = 1
# Seconds between a newly learnt pair and the write; pairs come in bursts after a reconnect.
SAVE_DELAY: Final = 5.0
# More than any address book needs; the oldest pairs go first.
MAX_PAIRS: Final = 2000


def user_id_or_none(value: Any) -> str | None:
    """A person's id (``@c.us`` or ``@lid``), normalised; None for groups, broadcasts and junk."""
    if not isinstance(value, str):
        return None
    try:
        return normalize_user_id(value)
    except InvalidId:
        return None


def people_ids(mapping: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The options' ``{person entity id: [ids]}`` as ``{id: person entity id}``."""
    result: dict[str, str] = {}
    for person, ids in mapping.items():
        for value in ids:
            if (user := user_id_or_none(value)) is not None:
                result.setdefault(user, person)
    return result


class People:
    """Who a sender is: the options' mapping and the LID <-> phone number pairs learnt so far."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, mapping: Mapping[str, Iterable[str]]
    ) -> None:
        """Read nothing yet: ``async_load`` reads the learnt pairs."""
        self._person_by_id = people_ids(mapping)
        # Both directions: LID -> phone number and phone number -> LID, insertion ordered.
        self._other_id: dict[str, str] = {}
        self._unsaved = False
        self._store: Store[dict[str, Any]] = Store(
            hass,
            PEOPLE_STORAGE_VERSION,
            f"{DOMAIN}.people.{entry_id}",
            private=True,
            atomic_writes=True,
        )

    def remap(self, mapping: Mapping[str, Iterable[str]]) -> None:
        """Follow the options' new mapping; the pairs learnt so far stay."""
        self._person_by_id = people_ids(mapping)

    @property
    def mapped(self) -> bool:
        """Whether the options map anyone."""
        return bool(self._person_by_id)

    async def async_load(self) -> None:
        """Read the learnt pairs."""
        data = await self._store.async_load()
        for pair in (data or {}).get("pairs", []):
            if isinstance(pair, list) and len(pair) == 2:
                self._remember(pair[0], pair[1])

    def learn(self, user_id: str | None, other_id: str | None) -> None:
        """The page said that ``user_id`` and ``other_id`` are one person; keep it when it matters."""
        user, other = user_id_or_none(user_id), user_id_or_none(other_id)
        if user is None or other is None:
            return
        if user not in self._person_by_id and other not in self._person_by_id:
            return
        if self._other_id.get(user) == other and self._other_id.get(other) == user:
            return
        if self._remember(user, other):
            self._unsaved = True
            self._store.async_delay_save(self._data, SAVE_DELAY)

    def person_for(self, sender: str | None) -> str | None:
        """The person entity id of a sender (by either of its ids), or None."""
        user = user_id_or_none(sender)
        if user is None:
            return None
        if (person := self._person_by_id.get(user)) is not None:
            return person
        other = self._other_id.get(user)
        return self._person_by_id.get(other) if other is not None else None

    async def async_save(self) -> None:
        """Write what was learnt now (the account stops; a delayed write could come too late)."""
        if self._unsaved:
            await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Forget the learnt pairs (the account is removed)."""
        await self._store.async_remove()

    def _remember(self, first: Any, second: Any) -> bool:
        user, other = user_id_or_none(first), user_id_or_none(second)
        if user is None or other is None or chat_kind(user) == chat_kind(other):
            return False
        for stale in (self._other_id.pop(user, None), self._other_id.pop(other, None)):
            if stale is not None:
                self._other_id.pop(stale, None)
        self._other_id[user] = other
        self._other_id[other] = user
        while len(self._other_id) > 2 * MAX_PAIRS:
            oldest = next(iter(self._other_id))
            self._other_id.pop(self._other_id.pop(oldest), None)
        return True

    def _data(self) -> dict[str, Any]:
        self._unsaved = False
        pairs = [
            [user, other] for user, other in self._other_id.items() if chat_kind(user) == "lid"
        ]
        return {"pairs": pairs}


async def async_remove_people_data(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an account's learnt pairs."""
    await People(hass, entry_id, {}).async_remove()
