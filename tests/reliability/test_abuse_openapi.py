"""Requests generated from ``/api/whatsapp_web/openapi.json``, sent to a linked account.

Every operation of the document gets schema-valid requests (with real and made-up ids) and invalid
ones (wrong types, missing required fields, bodies that are not objects or not JSON, odd path
segments). Over 2,000 requests in all, bounded in time. No answer may be a 5xx, and every error is the
documented JSON naming the field it is about.

The generator is built here on Hypothesis strategies, from the document's JSON schemas:
schemathesis 4.10 and hypothesis-jsonschema 0.23 cannot draw with the installed Hypothesis 6.170
(both fail with ``'many' object has no attribute 'more'``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from custom_components.whatsapp_web.const import API_BASE, OPENAPI_PATH

from .support import record_figure

if TYPE_CHECKING:
    from .ha_support import Api

CASES_PER_OPERATION = 42
TIME_LIMIT = 150.0
# Errors that are about no field of the request: the account is not there, not connected, or its rate
# limit is used up.
FIELDLESS_CODES = frozenset(
    {
        "not_connected",
        "logged_out",
        "entry_not_loaded",
        "no_accounts",
        "send_rate_limited",
        "lookup_rate_limited",
    }
)

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "'\"`",
        "</script><script>window.__pwned=1</script>",
        "${window.__pwned=1}",
        "\x00",
        "a\x00b",
        "\u202e\u200f\u061c",
        "\U0001f600\u200d\U0001f469",
        "../../etc/passwd",
        "%2e%2e%2f",
        "x" * 5000,
        "null",
        "[]",
        "{}",
        "\ud7ff\ue000",
        "+34 600 11 22 33",
        "0034600112233",
        "123@g.us",
        "123@lid",
        "1-2@g.us",
        "true_1@c.us_ABC",
    ]
)
TEXT = st.one_of(st.text(max_size=40), ODD_TEXT)
ANY_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


def valid_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that match a JSON schema of the document (the subset it uses)."""
    kind = schema.get("type")
    if "const" in schema:
        return st.just(schema["const"])
    if kind == "string":
        return st.text(
            min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 60)
        ) | ODD_TEXT.filter(
            lambda text: schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", 10**9)
        )
    if kind == "boolean":
        return st.booleans()
    if kind in ("number", "integer"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if kind == "integer":
            return st.integers(min_value=low, max_value=high)
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "array":
        return st.lists(valid_value(schema.get("items", {})), max_size=4)
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {key: valid_value(sub) for key, sub in properties.items() if key in required},
            optional={
                key: valid_value(sub) for key, sub in properties.items() if key not in required
            },
        )
    return ANY_JSON


def invalid_body(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies that break the schema: wrong types per field, missing required, not an object."""
    properties = schema.get("properties", {})
    wrong_field = (
        st.sampled_from(sorted(properties)).flatmap(
            lambda key: st.builds(lambda value, key=key: {key: value}, ANY_JSON)
        )
        if properties
        else st.nothing()
    )
    return st.one_of(
        wrong_field,
        st.lists(ANY_JSON, max_size=3),
        TEXT,
        st.integers(),
        st.just(None),
        st.dictionaries(TEXT, ANY_JSON, max_size=4),
    )


@dataclass(frozen=True)
class GeneratedRequest:
    method: str
    template: str
    path_values: dict[str, str]
    query: dict[str, str]
    body: Any
    raw_body: str | None

    def url(self) -> str:
        path = self.template
        for key, value in self.path_values.items():
            path = path.replace("{" + key + "}", quote(value, safe=""))
        return API_BASE + path


def request_strategy(
    method: str, template: str, operation: dict[str, Any], real: dict[str, list[str]]
) -> st.SearchStrategy[GeneratedRequest]:
    path_names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
    query_params = [p for p in operation["parameters"] if p["in"] == "query"]
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    # Path segments: real ids of the account, made-up ones, odd text (never empty: that is another route).
    segment = st.one_of(
        st.sampled_from(sorted({value for values in real.values() for value in values})),
        st.text(min_size=1, max_size=40).filter(lambda text: text not in (".", "..")),
        ODD_TEXT.filter(lambda text: text not in ("", ".", "..")),
    )
    paths = st.fixed_dictionaries(dict.fromkeys(path_names, segment))
    query = st.fixed_dictionaries(
        {},
        optional={
            p["name"]: st.one_of(
                valid_value(p["schema"]).map(
                    lambda value: json.dumps(value) if not isinstance(value, str) else value
                ),
                TEXT,
            ).filter(lambda text: "\x00" not in text)
            for p in query_params
        },
    )
    if body_schema is None:
        bodies: st.SearchStrategy[tuple[Any, str | None]] = st.just((None, None)) | st.builds(
            lambda value: (value, None), ANY_JSON
        )
    else:
        bodies = st.one_of(
            valid_value(body_schema).map(lambda value: (value, None)),
            invalid_body(body_schema).map(lambda value: (value, None)),
            st.sampled_from(["{", "not json", "[1,", '{"msg": "\\ud800"}', "\x00"]).map(
                lambda raw: (None, raw)
            ),
        )
    return st.builds(
        lambda values, q, b: GeneratedRequest(method.upper(), template, values, q, b[0], b[1]),
        paths,
        query,
        bodies,
    )


def generate(
    document: dict[str, Any], real: dict[str, list[str]], per_operation: int
) -> list[GeneratedRequest]:
    """Draw ``per_operation`` requests for each operation of the document (deterministic seed)."""
    generated: list[GeneratedRequest] = []
    for template, methods in document["paths"].items():
        for method, operation in methods.items():
            strategy = request_strategy(method, template, operation, real)

            @settings(
                max_examples=per_operation,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def collect(request: GeneratedRequest) -> None:
                generated.append(request)

            collect()
    return generated


async def test_generated_requests_never_5xx_and_errors_name_a_field(
    api: Api, leak_guard: Any
) -> None:
    response = await api.admin.get(OPENAPI_PATH)
    document = await response.json()
    chats = await api.sim.control.chats()
    real = {
        "chats": [chat["id"] for chat in chats if not chat["is_group"]][1:4],
        "groups": [chat["id"] for chat in chats if chat["is_group"]],
    }
    requests = generate(document, real, CASES_PER_OPERATION)
    assert len(requests) >= 2000
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    server_errors: list[str] = []
    without_field: list[str] = []
    not_json: list[str] = []
    started = time.monotonic()
    sent = 0
    for request in requests:
        if time.monotonic() - started > TIME_LIMIT:
            break
        if isinstance(request.body, str):
            leak_guard.add("message body", request.body)
        kwargs: dict[str, Any] = {"params": request.query}
        if request.raw_body is not None:
            kwargs["data"] = request.raw_body.encode("utf-8", "surrogatepass")
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif request.body is not None:
            kwargs["json"] = request.body
        answer = await api.admin.request(request.method, request.url(), **kwargs)
        raw = await answer.read()
        sent += 1
        statuses[answer.status] += 1
        label = f"{request.method} {request.url()[:120]} {kwargs.get('json', kwargs.get('data'))!r:.120}"
        if answer.status >= 500:
            server_errors.append(f"{answer.status} {label}: {raw[:200]!r}")
        if answer.status < 400:
            continue
        try:
            error = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            # Home Assistant's HTTP layer answers before the views: its security filter refuses
            # suspicious URLs (400, e.g. '../' or '<script' in the query), the router answers 404/405
            # for URLs that match no route (e.g. '%2F' in a segment). Both are plain text.
            if answer.status not in (400, 404, 405) or raw.strip() not in (
                b"400: Bad Request",
                b"404: Not Found",
                b"405: Method Not Allowed",
            ):
                not_json.append(f"{answer.status} {label}: {raw[:120]!r}")
            codes[f"(HA http layer {answer.status})"] += 1
            continue
        codes[error["code"]] += 1
        if not error.get("field") and error["code"] not in FIELDLESS_CODES:
            without_field.append(f"{answer.status} {error['code']} {label}")
    elapsed = time.monotonic() - started
    record_figure(
        "generated requests (OpenAPI)",
        "requests / time / statuses",
        f"{sent} / {elapsed:.1f} s / {dict(sorted(statuses.items()))}",
    )
    record_figure("generated requests (OpenAPI)", "error codes", dict(codes.most_common()))
    assert sent >= 2000, f"only {sent} requests within {TIME_LIMIT} s"
    assert not server_errors, f"{len(server_errors)} 5xx answers, e.g. {server_errors[:5]}"
    assert not not_json, f"errors that are not the documented JSON: {not_json[:5]}"
    fieldless = Counter(line.split(" ", 2)[1] for line in without_field)
    record_figure(
        "generated requests (OpenAPI)", "errors without a field, by code", dict(fieldless) or "none"
    )
    assert not without_field, (
        f"{len(without_field)} errors without a field, by code {dict(fieldless)}: {without_field[:5]}"
    )
