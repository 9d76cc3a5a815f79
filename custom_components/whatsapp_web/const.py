"""Constants of the WhatsApp Web integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "whatsapp_web"
LOGGER: Final = logging.getLogger(__package__)

# Config entry data.
CONF_BROWSER: Final = "browser"
BROWSER_LOCAL: Final = "local"
BROWSER_REMOTE: Final = "remote"
CONF_CHROMIUM_PATH: Final = "chromium_path"
CONF_REMOTE_URL: Final = "remote_url"
CONF_REMOTE_TOKEN: Final = "remote_token"  # noqa: S105 - the name of a setting, not a secret
CONF_PROFILE: Final = "profile"
CONF_PAGE_URL: Final = "page_url"
# The collapsed config-flow section that holds the page address.
SECTION_ADVANCED: Final = "advanced"
CONF_EXTRA_ARGS: Final = "extra_browser_args"
# What drives a local Chromium: DevTools over two pipes (the default: no extra process, nothing
# to install) or Playwright (installed on demand; its Node driver costs about 110 MiB).
CONF_LOCAL_DRIVER: Final = "local_driver"
LOCAL_DRIVER_PIPE: Final = "devtools_pipe"
LOCAL_DRIVER_PLAYWRIGHT: Final = "playwright"
LOCAL_DRIVERS: Final = (LOCAL_DRIVER_PIPE, LOCAL_DRIVER_PLAYWRIGHT)

# Options.
CONF_EVENTS: Final = "events"
CONF_NOTIFY_RECIPIENTS: Final = "notify_recipients"
CONF_IGNORED_CHATS: Final = "ignored_chats"
CONF_OUTBOX_TTL: Final = "outbox_ttl_minutes"
DEFAULT_OUTBOX_TTL_MINUTES: Final = 24 * 60
# Whether users who are not administrators may run the read operations (off: only get_status).
CONF_NON_ADMIN_READ: Final = "non_admin_read"
# Rate limits per account (see rate_limit.py for the reasoning behind the defaults).
CONF_SEND_LIMIT: Final = "send_limit_per_hour"
CONF_LOOKUP_LIMIT: Final = "lookup_limit_per_hour"
DEFAULT_SEND_LIMIT: Final = 60
DEFAULT_LOOKUP_LIMIT: Final = 20
MAX_RATE_LIMIT: Final = 1000
RATE_LIMIT_WINDOW_SECONDS: Final = 3600
# The memory guard's limits in MiB (0: off); the defaults are explained in memory_guard.py.
CONF_MEMORY_LIMIT: Final = "memory_limit_mib"
CONF_HEAP_LIMIT: Final = "js_heap_limit_mib"
# People: {person entity id: [phone numbers and LIDs, normalised]} (people.py).
CONF_PEOPLE: Final = "people"
# Talk to Assist (assist.py): the conversation agent, the mapped people who may use it, and the
# speech-to-text engine for voice notes (none: voice notes are not given to the agent).
CONF_ASSIST_AGENT: Final = "assist_agent"
CONF_ASSIST_PEOPLE: Final = "assist_people"
CONF_ASSIST_STT: Final = "assist_stt_engine"
DEFAULT_ASSIST_AGENT: Final = "conversation.home_assistant"

# Service and REST parameters shared by every operation.
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
QUERY_ACCOUNT: Final = "account"

# Playwright is installed on demand when a local browser uses it (never a hard requirement).
PLAYWRIGHT_REQUIREMENT: Final = "playwright==1.65.2"

# Where local browser profiles live, under the configuration directory.
PROFILES_DIRECTORY: Final = ".whatsapp_web"

# Events fired on the bus; the names are the add-on's, so automations keep working.
EVENT_PREFIX: Final = "whatsapp_"
EVENT_AUTHENTICATED: Final = "whatsapp_authenticated"
EVENT_DISCONNECTED: Final = "whatsapp_disconnected"
EVENT_STATE: Final = "whatsapp_state"
EVENT_MESSAGE_RECEIVED: Final = "whatsapp_message_received"
EVENT_MESSAGE_SENT: Final = "whatsapp_message_sent"
EVENT_MESSAGE_ACK: Final = "whatsapp_message_ack"
EVENT_MESSAGE_REVOKE_EVERYONE: Final = "whatsapp_message_revoke_for_everyone"
EVENT_MESSAGE_REVOKE_ME: Final = "whatsapp_message_revoke_for_me"
EVENT_GROUP_JOIN: Final = "whatsapp_group_join"
EVENT_GROUP_LEAVE: Final = "whatsapp_group_leave"
EVENT_GROUP_UPDATE: Final = "whatsapp_group_update"
EVENT_CALL: Final = "whatsapp_call"
EVENT_MESSAGE_REACTION: Final = "whatsapp_message_reaction"
# Not the add-on's: votes on polls and edited messages (whatsapp-web.js's vote_update, message_edit).
EVENT_POLL_VOTE: Final = "whatsapp_poll_vote"
EVENT_MESSAGE_EDIT: Final = "whatsapp_message_edit"
# Not the add-on's: a queued send that expired before the account came back.
EVENT_OUTBOX_EXPIRED: Final = "whatsapp_outbox_expired"

ALL_EVENTS: Final = (
    EVENT_AUTHENTICATED,
    EVENT_DISCONNECTED,
    EVENT_STATE,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
    EVENT_MESSAGE_ACK,
    EVENT_MESSAGE_REVOKE_EVERYONE,
    EVENT_MESSAGE_REVOKE_ME,
    EVENT_GROUP_JOIN,
    EVENT_GROUP_LEAVE,
    EVENT_GROUP_UPDATE,
    EVENT_CALL,
    EVENT_MESSAGE_REACTION,
    EVENT_POLL_VOTE,
    EVENT_MESSAGE_EDIT,
)

# The operations table's REST mirror (operations/, http.py).
API_BASE: Final = "/api/whatsapp_web"
OPENAPI_PATH: Final = f"{API_BASE}/openapi.json"
# Seconds a REST caller is told to wait when the account is not loaded or not connected.
RETRY_AFTER_NOT_LOADED: Final = 60
RETRY_AFTER_NOT_CONNECTED: Final = 15
# How long a send waits for WhatsApp before answering "queued" (it still leaves later).
SEND_WAIT_CONNECTED: Final = 60.0
SEND_WAIT_RECONNECTING: Final = 0.5
# Media fetched from a URL for a send: the add-on's defaults (50 MiB, 15 s).
MEDIA_URL_MAX_BYTES: Final = 50 * 1024 * 1024
MEDIA_URL_TIMEOUT: Final = 15.0
