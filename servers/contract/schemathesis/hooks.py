"""The contract's checks that OpenAPI cannot state, for schemathesis (run.sh loads this file).

Each one compares an answer with the request that was generated for it:
- /echo answers the message it was sent;
- /users/{id} answers that id and `user-<id>`;
- /queries and /updates answer as many rows as q counts (contract::query_count);
- every answer's Content-Type is the documented one exactly, charset included
  (schemathesis's own check compares type and subtype only);
- every answer's Server header names the server under test (ROSETTA_SERVER), or is the one
  its stack fixes (conformance::deviations, ServerHeader).

A pinned deviation of the server under test excuses exactly its answer, no more: the pins come
from data/cases.json, which the conformance suite writes from the Rust tables (its cases_file
test fails when the file is out of date), never from a copy here. Today that is may-minihttp's
`Server: M` and rocket's answer to QUERY (a method Rocket does not know): 400, without Server or
Allow, pinned by the conformance test an_unknown_method_is_answered_405_with_allow. schemathesis's
own unsupported_method check is off in schemathesis.toml and runs here, unless the answer is
that pin to the letter.
"""

import json
import os
import pathlib

import schemathesis
from schemathesis.specs.openapi.checks import unsupported_method

OPENAPI = pathlib.Path(__file__).resolve().parent.parent / "openapi.json"
DOCUMENT = json.loads(OPENAPI.read_text(encoding="utf-8"))
MAX_QUERIES = int((OPENAPI.parent / "data" / "max_queries.txt").read_text(encoding="ascii"))
SERVER = os.environ.get("ROSETTA_SERVER")
# The contract's rows and the pins of every server, written from the Rust tables.
TABLE = json.loads((OPENAPI.parent / "data" / "cases.json").read_text(encoding="utf-8"))
if SERVER is not None and SERVER not in TABLE["server_headers"]:
    raise RuntimeError(f"ROSETTA_SERVER={SERVER!r} is not a server of contract::SERVERS")
# The Server header the server under test answers with: its name, or the one its stack fixes.
SERVER_HEADER = TABLE["server_headers"].get(SERVER)
# How its stack answers a method it does not know, where that is pinned: method, status, differs.
UNKNOWN_METHOD = TABLE["unknown_method"].get(SERVER)
# The contract's 405, which an unknown method gets like any method a route does not allow.
METHOD_NOT_ALLOWED = next(c for c in TABLE["cases"] if c["name"] == "DELETE /json")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


# Unicode's White_Space, which Rust's str::trim and Go's strings.TrimSpace strip (Python's
# str.strip() also strips U+001C to U+001F, which they keep).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def query_count(q):
    """contract::query_count: missing, empty, not a whole number or below 1 is 1; above
    MAX_QUERIES, however many digits, is MAX_QUERIES."""
    text = (q or "").strip(WHITE_SPACE)
    digits = text[1:] if text.startswith("+") else text
    if text.startswith("-") or not digits or not all("0" <= c <= "9" for c in digits):
        return 1
    return min(max(int(digits), 1), MAX_QUERIES)


# The rule above must give what the document's examples say (the Rust test ties those
# examples to contract::QUERY_COUNT_TABLE): refuse to run otherwise.
for _example in DOCUMENT["components"]["parameters"]["q"]["examples"].values():
    if query_count(_example["value"]) != _example["x-rows"]:
        raise RuntimeError(f"hooks.py's query_count disagrees with openapi.json on q={_example['value']!r}")
if query_count(None) != 1:
    raise RuntimeError("a missing q counts as 1")


def _json(response):
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _path(case):
    return case.operation.path


@schemathesis.check
def echo_answers_the_message_sent(ctx, response, case):
    if _path(case) != "/echo" or case.method != "POST" or response.status_code != 200:
        return None
    body = case.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            raise AssertionError("200 for a body that is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise AssertionError(f"200 for a body without a string message: {body!r}")
    expected = {"message": body["message"]}
    if _json(response) != expected:
        raise AssertionError(f"echo answered {response.content[:200]!r}, not {json.dumps(expected)[:200]}")
    return None


@schemathesis.check
def users_answer_their_id(ctx, response, case):
    if _path(case) != "/users/{id}" or case.method != "GET" or response.status_code != 200:
        return None
    raw = str(case.path_parameters.get("id"))
    try:
        user_id = int(raw)
    except ValueError:
        raise AssertionError(f"200 for the id {raw!r}, which is not a number") from None
    expected = {"id": user_id, "name": f"user-{user_id}"}
    if _json(response) != expected:
        raise AssertionError(f"/users/{raw} answered {response.content[:200]!r}, not {json.dumps(expected)}")
    return None


@schemathesis.check
def rows_follow_q(ctx, response, case):
    if _path(case) not in ("/queries", "/updates") or case.method != "GET" or response.status_code != 200:
        return None
    q = (case.query or {}).get("q")
    if isinstance(q, (list, tuple, dict)):
        # Sent as several q= (or as a form): the contract says nothing of which one counts.
        return None
    if isinstance(q, bool):
        q = "true" if q else "false"
    elif q is not None and not isinstance(q, str):
        # A generated number reaches the wire as its text.
        q = str(q)
    rows = _json(response)
    expected = query_count(q)
    if not isinstance(rows, list) or len(rows) != expected:
        got = len(rows) if isinstance(rows, list) else "not a list"
        raise AssertionError(f"q={q!r} counts {expected} rows; the answer has {got}")
    return None


def _documented_content_types(case, status):
    responses = case.operation.definition.raw.get("responses", {})
    response = responses.get(str(status))
    if response is None:
        return None
    while "$ref" in response:
        node = DOCUMENT
        for part in response["$ref"].lstrip("#/").split("/"):
            node = node[part]
        response = node
    return set(response.get("content", {}))


def _header(response, name):
    value = response.headers.get(name)
    return value[0] if isinstance(value, list) and value else value


def _parts_that_differ_from_the_405(response, case):
    """The parts of an answer that differ from the contract's 405 for the path of `case`, named
    and ordered as conformance::differing_parts names them (Date aside: the conformance test
    that pins the deviation checks it)."""
    allowed = {m.upper() for m in DOCUMENT["paths"][_path(case)] if m in HTTP_METHODS}
    allow = {m.strip() for m in (_header(response, "allow") or "").split(",") if m.strip()}
    parts = [
        ("status", METHOD_NOT_ALLOWED["status"] == response.status_code),
        ("content-type", METHOD_NOT_ALLOWED["content_type"] == _header(response, "content-type")),
        ("content-length", str(METHOD_NOT_ALLOWED["content_length"]) == _header(response, "content-length")),
        ("server", SERVER_HEADER == _header(response, "server")),
        ("body", METHOD_NOT_ALLOWED["body"].encode() == response.content),
        ("allow", allowed == allow),
    ]
    return [name for name, same in parts if not same]


def _is_the_pinned_unknown_method_answer(response, case):
    """Whether `response` is, to the letter, the pinned answer of the server's stack to a method
    it does not know: that method, that status, exactly those parts differing."""
    return (
        UNKNOWN_METHOD is not None
        and response.request.method == UNKNOWN_METHOD["method"]
        and response.status_code == UNKNOWN_METHOD["status"]
        and _parts_that_differ_from_the_405(response, case) == UNKNOWN_METHOD["differs"]
    )


@schemathesis.check
def unsupported_method_unless_pinned(ctx, response, case):
    """schemathesis's unsupported_method (405 with Allow for an undocumented method), except for
    the pinned answer to a method the stack does not know."""
    if _is_the_pinned_unknown_method_answer(response, case):
        return None
    return unsupported_method(ctx, response, case)


@schemathesis.check
def content_type_is_exactly_the_documented_one(ctx, response, case):
    if response.request.method != case.operation.method.upper():
        # An undocumented method (the coverage phase's), answered 405 or, by the routers that
        # answer OPTIONS themselves, 200 without a body: no documented answer to compare.
        return None
    documented = _documented_content_types(case, response.status_code)
    if not documented:
        return None
    received = _header(response, "content-type")
    if received not in documented:
        raise AssertionError(f"Content-Type {received!r}; the contract says {' or '.join(sorted(documented))}")
    return None


@schemathesis.check
def server_header_names_the_server(ctx, response, case):
    if SERVER is None or _is_the_pinned_unknown_method_answer(response, case):
        return None
    got = _header(response, "server")
    if got != SERVER_HEADER:
        raise AssertionError(f"Server: {got!r}, not {SERVER_HEADER!r}")
    return None
