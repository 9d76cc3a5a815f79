"""Who may run an operation, and running it under the account's rate limit: one rule for both faces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..client.errors import NotConnected
from .errors import OperationError, describe_error
from .model import Access, Operation, OperationContext

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..account import WhatsAppAccount
    from ..rate_limit import RateLimiter


def ensure_allowed(
    operation: Operation, *, is_admin: bool, account: WhatsAppAccount | None = None
) -> None:
    """Raise ``admin_required`` (403) unless a signed-in user may run the operation.

    Call it with ``account=None`` before the account is known (administrator-only operations are refused
    at once), then with the account (reads depend on its option). Calls without a user never get here.
    """
    if is_admin or operation.access is Access.STATUS:
        return
    if operation.access is Access.READ and (account is None or account.non_admin_read):
        return
    needs = "changes WhatsApp and needs" if operation.mutating else "needs"
    raise OperationError(
        "admin_required", 403, f"{operation.name} {needs} an administrator", caller_mistake=True
    )


def _gives_place_back(error: BaseException) -> bool:
    """Whether a failed call never reached WhatsApp: the caller's mistake or an account not connected."""
    return isinstance(error, NotConnected) or describe_error(error).caller_mistake


async def run_counted[T](limiter: RateLimiter, call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()`` as one place of ``limiter`` (``RateLimitExceeded`` when there is none)."""
    place = limiter.take()
    try:
        return await call()
    except BaseException as error:
        if _gives_place_back(error):
            place.give_back()
        raise


async def run_operation(operation: Operation, ctx: OperationContext, data: dict[str, Any]) -> Any:
    """Run the operation's handler, counted by the account's rate limit when the operation has one."""
    if operation.rate_limit is None:
        return await operation.handler(ctx, data)
    return await run_counted(
        ctx.account.rate_limiters[operation.rate_limit], lambda: operation.handler(ctx, data)
    )
