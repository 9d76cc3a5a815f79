"""Set-up: choose the browser, then link the phone with a QR code or an 8-character code.

Steps of a new account::

    user (menu) -> local | remote (forms) -> start (progress: the browser opens WhatsApp Web)
    hassio (the add-on announced its browser) -> hassio_confirm (form) -> start
        -> link_method (menu) -> link (progress: the QR code, renewed as WhatsApp rotates it)
                                   -> link_expired (menu) -> reload | phone
                              -> phone (form) -> phone_code (progress: the code to type on the phone)
        -> finish (the entry, or an abort)

``_BrowserChoiceFlow`` holds the steps that choose the browser; ``WhatsAppConfigFlow`` links in it
through one ``LinkingBrowser`` (linking_browser.py): the flow's own WhatsAppWebClient, or the loaded
entry's when re-linking, with the start deadline and the progress steps' waits. The entry uses the
same browser profile afterwards (the local profile directory chosen here; a remote browser keeps its
own), so the phone links once. The flow stops its client before it creates the entry: a Chromium
profile is used by one process at a time.

Progress steps are called again whenever their task ends and whenever the frontend re-reads the flow,
so each returns the same task and the same placeholders until something really changed (a new QR
string, a linked phone, a failure); see ``LinkingBrowser.wait``.
"""

from __future__ import annotations

import asyncio
import html
import shutil
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit
import uuid

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    ConversationAgentSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .account import WhatsAppAccount
from .browser import (
    LocalBrowserUnavailable,
    async_prepare_local_browser,
    driver_factory,
    find_chromium,
    profile_directory,
)
from .client import WHATSAPP_WEB_URL, ClientState, WhatsAppWebClient
from .client.drivers.base import DriverError
from .client.drivers.cdp import CdpDriver
from .client.errors import InvalidArgument, WhatsAppWebError
from .const import (
    ALL_EVENTS,
    BROWSER_LOCAL,
    BROWSER_REMOTE,
    CONF_ASSIST_AGENT,
    CONF_ASSIST_PEOPLE,
    CONF_ASSIST_STT,
    CONF_BROWSER,
    CONF_CHROMIUM_PATH,
    CONF_EVENTS,
    CONF_HEAP_LIMIT,
    CONF_IGNORED_CHATS,
    CONF_LOCAL_DRIVER,
    CONF_LOOKUP_LIMIT,
    CONF_MEMORY_LIMIT,
    CONF_NON_ADMIN_READ,
    CONF_NOTIFY_RECIPIENTS,
    CONF_OUTBOX_TTL,
    CONF_PAGE_URL,
    CONF_PEOPLE,
    CONF_PROFILE,
    CONF_REMOTE_TOKEN,
    CONF_REMOTE_URL,
    CONF_SEND_LIMIT,
    DEFAULT_ASSIST_AGENT,
    DEFAULT_LOOKUP_LIMIT,
    DEFAULT_OUTBOX_TTL_MINUTES,
    DEFAULT_SEND_LIMIT,
    DOMAIN,
    LOCAL_DRIVER_PIPE,
    LOCAL_DRIVERS,
    LOGGER,
    MAX_RATE_LIMIT,
    SECTION_ADVANCED,
)
from .linking_browser import LinkingBrowser
from .memory_guard import DEFAULT_HEAP_LIMIT_MIB, DEFAULT_MEMORY_LIMIT_MIB
from .values import chat_id, user_id

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from homeassistant.helpers.service_info.hassio import HassioServiceInfo

    from .client.models import Me

CONF_PHONE_NUMBER: Final = "phone_number"
# The options' people form: one person and their WhatsApp ids.
CONF_PERSON: Final = "person"
CONF_PERSON_IDS: Final = "ids"

# How long the browser may take to open WhatsApp Web and say whether it is linked.
START_TIMEOUT: Final = 120.0
# How long connecting to a remote browser may take while checking its address.
REMOTE_CHECK_TIMEOUT: Final = 15.0
# WhatsApp's pairing codes are short-lived; after this the user is offered a new one or a QR code.
PAIRING_CODE_TIMEOUT: Final = 180.0
# WhatsApp Web's Socket state once it stopped rotating QR codes (docs/whatsapp-web-surface.md §2.1).
WHATSAPP_IDLE_STATE: Final = "UNPAIRED_IDLE"
_REMOTE_SCHEMES: Final = frozenset({"http", "https", "ws", "wss"})


def qr_code_element(qr: str) -> str:
    """The frontend's own QR element for a progress step's description (ha-conventions §4)."""
    return (
        f'<ha-qr-code data="{html.escape(qr, quote=True)}" scale="4" '
        'error-correction-level="quartile"></ha-qr-code>'
    )


def format_pairing_code(code: str) -> str:
    """``ABCDEFGH`` as WhatsApp shows it on the phone: ``ABCD-EFGH``."""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


class _BrowserChoiceFlow(ConfigFlow):
    """The first half of the flow: which browser WhatsApp Web runs in (checked before it is used)."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        # The form to go back to when the chosen browser cannot open WhatsApp Web.
        self._browser_step = "local"
        self._errors: dict[str, str] = {}
        # A local profile directory this flow created; removed again if no entry takes it.
        self._new_profile: str | None = None
        # The browser the add-on announced (address and token), until the user confirms it.
        self._discovered: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Local Chromium or a remote one."""
        return self.async_show_menu(step_id="user", menu_options=["local", "remote"])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the browser of an account."""
        return self.async_show_menu(step_id="reconfigure", menu_options=["local", "remote"])

    async def async_step_local(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Chromium on this machine, over DevTools pipes or through Playwright (installed if needed)."""
        self._browser_step = "local"
        errors = self._take_errors()
        if user_input is not None:
            path = user_input[CONF_CHROMIUM_PATH].strip()
            driver = (user_input.get(SECTION_ADVANCED) or {}).get(
                CONF_LOCAL_DRIVER, LOCAL_DRIVER_PIPE
            )
            try:
                await async_prepare_local_browser(self.hass, path, driver)
            except LocalBrowserUnavailable as error:
                LOGGER.debug("The local browser cannot start: %s", error)
                if error.reason == "chromium_not_found":
                    errors[CONF_CHROMIUM_PATH] = error.reason
                else:
                    errors["base"] = error.reason
            else:
                data = {
                    CONF_BROWSER: BROWSER_LOCAL,
                    CONF_CHROMIUM_PATH: path,
                    CONF_LOCAL_DRIVER: driver,
                    CONF_PROFILE: self._local_profile(),
                    **self._page_url(user_input),
                }
                return await self._async_use_browser(data)
        default_path = (user_input or {}).get(CONF_CHROMIUM_PATH) or self._current(
            CONF_CHROMIUM_PATH
        )
        if not default_path:
            default_path = await self.hass.async_add_executor_job(find_chromium) or ""
        schema: dict[Any, Any] = {
            vol.Required(CONF_CHROMIUM_PATH, default=default_path): TextSelector(),
        }
        return self.async_show_form(
            step_id="local",
            data_schema=vol.Schema(
                self._with_advanced_section(schema, user_input, local_driver_choice=True)
            ),
            errors=errors,
        )

    async def async_step_remote(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Chromium elsewhere that speaks the DevTools protocol."""
        self._browser_step = "remote"
        errors = self._take_errors()
        if user_input is not None:
            url = user_input[CONF_REMOTE_URL].strip()
            token = (user_input.get(CONF_REMOTE_TOKEN) or "").strip()
            if urlsplit(url).scheme not in _REMOTE_SCHEMES or not urlsplit(url).netloc:
                errors[CONF_REMOTE_URL] = "invalid_url"
            elif not await self._async_remote_reachable(url, token or None):
                errors["base"] = "cannot_connect"
            else:
                data: dict[str, Any] = {
                    CONF_BROWSER: BROWSER_REMOTE,
                    CONF_REMOTE_URL: url,
                    **self._page_url(user_input),
                }
                if token:
                    data[CONF_REMOTE_TOKEN] = token
                return await self._async_use_browser(data)
        values = user_input or {}
        schema: dict[Any, Any] = {
            vol.Required(
                CONF_REMOTE_URL,
                default=values.get(CONF_REMOTE_URL) or self._current(CONF_REMOTE_URL) or "",
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
            vol.Optional(
                CONF_REMOTE_TOKEN,
                description={
                    "suggested_value": values.get(CONF_REMOTE_TOKEN)
                    or self._current(CONF_REMOTE_TOKEN)
                },
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
        }
        return self.async_show_form(
            step_id="remote",
            data_schema=vol.Schema(self._with_advanced_section(schema, user_input)),
            errors=errors,
        )

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The WhatsApp Web browser add-on announced its address and token."""
        url = str(discovery_info.config.get("url") or "").strip()
        token = str(discovery_info.config.get("token") or "").strip()
        if urlsplit(url).scheme not in _REMOTE_SCHEMES or not urlsplit(url).netloc or not token:
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(discovery_info.uuid)
        # Accounts already on this add-on get its current token (a reinstalled add-on makes a new one).
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_REMOTE_URL) == url:
                if entry.data.get(CONF_REMOTE_TOKEN) != token:
                    self.hass.config_entries.async_update_entry(
                        entry, data={**entry.data, CONF_REMOTE_TOKEN: token}
                    )
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
                return self.async_abort(reason="already_configured_browser")
        self._discovered = {
            CONF_BROWSER: BROWSER_REMOTE,
            CONF_REMOTE_URL: url,
            CONF_REMOTE_TOKEN: token,
        }
        self.context["title_placeholders"] = {"addon": discovery_info.name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link an account in the add-on's browser."""
        self._browser_step = "hassio_confirm"
        errors = self._take_errors()
        if user_input is not None:
            if await self._async_remote_reachable(
                self._discovered[CONF_REMOTE_URL], self._discovered[CONF_REMOTE_TOKEN]
            ):
                return await self._async_use_browser(
                    {**self._discovered, **self._page_url(user_input)}
                )
            errors["base"] = "cannot_connect"
        return self.async_show_form(
            step_id="hassio_confirm",
            data_schema=vol.Schema(self._with_advanced_section({}, user_input)),
            description_placeholders=self.context["title_placeholders"],
            errors=errors,
        )

    async def _async_remote_reachable(self, url: str, token: str | None) -> bool:
        """Connect to the remote browser once, the way the account will."""
        driver = CdpDriver(url, token=token, session=async_get_clientsession(self.hass))
        try:
            async with asyncio.timeout(REMOTE_CHECK_TIMEOUT):
                await driver.start()
        except (DriverError, TimeoutError) as error:
            LOGGER.debug("The remote browser at %s cannot be used: %s", url, error)
            return False
        finally:
            await driver.stop()
        return True

    def _local_profile(self) -> str:
        """The profile directory's name: the account's own when reconfiguring, else a new one."""
        if self.source == SOURCE_RECONFIGURE and (profile := self._current(CONF_PROFILE)):
            return str(profile)
        if self._new_profile is None:
            self._new_profile = uuid.uuid4().hex
        return self._new_profile

    def _current(self, key: str) -> Any:
        """A value of the entry being reconfigured (None in a new flow)."""
        if self.source != SOURCE_RECONFIGURE:
            return None
        return self._get_reconfigure_entry().data.get(key)

    def _page_url(self, user_input: dict[str, Any]) -> dict[str, str]:
        """The page to open, when it is not WhatsApp Web itself (tests and demos use the simulator)."""
        advanced = user_input.get(SECTION_ADVANCED) or {}
        url = (advanced.get(CONF_PAGE_URL) or self._current(CONF_PAGE_URL) or "").strip()
        return {CONF_PAGE_URL: url} if url and url != WHATSAPP_WEB_URL else {}

    def _with_advanced_section(
        self,
        schema: dict[Any, Any],
        user_input: dict[str, Any] | None,
        *,
        local_driver_choice: bool = False,
    ) -> dict[Any, Any]:
        """Add the collapsed advanced section: the page address, and for a local browser its driver.

        A section, not ``show_advanced_options``: Home Assistant 2026.x deprecates that flag (removal
        planned for 2027.6) and shows such fields to everyone, while a collapsed section looks the same
        on 2025.4 and 2026.x.
        """
        advanced = (user_input or {}).get(SECTION_ADVANCED) or {}
        default = advanced.get(CONF_PAGE_URL) or self._current(CONF_PAGE_URL) or WHATSAPP_WEB_URL
        fields: dict[Any, Any] = {}
        if local_driver_choice:
            driver = (
                advanced.get(CONF_LOCAL_DRIVER)
                or self._current(CONF_LOCAL_DRIVER)
                or LOCAL_DRIVER_PIPE
            )
            fields[vol.Optional(CONF_LOCAL_DRIVER, default=driver)] = SelectSelector(
                SelectSelectorConfig(
                    options=list(LOCAL_DRIVERS),
                    mode=SelectSelectorMode.LIST,
                    translation_key=CONF_LOCAL_DRIVER,
                )
            )
        fields[vol.Optional(CONF_PAGE_URL, default=default)] = TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        )
        schema[vol.Optional(SECTION_ADVANCED, default={})] = section(
            vol.Schema(fields), {"collapsed": True}
        )
        return schema

    def _take_errors(self) -> dict[str, str]:
        errors, self._errors = self._errors, {}
        return errors

    async def _async_use_browser(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Open WhatsApp Web in the chosen browser (the linking half of the flow does)."""
        raise NotImplementedError


class WhatsAppConfigFlow(_BrowserChoiceFlow, domain=DOMAIN):
    """Link a WhatsApp account."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with no browser."""
        super().__init__()
        self._data: dict[str, Any] = {}
        # Made on first use: the flow has no ``hass`` before its first step.
        self._linking_browser: LinkingBrowser | None = None
        self._pairing_code: str | None = None
        self._pairing_deadline = 0.0
        # True once this flow showed a QR or a code: only then may it unlink what got linked.
        self._linked_here = False

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> WhatsAppOptionsFlow:
        """Event filters and notify recipients."""
        return WhatsAppOptionsFlow()

    async def _async_use_browser(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Open WhatsApp Web in the chosen browser, or just save it when the session stays."""
        self._data = data
        if self.source == SOURCE_RECONFIGURE and data.get(CONF_PROFILE) == self._current(
            CONF_PROFILE
        ):
            # The same local profile keeps the linked session: no new link, just the new Chromium.
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=data)
        client = WhatsAppWebClient(
            driver_factory(self.hass, data), url=data.get(CONF_PAGE_URL) or WHATSAPP_WEB_URL
        )
        await self._linking.async_start_own(client, START_TIMEOUT)
        return await self.async_step_start()

    # -----------------------------------------------------------------------------------------
    # Opening WhatsApp Web

    async def async_step_start(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wait until WhatsApp Web says whether this browser is linked."""
        client = self._require_client()
        if client.state == ClientState.CONNECTED:
            return self._progress_done("finish")
        if client.state.unlinked:
            return self._progress_done("link_method")
        remaining = self._linking.start_remaining
        if client.state == ClientState.FAILED or remaining <= 0:
            LOGGER.warning(
                "The browser could not open WhatsApp Web: %s", client.last_error or "timed out"
            )
            self._errors = {
                "base": "browser_failed" if client.state == ClientState.FAILED else "timeout"
            }
            await self._async_release_client()
            return self._progress_done(self._browser_step)
        task = self._linking.wait(
            ("start",),
            lambda: (
                client.state.unlinked or client.state in (ClientState.CONNECTED, ClientState.FAILED)
            ),
            remaining,
        )
        return self.async_show_progress(
            step_id="start", progress_action="start_browser", progress_task=task
        )

    async def async_step_link_method(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """QR code or phone number."""
        return self.async_show_menu(step_id="link_method", menu_options=["link", "phone"])

    # -----------------------------------------------------------------------------------------
    # Linking with a QR code

    async def async_step_link(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show WhatsApp Web's QR code, a new one each time it rotates, until the phone links."""
        client = self._require_client()
        self._linked_here = True
        if client.state == ClientState.CONNECTED:
            return self._progress_done("finish")
        if client.state == ClientState.FAILED:
            return self._progress_done("link_failed")
        qr = client.qr
        if self._qr_idle():
            return self._progress_done("link_expired")
        task = self._linking.wait(
            ("link", qr),
            lambda: (
                client.state in (ClientState.CONNECTED, ClientState.FAILED)
                or client.qr != qr
                or self._qr_idle()
            ),
            None,
        )
        if qr is None:
            return self.async_show_progress(
                step_id="link", progress_action="wait_for_qr_code", progress_task=task
            )
        return self.async_show_progress(
            step_id="link",
            progress_action="scan_qr_code",
            description_placeholders={"qr_code": qr_code_element(qr)},
            progress_task=task,
        )

    def _qr_idle(self) -> bool:
        """WhatsApp Web stopped rotating QR codes; it shows a new one only after a reload."""
        client = self._require_client()
        return client.qr is not None and client.whatsapp_state == WHATSAPP_IDLE_STATE

    async def async_step_link_expired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The QR code (or the pairing code) expired: a new QR code or the phone number."""
        return self.async_show_menu(step_id="link_expired", menu_options=["reload", "phone"])

    async def async_step_reload(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Load WhatsApp Web again for a fresh QR code."""
        client = self._require_client()
        try:
            await client.reload()
        except WhatsAppWebError as error:
            LOGGER.warning("Could not reload WhatsApp Web: %s", error)
            return await self._async_abort_with_browser_error(str(error))
        return await self.async_step_link()

    # -----------------------------------------------------------------------------------------
    # Linking with a phone number

    async def async_step_phone(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the phone number, then for WhatsApp's 8-character code for it."""
        client = self._require_client()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                code = await client.request_pairing_code(user_input[CONF_PHONE_NUMBER])
            except InvalidArgument:
                errors[CONF_PHONE_NUMBER] = "invalid_phone_number"
            except WhatsAppWebError as error:
                LOGGER.warning("WhatsApp Web gave no pairing code: %s", error)
                errors["base"] = "pairing_code_failed"
            else:
                self._pairing_code = code
                self._pairing_deadline = self.hass.loop.time() + PAIRING_CODE_TIMEOUT
                return await self.async_step_phone_code()
        return self.async_show_form(
            step_id="phone",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_PHONE_NUMBER, default=(user_input or {}).get(CONF_PHONE_NUMBER, "")
                    ): TextSelector(TextSelectorConfig(type=TextSelectorType.TEL))
                }
            ),
            errors=errors,
        )

    async def async_step_phone_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code until the phone links with it or it expires."""
        client = self._require_client()
        self._linked_here = True
        if client.state == ClientState.CONNECTED:
            return self._progress_done("finish")
        if client.state == ClientState.FAILED:
            return self._progress_done("link_failed")
        remaining = self._pairing_deadline - self.hass.loop.time()
        if remaining <= 0 or self._pairing_code is None:
            return self._progress_done("link_expired")
        task = self._linking.wait(
            ("phone", self._pairing_code),
            lambda: client.state in (ClientState.CONNECTED, ClientState.FAILED),
            remaining,
        )
        return self.async_show_progress(
            step_id="phone_code",
            progress_action="enter_pairing_code",
            description_placeholders={"code": format_pairing_code(self._pairing_code)},
            progress_task=task,
        )

    # -----------------------------------------------------------------------------------------
    # The end

    async def async_step_link_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The browser failed while linking."""
        return await self._async_abort_with_browser_error(self._require_client().last_error or "")

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The phone is linked: create the entry, or update the one being re-linked."""
        me = self._require_client().me
        if me is None:
            await self._async_release_client()
            return self.async_abort(reason="no_account_info")
        await self.async_set_unique_id(me.id, raise_on_progress=False)
        if self.source == SOURCE_REAUTH:
            return await self._async_finish_reauth(me)
        if self.source == SOURCE_RECONFIGURE:
            return await self._async_finish_reconfigure(me)
        return await self._async_finish_new(me)

    async def _async_finish_new(self, me: Me) -> ConfigFlowResult:
        """A new account, unless this number is configured already."""
        if any(
            entry.unique_id == me.id for entry in self._async_current_entries(include_ignore=False)
        ):
            await self._async_discard_link()
            return self.async_abort(reason="already_configured")
        await self._async_release_client()
        self._new_profile = None
        number = f"+{me.number}"
        title = f"{me.pushname} ({number})" if me.pushname else number
        return self.async_create_entry(title=title, data=self._data)

    async def _async_finish_reauth(self, me: Me) -> ConfigFlowResult:
        """The entry linked again; it reloads when it was not linked in its own browser."""
        entry = self._get_reauth_entry()
        if entry.unique_id != me.id:
            return await self._async_abort_wrong_account(entry)
        reload = self._linking.owns_client
        await self._async_release_client()
        return self.async_update_reload_and_abort(entry, reload_even_if_entry_is_unchanged=reload)

    async def _async_finish_reconfigure(self, me: Me) -> ConfigFlowResult:
        """The entry moves to the browser this flow linked in."""
        entry = self._get_reconfigure_entry()
        if entry.unique_id != me.id:
            return await self._async_abort_wrong_account(entry)
        await self._async_release_client()
        # The entry takes this flow's browser, and with it a profile this flow may have made.
        self._new_profile = None
        return self.async_update_reload_and_abort(entry, data=self._data)

    async def _async_abort_wrong_account(self, entry: ConfigEntry) -> ConfigFlowResult:
        await self._async_discard_link()
        return self.async_abort(
            reason="wrong_account", description_placeholders={"account": entry.title}
        )

    # -----------------------------------------------------------------------------------------
    # Re-linking after the phone unlinked the device

    async def async_step_reauth(self, entry_data: dict[str, Any]) -> ConfigFlowResult:
        """The phone unlinked this device (a repair issue says so too)."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link the account again, in the browser it already uses."""
        entry = self._get_reauth_entry()
        self._browser_step = "reauth_confirm"
        errors = self._take_errors()
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_confirm",
                description_placeholders={"account": entry.title},
                errors=errors,
            )
        self._data = dict(entry.data)
        account = getattr(entry, "runtime_data", None)
        if entry.state is ConfigEntryState.LOADED and isinstance(account, WhatsAppAccount):
            # The account's own browser holds the profile: link in it rather than start another.
            await self._linking.async_borrow(account.client, START_TIMEOUT)
            account.client.pair_again()
            return await self.async_step_start()
        return await self._async_use_browser(self._data)

    # -----------------------------------------------------------------------------------------
    # Helpers

    @property
    def _linking(self) -> LinkingBrowser:
        if self._linking_browser is None:
            self._linking_browser = LinkingBrowser(self.hass)
        return self._linking_browser

    @property
    def _client(self) -> WhatsAppWebClient | None:
        return self._linking.client

    def _require_client(self) -> WhatsAppWebClient:
        return self._linking.require_client()

    def _progress_done(self, next_step_id: str) -> ConfigFlowResult:
        self._linking.cancel_wait()
        return self.async_show_progress_done(next_step_id=next_step_id)

    async def _async_abort_with_browser_error(self, error: str) -> ConfigFlowResult:
        await self._async_release_client()
        return self.async_abort(reason="browser_failed", description_placeholders={"error": error})

    async def _async_discard_link(self) -> None:
        """Unlink what this flow linked (a second link of a configured number, a wrong account)."""
        if self._linked_here:
            await self._linking.async_unlink()
        await self._async_release_client()

    async def _async_release_client(self) -> None:
        """Stop the flow's own client (never the client of a loaded entry)."""
        await self._linking.async_release()

    async def _async_cleanup(self) -> None:
        await self._async_release_client()
        if self._new_profile is not None:
            path = profile_directory(self.hass, self._new_profile)
            self._new_profile = None
            await self.hass.async_add_executor_job(shutil.rmtree, path, True)

    @callback
    def async_remove(self) -> None:
        """The flow ended (or the dialog was closed): close its browser, drop an unused profile."""
        if self._linking.owns_client or self._new_profile is not None:
            self.hass.async_create_background_task(
                self._async_cleanup(), f"{DOMAIN} config flow clean-up"
            )
        else:
            self._linking.cancel_wait()


class WhatsAppOptionsFlow(OptionsFlow):
    """A menu of three forms, each saved on its own.

    settings: events, ignored chats, notify recipients, the outbox, who may read, the limits;
    people: which phone numbers or LIDs are which Home Assistant person (one person per visit);
    assist: the conversation agent, which mapped people may talk to it, and speech-to-text.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to change."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["settings", "people", "assist"],
            description_placeholders={"people": _people_text(self._people())},
        )

    def _save(self, changes: dict[str, Any]) -> ConfigFlowResult:
        """The entry's options with ``changes``: each form keeps what the others saved."""
        return self.async_create_entry(data={**self.config_entry.options, **changes})

    def _people(self) -> dict[str, list[str]]:
        return {
            person: list(ids)
            for person, ids in (self.config_entry.options.get(CONF_PEOPLE) or {}).items()
        }

    async def async_step_people(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Map one person's phone numbers and LIDs; no ids removes the person."""
        errors: dict[str, str] = {}
        people = self._people()
        if user_input is not None:
            person = str(user_input[CONF_PERSON])
            ids = _user_ids(user_input.get(CONF_PERSON_IDS, []))
            if ids is None:
                errors[CONF_PERSON_IDS] = "invalid_person_id"
            elif any(
                value in ids
                for other, values in people.items()
                if other != person
                for value in values
            ):
                errors[CONF_PERSON_IDS] = "already_mapped"
            else:
                return self._save(_with_person(self.config_entry.options, people, person, ids))
        return self.async_show_form(
            step_id="people",
            data_schema=_people_schema(user_input),
            errors=errors,
            description_placeholders={"people": _people_text(people)},
        )

    async def async_step_assist(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Talk to Assist: the agent, who may, and the speech-to-text engine for voice notes."""
        errors: dict[str, str] = {}
        people = self._people()
        if user_input is not None:
            allowed = list(user_input.get(CONF_ASSIST_PEOPLE, []))
            if any(person not in people for person in allowed):
                errors[CONF_ASSIST_PEOPLE] = "person_not_mapped"
            else:
                return self._save(
                    {
                        CONF_ASSIST_PEOPLE: allowed,
                        CONF_ASSIST_AGENT: user_input.get(CONF_ASSIST_AGENT)
                        or DEFAULT_ASSIST_AGENT,
                        CONF_ASSIST_STT: user_input.get(CONF_ASSIST_STT) or None,
                    }
                )
        values = {**self.config_entry.options, **(user_input or {})}
        return self.async_show_form(
            step_id="assist",
            data_schema=_assist_schema(values),
            errors=errors,
            description_placeholders={"people": _people_text(people)},
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Events, chats, recipients, the outbox, who may read, the rate and memory limits."""
        errors: dict[str, str] = {}
        options = self.config_entry.options
        if user_input is not None:
            recipients = _chat_ids(user_input.get(CONF_NOTIFY_RECIPIENTS, []))
            ignored = _chat_ids(user_input.get(CONF_IGNORED_CHATS, []))
            if recipients is None:
                errors[CONF_NOTIFY_RECIPIENTS] = "invalid_recipient"
            if ignored is None:
                errors[CONF_IGNORED_CHATS] = "invalid_chat"
            if not errors:
                return self._save(
                    {
                        CONF_EVENTS: [
                            event for event in ALL_EVENTS if event in user_input[CONF_EVENTS]
                        ],
                        CONF_IGNORED_CHATS: ignored,
                        CONF_NOTIFY_RECIPIENTS: recipients,
                        CONF_OUTBOX_TTL: int(user_input[CONF_OUTBOX_TTL]),
                        CONF_NON_ADMIN_READ: bool(user_input.get(CONF_NON_ADMIN_READ, False)),
                        CONF_SEND_LIMIT: int(user_input[CONF_SEND_LIMIT]),
                        CONF_LOOKUP_LIMIT: int(user_input[CONF_LOOKUP_LIMIT]),
                        CONF_MEMORY_LIMIT: int(
                            user_input.get(CONF_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT_MIB)
                        ),
                        CONF_HEAP_LIMIT: int(
                            user_input.get(CONF_HEAP_LIMIT, DEFAULT_HEAP_LIMIT_MIB)
                        ),
                    }
                )
        values = {**options, **(user_input or {})}
        return self.async_show_form(
            step_id="settings", data_schema=_settings_schema(values), errors=errors
        )


# A rate limit: calls per hour (see rate_limit.py for the defaults).
_PER_HOUR: Final = NumberSelector(
    NumberSelectorConfig(
        min=1, max=MAX_RATE_LIMIT, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="/h"
    )
)


# The memory guard's limits: 0 turns one off; 16 GiB is past any host this runs on.
_MEMORY_SELECTOR = NumberSelector(
    NumberSelectorConfig(
        min=0, max=16384, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="MiB"
    )
)


def _settings_schema(values: Mapping[str, Any]) -> vol.Schema:
    """The settings form, showing ``values``."""
    return vol.Schema(
        {
            vol.Optional(
                CONF_EVENTS, default=list(values.get(CONF_EVENTS, ALL_EVENTS))
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(ALL_EVENTS),
                    multiple=True,
                    mode=SelectSelectorMode.LIST,
                    translation_key="events",
                )
            ),
            vol.Optional(
                CONF_IGNORED_CHATS, default=list(values.get(CONF_IGNORED_CHATS, []))
            ): TextSelector(TextSelectorConfig(multiple=True)),
            vol.Optional(
                CONF_NOTIFY_RECIPIENTS, default=list(values.get(CONF_NOTIFY_RECIPIENTS, []))
            ): TextSelector(TextSelectorConfig(multiple=True)),
            vol.Required(
                CONF_OUTBOX_TTL, default=values.get(CONF_OUTBOX_TTL, DEFAULT_OUTBOX_TTL_MINUTES)
            ): NumberSelector(
                NumberSelectorConfig(
                    min=1,
                    max=7 * 24 * 60,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="min",
                )
            ),
            vol.Optional(
                CONF_NON_ADMIN_READ, default=values.get(CONF_NON_ADMIN_READ, False)
            ): BooleanSelector(),
            vol.Required(
                CONF_SEND_LIMIT, default=values.get(CONF_SEND_LIMIT, DEFAULT_SEND_LIMIT)
            ): _PER_HOUR,
            vol.Required(
                CONF_LOOKUP_LIMIT, default=values.get(CONF_LOOKUP_LIMIT, DEFAULT_LOOKUP_LIMIT)
            ): _PER_HOUR,
            vol.Required(
                CONF_MEMORY_LIMIT,
                default=values.get(CONF_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT_MIB),
            ): _MEMORY_SELECTOR,
            vol.Required(
                CONF_HEAP_LIMIT, default=values.get(CONF_HEAP_LIMIT, DEFAULT_HEAP_LIMIT_MIB)
            ): _MEMORY_SELECTOR,
        }
    )


def _chat_ids(values: list[str]) -> list[str] | None:
    """Chat ids or phone numbers, normalised and without repeats; None when one is not valid."""
    return _normalised(values, chat_id)


def _user_ids(values: list[str]) -> list[str] | None:
    """People's ids (phone numbers, @c.us, @lid), normalised, without repeats; None when one is not."""
    return _normalised(values, user_id)


def _normalised(values: list[str], normalise: Callable[[str], str]) -> list[str] | None:
    result: list[str] = []
    for value in values:
        if not value.strip():
            continue
        try:
            normalised = normalise(value)
        except vol.Invalid:
            return None
        if normalised not in result:
            result.append(normalised)
    return result


def _with_person(
    options: Mapping[str, Any], people: dict[str, list[str]], person: str, ids: list[str]
) -> dict[str, Any]:
    """The options' people with ``person`` mapped to ``ids`` (removed, also from Assist, when none)."""
    changed = dict(people)
    if ids:
        changed[person] = ids
        return {CONF_PEOPLE: changed}
    changed.pop(person, None)
    allowed = [other for other in options.get(CONF_ASSIST_PEOPLE) or [] if other != person]
    return {CONF_PEOPLE: changed, CONF_ASSIST_PEOPLE: allowed}


def _people_text(people: Mapping[str, list[str]]) -> str:
    """The mapping for the forms' descriptions, one person a line."""
    if not people:
        return "-"
    return "\n".join(f"- {person}: {', '.join(ids)}" for person, ids in sorted(people.items()))


def _people_schema(user_input: Mapping[str, Any] | None) -> vol.Schema:
    values = user_input or {}
    return vol.Schema(
        {
            vol.Required(CONF_PERSON, default=values.get(CONF_PERSON, vol.UNDEFINED)): (
                EntitySelector(EntitySelectorConfig(domain="person"))
            ),
            vol.Optional(CONF_PERSON_IDS, default=list(values.get(CONF_PERSON_IDS, []))): (
                TextSelector(TextSelectorConfig(multiple=True))
            ),
        }
    )


def _assist_schema(values: Mapping[str, Any]) -> vol.Schema:
    stt_engine = values.get(CONF_ASSIST_STT)
    return vol.Schema(
        {
            vol.Optional(
                CONF_ASSIST_PEOPLE, default=list(values.get(CONF_ASSIST_PEOPLE) or [])
            ): EntitySelector(EntitySelectorConfig(domain="person", multiple=True)),
            vol.Optional(
                CONF_ASSIST_AGENT, default=values.get(CONF_ASSIST_AGENT) or DEFAULT_ASSIST_AGENT
            ): ConversationAgentSelector(),
            vol.Optional(
                CONF_ASSIST_STT,
                description={"suggested_value": stt_engine} if stt_engine else None,
            ): EntitySelector(EntitySelectorConfig(domain="stt")),
        }
    )
