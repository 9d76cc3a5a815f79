"""Home Assistant's frontend in a real Chromium, already logged in (the login page is not under test)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.e2e.harness import Credentials


def frontend_tokens(base_url: str, credentials: Credentials) -> dict[str, Any]:
    """What the frontend keeps in localStorage (``hassTokens``) after a login."""
    return {
        "access_token": credentials.access_token,
        "token_type": "Bearer",
        "expires_in": credentials.expires_in,
        "refresh_token": credentials.refresh_token,
        "hassUrl": base_url,
        "clientId": f"{base_url}/",
        "expires": int(time.time() * 1000) + credentials.expires_in * 1000,
    }


async def skip_login(page: Page, tokens: dict[str, Any]) -> None:
    """Every page the browser opens from now on finds the tokens and skips the login page."""
    await page.add_init_script(
        "window.localStorage.setItem('hassTokens', " + json.dumps(json.dumps(tokens)) + ");"
    )
