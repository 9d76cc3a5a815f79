"""Write the README's reference of services and REST routes from the operations table.

    script/gen_docs            rewrite the generated part of README.md
    script/gen_docs --check    exit 1 if README.md is not what the table says (tests/test_readme.py)

Only the text between the two markers below is generated; the rest of the README is written by hand.
The table (``custom_components/whatsapp_web/operations/``) is only read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # script/ is not a package: make the integration importable from the checkout.
    sys.path.insert(0, str(REPO_ROOT))

from homeassistant.core import SupportsResponse  # noqa: E402

from custom_components.whatsapp_web.const import (  # noqa: E402
    API_BASE,
    DEFAULT_LOOKUP_LIMIT,
    DEFAULT_SEND_LIMIT,
    DOMAIN,
)
from custom_components.whatsapp_web.operations import (  # noqa: E402
    OPERATIONS,
    Access,
    Face,
    Where,
)
from custom_components.whatsapp_web.rate_limit import LOOKUPS, SENDS  # noqa: E402

if TYPE_CHECKING:
    from custom_components.whatsapp_web.operations import Field, Operation

README = REPO_ROOT / "README.md"
BEGIN = "<!-- BEGIN GENERATED: operations (script/gen_docs) -->"
END = "<!-- END GENERATED: operations -->"

TAG_TITLES = {
    "state": "State",
    "chats": "Chats",
    "messages": "Messages",
    "groups": "Groups",
    "contacts": "Contacts",
    "me": "Your own account",
}


def _cell(text: str) -> str:
    """Text fit for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _example(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _routes(operation: Operation) -> str:
    routes = [
        f"`{route.method.value} {route.path}`" for route in operation.routes if not route.alias
    ]
    aliases = [f"`{route.method.value} {route.path}`" for route in operation.routes if route.alias]
    text = "<br>".join(routes)
    if aliases:
        text += "<br>also " + ", ".join(aliases)
    return text


def _answer(operation: Operation) -> str:
    """What a successful REST call answers."""
    return "; ".join(answer.readme for answer in operation.answers)


def _service_answer(operation: Operation) -> str:
    """What the service returns to ``response_variable``."""
    if operation.supports_response is SupportsResponse.NONE:
        return "nothing"
    kind = "always" if operation.supports_response is SupportsResponse.ONLY else "optional"
    if operation.response_key:
        return f"`{{{operation.response_key}: [...]}}` ({kind})"
    return f"data ({kind})"


ADMIN_COLUMN = {
    Access.STATUS: "no",
    Access.READ: "read option",
    Access.ADMIN_READ: "yes",
    Access.WRITE: "yes",
}
LIMIT_NAMES = {SENDS: "send limit", LOOKUPS: "number-check limit"}


def _admin(operation: Operation) -> str:
    """The admin column: who may call, and the rate limit that counts the call."""
    text = ADMIN_COLUMN[operation.access]
    if operation.rate_limit is not None:
        text += f"; rate limited ({LIMIT_NAMES[operation.rate_limit]})"
    return text


def _limits_text() -> str:
    return (
        f"{LIMIT_NAMES[SENDS]} ({DEFAULT_SEND_LIMIT} an hour by default) or {LIMIT_NAMES[LOOKUPS]}\n"
        f"({DEFAULT_LOOKUP_LIMIT} an hour by default); see [Who may do what](#who-may-do-what)"
    )


def _field_line(field: Field) -> str:
    where = {
        Where.PATH: "path",
        Where.QUERY: "query",
        Where.BODY: "body",
    }[field.where]
    faces = {
        Face.BOTH: f"service, REST {where}",
        Face.SERVICE: "service only",
        Face.REST: f"REST {where} only",
    }[field.face]
    parts = [f"`{field.key}`", "required" if field.required else "optional", faces]
    line = f"  - {', '.join(parts)}: {field.description}"
    if field.has_default:
        line += f" Default `{_example(field.default)}`."
    if field.example is not None:
        line += f" Example: `{_example(field.example)}`."
    return line


def render_reference() -> str:
    """The generated Markdown, markers excluded."""
    lines = [
        "Every operation is both a service (`whatsapp_web.<name>`) and a REST route under",
        f"`{API_BASE}` (the add-on's path with `/api` replaced). Every service also takes",
        "`config_entry_id`, and every REST call `?account=` (entry id or own number), needed only when",
        "several accounts are linked.",
        "",
        "The *admin* column holds for services and REST alike: `yes` needs an administrator (or a call",
        "without a user: automations, scripts), `no` is open to every signed-in user, and *read option*",
        "needs an administrator unless the account's option *Let users who are not administrators read*",
        "is on. A service call refused this way raises `Unauthorized`; a REST call answers 403.",
        "Calls marked *rate limited* count against the account's",
        f"{_limits_text()}.",
        "",
        'Errors are `{"error": {"code", "message", "field"?}}` with 400, 403, 404, 409, 413, 429 (with',
        "`Retry-After`), 502, 503 (with `Retry-After`) or 504. The OpenAPI document is served at",
        f"`{API_BASE}/openapi.json`.",
        "",
    ]
    tags: list[str] = []
    for operation in OPERATIONS:
        if operation.tag not in tags:
            tags.append(operation.tag)
    for tag in tags:
        operations = [operation for operation in OPERATIONS if operation.tag == tag]
        lines += [
            f"#### {TAG_TITLES.get(tag, tag.title())}",
            "",
            "| service | REST route | REST answer | service returns | admin |",
            "| --- | --- | --- | --- | --- |",
        ]
        for operation in operations:
            lines.append(
                f"| `{operation.service}` | {_routes(operation)} | {_cell(_answer(operation))} | "
                f"{_cell(_service_answer(operation))} | {_admin(operation)} |"
            )
        lines += ["", "<details><summary>Fields</summary>", ""]
        for operation in operations:
            lines.append(f"- **`{operation.service}`**: {_cell(operation.description)}")
            if not operation.fields:
                lines.append("  - no fields")
            lines += [_field_line(field) for field in operation.fields]
        lines += ["", "</details>", ""]
    count_routes = sum(len(operation.routes) for operation in OPERATIONS)
    lines.append(
        f"{len(OPERATIONS)} services (`{DOMAIN}.*`) and {count_routes} REST routes "
        "(add-on documentation forms included)."
    )
    return "\n".join(lines)


def updated_readme(current: str) -> str:
    """``current`` with the generated part replaced."""
    try:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError as error:
        raise SystemExit(f"README.md lacks the markers {BEGIN!r} and {END!r}") from error
    return f"{head}{BEGIN}\n{render_reference()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite or check README.md."""
    parser = argparse.ArgumentParser(prog="script/gen_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = updated_readme(current)
    if args.check:
        if wanted != current:
            sys.stderr.write("README.md is stale: run script/gen_docs\n")
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted, encoding="utf-8")
        sys.stderr.write("README.md updated\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
