"""One linked WhatsApp account inside Home Assistant: its client, outbox, events and repairs.

This is the config entry's ``runtime_data``. Everything the platforms, services and views need goes
through it: one way in (operations call the client or the outbox), one way out (client events become bus
events and entity updates here, once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store

from .assist import AssistChats, AssistSettings
from .assist_voice import VoiceTranscriber
from .browser import driver_factory, profile_directory
from .client import WHATSAPP_WEB_URL, ClientState, EventCursor, SendOptions, WhatsAppWebClient
from .client.models import CapabilitiesProbed, CapabilityMissing, ClientEvent, MessageReceived
from .const import (
    ALL_EVENTS,
    CONF_ASSIST_AGENT,
    CONF_ASSIST_PEOPLE,
    CONF_ASSIST_STT,
    CONF_EVENTS,
    CONF_HEAP_LIMIT,
    CONF_IGNORED_CHATS,
    CONF_LOOKUP_LIMIT,
    CONF_MEMORY_LIMIT,
    CONF_NON_ADMIN_READ,
    CONF_OUTBOX_TTL,
    CONF_PAGE_URL,
    CONF_PEOPLE,
    CONF_PROFILE,
    CONF_SEND_LIMIT,
    DEFAULT_LOOKUP_LIMIT,
    DEFAULT_OUTBOX_TTL_MINUTES,
    DEFAULT_SEND_LIMIT,
    DOMAIN,
    EVENT_PREFIX,
)
from .events import bus_event, event_chat_id, event_sender_id
from .memory_guard import (
    DEFAULT_HEAP_LIMIT_MIB,
    DEFAULT_MEMORY_LIMIT_MIB,
    GuardLimits,
    MemoryGuard,
)
from .operations.running import run_counted
from .outbox import Outbox, OutboxItem, SendOutcome, async_remove_outbox
from .people import People, async_remove_people_data
from .rate_limit import LOOKUPS, SENDS, RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable

_LOGGER = logging.getLogger(__name__)

# Options the running account follows without a reload: who is who and who may talk to Assist.
# Restarting WhatsApp Web for them would cost a browser start (seconds, memory on a small machine).
LIVE_OPTIONS: Final = frozenset(
    {CONF_PEOPLE, CONF_ASSIST_PEOPLE, CONF_ASSIST_AGENT, CONF_ASSIST_STT}
)

type WhatsAppConfigEntry = ConfigEntry[WhatsAppAccount]

CURSOR_STORAGE_VERSION: Final = 1
ISSUE_LOGGED_OUT: Final = "logged_out"
ISSUE_WHATSAPP_WEB_CHANGED: Final = "whatsapp_web_changed"
ISSUE_CAPABILITY_MISSING: Final = "capability_missing"
ISSUE_BLOCKED: Final = "blocked"
ISSUE_BROWSER_FAILED: Final = "browser_failed"
# States in which the account is not linked any more and needs the reauthentication flow.


def signal_state(entry_id: str) -> str:
    """Dispatcher signal: the client's state changed."""
    return f"{DOMAIN}_{entry_id}_state"


def signal_memory(entry_id: str) -> str:
    """Dispatcher signal: the memory guard has a new reading."""
    return f"{DOMAIN}_{entry_id}_memory"


def signal_event(entry_id: str) -> str:
    """Dispatcher signal: a client event (for entities), with its bus type and payload."""
    return f"{DOMAIN}_{entry_id}_event"


class _CursorStore:
    """The client's message high-water mark, kept in Home Assistant's storage."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, Any]] = Store(
            hass,
            CURSOR_STORAGE_VERSION,
            f"{DOMAIN}.cursor.{entry_id}",
            private=True,
            atomic_writes=True,
        )

    async def load(self) -> EventCursor | None:
        data = await self._store.async_load()
        return EventCursor.from_json(data) if data else None

    async def save(self, cursor: EventCursor) -> None:
        await self._store.async_save(cursor.as_json())

    async def remove(self) -> None:
        await self._store.async_remove()


class WhatsAppAccount:
    """Runtime data of a config entry."""

    def __init__(self, hass: HomeAssistant, entry: WhatsAppConfigEntry) -> None:
        """Build the account's parts; nothing starts before ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.cursor_store = _CursorStore(hass, entry.entry_id)
        self.client = WhatsAppWebClient(
            driver_factory(hass, dict(entry.data)),
            url=entry.data.get(CONF_PAGE_URL) or WHATSAPP_WEB_URL,
            cursor_store=self.cursor_store,
        )
        self.outbox = Outbox(
            hass,
            entry.entry_id,
            self.client,
            ttl_seconds=60 * float(entry.options.get(CONF_OUTBOX_TTL, DEFAULT_OUTBOX_TTL_MINUTES)),
            on_dropped=self._outbox_dropped,
        )
        # Like the outbox's time to live, read once: changing the options reloads the entry.
        chosen_events = entry.options.get(CONF_EVENTS)
        self.enabled_events = frozenset(ALL_EVENTS if chosen_events is None else chosen_events)
        """The event types the options let through to the bus."""
        self.ignored_chats = frozenset(entry.options.get(CONF_IGNORED_CHATS, ()))
        """Chats whose events the options keep off the bus and the entities."""
        self.non_admin_read = bool(entry.options.get(CONF_NON_ADMIN_READ, False))
        """Whether users who are not administrators may read chats, messages, groups and contacts."""
        self.rate_limiters = {
            SENDS: RateLimiter(
                hass, SENDS, int(entry.options.get(CONF_SEND_LIMIT, DEFAULT_SEND_LIMIT))
            ),
            LOOKUPS: RateLimiter(
                hass, LOOKUPS, int(entry.options.get(CONF_LOOKUP_LIMIT, DEFAULT_LOOKUP_LIMIT))
            ),
        }
        """The account's rate limits, by kind (shared by every caller)."""
        self.memory_guard = MemoryGuard(
            hass,
            self.client,
            self.outbox,
            GuardLimits(
                browser_mib=float(entry.options.get(CONF_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT_MIB)),
                heap_mib=float(entry.options.get(CONF_HEAP_LIMIT, DEFAULT_HEAP_LIMIT_MIB)),
            ),
            on_reading=lambda: async_dispatcher_send(hass, signal_memory(entry.entry_id)),
            logbook_name=lambda: entry.title,
            logbook_entity=self._connection_entity_id,
        )
        self.people = People(hass, entry.entry_id, entry.options.get(CONF_PEOPLE) or {})
        """Who a sender is: the options' people and the LID <-> phone number pairs learnt."""
        assist_settings = AssistSettings(entry.options)
        self.assist = AssistChats(
            hass,
            assist_settings,
            send_text=self.async_send_text,
            create_task=self._create_task,
            transcribe=self._transcriber(assist_settings),
        )
        """Talk to Assist: the allowed people's messages to the conversation agent."""
        self._applied_options = dict(entry.options)
        self._applied_data = dict(entry.data)
        self.missing_capabilities: dict[str, str] = {}
        """Module or member paths WhatsApp Web lacks -> the feature that needs them."""
        self._capability_issues: set[str] = set()
        """Capabilities of the bridge's table (operation names) that have a repair issue now."""
        self._unsubscribe: list[Callable[[], None]] = []
        self._last_state = ClientState.STOPPED
        self._start_task: asyncio.Task[None] | None = None

    def _transcriber(self, settings: AssistSettings) -> VoiceTranscriber | None:
        if settings.stt_engine is None:
            return None
        return VoiceTranscriber(self.hass, self.client, settings.stt_engine)

    def apply_live_options(self) -> bool:
        """Follow an entry update that changed only ``LIVE_OPTIONS``; False when it needs a reload."""
        options, data = self.entry.options, self.entry.data
        changed = {
            key
            for key in self._applied_options.keys() | options.keys()
            if self._applied_options.get(key) != options.get(key)
        }
        if not changed or not changed <= LIVE_OPTIONS or dict(data) != self._applied_data:
            return False
        self.people.remap(options.get(CONF_PEOPLE) or {})
        settings = AssistSettings(options)
        self.assist.apply(settings, self._transcriber(settings))
        self._applied_options = dict(options)
        _LOGGER.debug("%s: applied %s without a reload", self.entry.title, sorted(changed))
        return True

    @property
    def account_id(self) -> str:
        """The own WhatsApp id (``<number>@c.us``): the entry's unique id."""
        return str(self.entry.unique_id)

    @property
    def number(self) -> str:
        """The own phone number."""
        return self.account_id.split("@", 1)[0]

    async def async_load(self) -> None:
        """Read what was stored (the outbox) before anything may use the account."""
        await self.outbox.async_load(self.number)
        await self.people.async_load()

    async def async_start(self) -> None:
        """Start the outbox worker and the browser; returns once the client runs in the background."""
        self._unsubscribe.append(self.client.add_event_listener(self._on_client_event))
        self._unsubscribe.append(self.client.add_state_listener(self._on_client_state))
        self.outbox.start(self._create_task)
        self._create_task(self.memory_guard.run(), f"{DOMAIN} memory guard")
        await self.client.start()

    def start_in_background(self) -> None:
        """Start the account in a task the config entry owns: Home Assistant's start never waits for it."""
        self._start_task = self.entry.async_create_background_task(
            self.hass, self.async_start(), f"{DOMAIN} start {self.entry.entry_id}"
        )

    async def async_stop(self) -> None:
        """Stop the browser and every task of the client; the outbox worker ends with the entry."""
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._start_task
        self._start_task = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for limiter in self.rate_limiters.values():
            limiter.close()
        await self.client.stop()
        await self.people.async_save()

    async def async_send_text(
        self, chat_id: str, text: str, *, wait_seconds: float, options: SendOptions | None = None
    ) -> SendOutcome:
        """A text through the outbox (it waits there while reconnecting), counted by the send limit.

        For the sends the integration makes itself (notify entities, Assist's answers); the
        send_message action goes through the operations table, which counts the same way.
        """
        return await run_counted(
            self.rate_limiters[SENDS],
            lambda: self.outbox.send(
                chat_id,
                text,
                media=None,
                options=options or SendOptions(),
                fail_fast=False,
                wait_seconds=wait_seconds,
            ),
        )

    def _create_task(self, coroutine: Any, name: str) -> Any:
        return self.entry.async_create_background_task(self.hass, coroutine, name)

    def _connection_entity_id(self) -> str | None:
        """The connection sensor's entity id (the memory guard's logbook entries name it)."""
        registry = er.async_get(self.hass)
        return registry.async_get_entity_id("sensor", DOMAIN, f"{self.account_id}_connection_state")

    # -----------------------------------------------------------------------------------------

    @callback
    def _on_client_state(self, state: ClientState) -> None:
        hass = self.hass
        previous, self._last_state = self._last_state, state
        self.outbox.wake()
        if state == ClientState.CONNECTED:
            _LOGGER.info("WhatsApp account %s is connected", self.number)
            ir.async_delete_issue(hass, DOMAIN, self._issue_id(ISSUE_LOGGED_OUT))
            ir.async_delete_issue(hass, DOMAIN, self._issue_id(ISSUE_BLOCKED))
            ir.async_delete_issue(hass, DOMAIN, self._issue_id(ISSUE_BROWSER_FAILED))
        elif state.unlinked and not previous.unlinked:
            # NEEDS_PAIRING on a linked entry: the session is gone (profile lost, browser changed).
            _LOGGER.warning("The phone unlinked WhatsApp account %s; link it again", self.number)
            self._create_issue(ISSUE_LOGGED_OUT, {"account": self.number})
            self.entry.async_start_reauth(hass)
        elif state == ClientState.FAILED:
            reason = self.client.last_error or "unknown"
            if self.client.whatsapp_state:
                self._create_issue(
                    ISSUE_BLOCKED, {"account": self.number, "state": self.client.whatsapp_state}
                )
            else:
                self._create_issue(ISSUE_BROWSER_FAILED, {"account": self.number, "error": reason})
        elif state == ClientState.RECONNECTING:
            _LOGGER.info("WhatsApp account %s is reconnecting", self.number)
        async_dispatcher_send(hass, signal_state(self.entry.entry_id), state)

    @callback
    def _on_client_event(self, event: ClientEvent) -> None:
        self.memory_guard.note_event()
        if isinstance(event, CapabilityMissing):
            self._capability_missing(event)
            return
        if isinstance(event, CapabilitiesProbed):
            self._capabilities_probed(event.table)
            return
        converted = bus_event(event)
        if converted is None:
            return
        event_type, payload = converted
        chat_id = event_chat_id(event)
        if chat_id is not None and chat_id in self.ignored_chats:
            return
        payload = {**payload, "account": self.account_id, "config_entry_id": self.entry.entry_id}
        person = self._person_of(event)
        if person is not None:
            payload["person_entity_id"] = person
        async_dispatcher_send(self.hass, signal_event(self.entry.entry_id), event_type, payload)
        if event_type in self.enabled_events:
            self.hass.bus.async_fire(event_type, payload)
        if isinstance(event, MessageReceived) and self.assist.wants(
            event.message, person, offline=event.offline
        ):
            self.assist.handle(event.message, str(person))

    def _person_of(self, event: ClientEvent) -> str | None:
        """The options' person who did what the event tells, learning the sender's other id."""
        if not self.people.mapped:
            return None
        sender = event_sender_id(event)
        if isinstance(event, MessageReceived):
            self.people.learn(sender, event.sender_alternate_id)
        return self.people.person_for(sender)

    def _capability_missing(self, event: CapabilityMissing) -> None:
        if event.feature in self.client.status().capabilities:
            # An operation of the capability table: one repair issue of its own, removed once
            # the page offers one of its shapes again (_capabilities_probed).
            self.missing_capabilities[event.missing] = event.feature
            if event.feature not in self._capability_issues:
                self._capability_issues.add(event.feature)
                self._create_issue(
                    ISSUE_CAPABILITY_MISSING,
                    {"capability": event.feature, "missing": event.missing, "account": self.number},
                    event.feature,
                )
            return
        if self.missing_capabilities.get(event.missing) == event.feature:
            return
        self.missing_capabilities[event.missing] = event.feature
        self._create_issue(
            ISSUE_WHATSAPP_WEB_CHANGED,
            {
                "missing": ", ".join(
                    sorted(
                        missing
                        for missing, feature in self.missing_capabilities.items()
                        if feature not in self._capability_issues
                    )
                ),
                "account": self.number,
            },
        )

    def _capabilities_probed(self, table: dict[str, str | None]) -> None:
        """Remove the repair issue of each capability the page offers again."""
        for capability in [name for name in self._capability_issues if table.get(name)]:
            self._capability_issues.discard(capability)
            for missing in [m for m, f in self.missing_capabilities.items() if f == capability]:
                del self.missing_capabilities[missing]
            ir.async_delete_issue(
                self.hass, DOMAIN, self._issue_id(ISSUE_CAPABILITY_MISSING, capability)
            )
            _LOGGER.info("WhatsApp Web offers %s again", capability)

    def _outbox_dropped(self, reason: str, item: OutboxItem, error_code: str | None) -> None:
        payload: dict[str, Any] = {
            "outbox_id": item.id,
            "chat_id": item.chat_id,
            "created": item.created,
            "attempts": item.attempts,
            "account": self.account_id,
            "config_entry_id": self.entry.entry_id,
        }
        if error_code:
            payload["error"] = error_code
        _LOGGER.warning("A queued WhatsApp send to %s was dropped (%s)", item.chat_id, reason)
        self.hass.bus.async_fire(f"{EVENT_PREFIX}outbox_{reason}", payload)

    def _issue_id(self, kind: str, subject: str | None = None) -> str:
        if subject is not None:
            return f"{kind}_{subject}_{self.entry.entry_id}"
        return f"{kind}_{self.entry.entry_id}"

    def _create_issue(
        self, kind: str, placeholders: dict[str, str], subject: str | None = None
    ) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(kind, subject),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            translation_placeholders=placeholders,
        )

    def clear_issues(self) -> None:
        """Remove every repair issue of this account (on unload)."""
        for kind in (
            ISSUE_LOGGED_OUT,
            ISSUE_WHATSAPP_WEB_CHANGED,
            ISSUE_BLOCKED,
            ISSUE_BROWSER_FAILED,
        ):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(kind))
        for capability in self._capability_issues:
            ir.async_delete_issue(
                self.hass, DOMAIN, self._issue_id(ISSUE_CAPABILITY_MISSING, capability)
            )
        self._capability_issues.clear()


async def async_remove_account_data(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete what an account kept on disk: its outbox, its event cursor and its browser profile."""
    await async_remove_outbox(hass, entry.entry_id)
    await _CursorStore(hass, entry.entry_id).remove()
    await async_remove_people_data(hass, entry.entry_id)
    if profile := entry.data.get(CONF_PROFILE):
        await hass.async_add_executor_job(
            shutil.rmtree, Path(profile_directory(hass, profile)), True
        )
