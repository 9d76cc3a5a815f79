"""Talk to Assist over WhatsApp: a mapped person's message in a 1:1 chat goes to a conversation agent.

Who may: only people the options map (people.py) and name under "Talk to Assist", each with a Home
Assistant user (the person's ``user_id``): the agent runs with that user as the context user, so the
user's permissions apply to what it does. Messages of anyone else, group messages, own messages and
messages that arrived while Home Assistant was away are never given to the agent.

Each chat keeps its own conversation id (Home Assistant's chat session), so a follow-up ("and the
other one?") continues the conversation. The agent's spoken answer goes back into the same chat through
the account's outbox, counted by the send limit like any other send. Voice notes are turned into text
with the speech-to-text engine the options name (assist_voice.py); without one they are ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
import logging
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.core import Context, HomeAssistant

from .client import SendOptions
from .client.errors import WhatsAppWebError
from .client.ids import chat_kind
from .const import CONF_ASSIST_AGENT, CONF_ASSIST_PEOPLE, CONF_ASSIST_STT, DEFAULT_ASSIST_AGENT
from .operations.errors import OperationError
from .rate_limit import RateLimitExceeded

if TYPE_CHECKING:
    from .client.models import Message

_LOGGER = logging.getLogger(__name__)

# Message types that carry a text for the agent; voice notes need a speech-to-text engine.
TEXT_TYPES: Final = frozenset({"chat"})
VOICE_TYPES: Final = frozenset({"ptt", "audio"})
# How long an answer waits for WhatsApp before it is left to the outbox.
ANSWER_WAIT_SECONDS: Final = 30.0
# The agent's answer when it said nothing (an agent may answer with an empty speech).
EMPTY_ANSWER: Final = "…"

type Transcriber = Callable[[Message], Coroutine[Any, Any, str | None]]


class TextSender(Protocol):
    """The account's counted send of a text through its outbox (``WhatsAppAccount.async_send_text``)."""

    async def __call__(
        self, chat_id: str, text: str, *, wait_seconds: float, options: SendOptions | None = None
    ) -> Any:
        """Send ``text`` to ``chat_id``."""


class AssistSettings:
    """The options' "Talk to Assist": which agent, who may, and the speech-to-text engine."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        """Read the options (a change is applied to the running account: ``AssistChats.apply``)."""
        self.people = frozenset(options.get(CONF_ASSIST_PEOPLE) or ())
        self.agent_id: str = options.get(CONF_ASSIST_AGENT) or DEFAULT_ASSIST_AGENT
        self.stt_engine: str | None = options.get(CONF_ASSIST_STT) or None

    @property
    def enabled(self) -> bool:
        """Whether anyone may talk to the agent."""
        return bool(self.people)


class AssistChats:
    """Hands the allowed people's messages to the conversation agent and sends the answers back."""

    def __init__(
        self,
        hass: HomeAssistant,
        settings: AssistSettings,
        *,
        send_text: TextSender,
        create_task: Callable[[Coroutine[Any, Any, None], str], Any],
        transcribe: Transcriber | None = None,
    ) -> None:
        """Nothing runs before a message arrives."""
        self._hass = hass
        self._settings = settings
        self._send_text = send_text
        self._create_task = create_task
        self._transcribe = transcribe
        self._conversation_ids: dict[str, str] = {}
        # One conversation turn at a time per chat, so answers keep the order of the questions.
        self._chat_locks: dict[str, asyncio.Lock] = {}

    def apply(self, settings: AssistSettings, transcribe: Transcriber | None) -> None:
        """Follow changed options; a conversation in progress goes on unless the agent changed."""
        if settings.agent_id != self._settings.agent_id:
            # A conversation id belongs to the agent that started it.
            self._conversation_ids.clear()
        self._settings = settings
        self._transcribe = transcribe

    def wants(self, message: Message, person: str | None, *, offline: bool) -> bool:
        """Whether this received message is for the agent (who, where, what kind)."""
        settings = self._settings
        if not settings.enabled or person is None or person not in settings.people:
            return False
        if offline or message.from_me or chat_kind(message.chat_id) not in ("user", "lid"):
            return False
        if message.type in TEXT_TYPES:
            return bool(message.body.strip())
        return message.type in VOICE_TYPES and settings.stt_engine is not None

    def handle(self, message: Message, person: str) -> None:
        """Give the message to the agent in the background; the answer goes back to its chat."""
        self._create_task(
            self._async_converse(message, person), f"whatsapp_web assist {message.chat_id}"
        )

    async def _async_converse(self, message: Message, person: str) -> None:
        user_id = self._user_of(person)
        if user_id is None:
            _LOGGER.warning(
                "%s may talk to Assist over WhatsApp but has no Home Assistant user; ignored",
                person,
            )
            return
        chat = message.chat_id
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        async with lock:
            text = await self._text_of(message)
            if not text:
                return
            answer = await self._async_ask_agent(text, chat, Context(user_id=user_id))
            if answer is not None:
                await self._async_send_answer(chat, answer, message.id)

    def _user_of(self, person: str) -> str | None:
        state = self._hass.states.get(person)
        user_id = state.attributes.get("user_id") if state is not None else None
        return user_id if isinstance(user_id, str) and user_id else None

    async def _text_of(self, message: Message) -> str | None:
        if message.type in TEXT_TYPES:
            return message.body.strip()
        if self._transcribe is None:
            return None
        return await self._transcribe(message)

    async def _async_ask_agent(self, text: str, chat: str, context: Context) -> str | None:
        from homeassistant.components import conversation  # noqa: PLC0415 - only when used

        try:
            result = await conversation.async_converse(
                self._hass,
                text,
                self._conversation_ids.get(chat),
                context,
                agent_id=self._settings.agent_id,
            )
        except (ValueError, KeyError) as error:
            # ValueError: the agent is gone (removed since the options named it).
            _LOGGER.warning("Assist agent %s failed: %s", self._settings.agent_id, error)
            return None
        if result.conversation_id:
            self._conversation_ids[chat] = result.conversation_id
        speech = result.response.speech.get("plain", {}).get("speech")
        return speech if isinstance(speech, str) and speech.strip() else EMPTY_ANSWER

    async def _async_send_answer(self, chat: str, answer: str, question_id: str) -> None:
        try:
            await self._send_text(
                chat,
                answer,
                wait_seconds=ANSWER_WAIT_SECONDS,
                options=SendOptions(quoted_message_id=question_id),
            )
        except (WhatsAppWebError, OperationError, RateLimitExceeded) as error:
            _LOGGER.warning("The Assist answer could not be sent to %s: %s", chat, error)
