"""Schemathesis hooks for scripts/check-api.

Two things a schema cannot state, and what the run does about them:

1. An `Idempotency-Key` is remembered per token for 24 hours: the same key
   with another method, path or body is refused with 422
   `idempotency_key_reused` (as the IETF draft for the header says). A
   generator that knows nothing of earlier requests reuses keys (the empty
   boundary values, the documented example) across operations. Before each
   call, a key already sent with another request is given a fresh suffix, so
   the header's own rules (1 to 255 visible ASCII characters) are still
   exercised and every request is really executed. Replays of one request
   keep their key.

2. Some refusals depend on the world or on other records, not on the
   request's shape: REFUSALS_BEYOND_THE_SCHEMA below lists each error code,
   with why. A schema-valid request refused with one of those codes is not a
   failure; any other refusal of a schema-valid request is.
"""

import json
import os
import uuid

import schemathesis

# error.code -> why no schema can say it in advance.
REFUSALS_BEYOND_THE_SCHEMA = {
    # The URL's host is an address (or resolves only to addresses) that
    # deliveries may never reach: loopback, private, link-local, ...
    "webhook_url_forbidden": "address policy, decided by DNS",
    # A domain already held, a path already linked, a username taken: the
    # state of other records.
    "hostname_taken": "another domain holds the hostname",
    "domain_exists": "the account already has the domain",
    "path_taken": "another link has the path",
    "username_taken": "another account has the username",
    # A username once used stays retired; an account deleted stays deleted.
    "username_retired": "a deleted account held the username",
    "account_deleted": "the account was deleted by an earlier call",
    # Deleting an account asks for its username, which only the state knows.
    "confirmation_mismatch": "`confirm` must be the account's username",
    # A token's expiry is checked against the clock: in the future, and at
    # most 366 days ahead.
    "token_expiry_past": "depends on the time of the request",
    "token_expiry_too_far": "depends on the time of the request",
    # Quotas count what the account already holds.
    "quota_exceeded": "what the account already holds",
    # A cursor is opaque: only one this API handed out names a place.
    "invalid_cursor": "a cursor comes from an earlier answer",
    # Domain Connect's return: the state is signed by the platform, expires,
    # and is taken once.
    "invalid_state": "a state comes from an earlier answer, signed",
    "state_expired": "depends on the time of the request",
    "state_used": "a state is taken once",
    # A bare domain by address: only a root has one (the domain's kind is
    # the state of the domain), only where the platform configured its
    # addresses (the run configures none), and the apex as the main address
    # only with it by address (stated in the operation's description).
    "apex_not_root": "the domain is a subdomain",
    "apex_addresses_not_offered": "the platform's apex_addresses setting",
    "apex_main_needs_addresses": "main_address apex needs setup addresses",
}

_seen: dict[tuple[str, str], str] = {}


def _header_name(headers, wanted):
    for name in headers or {}:
        if name.lower() == wanted:
            return name
    return None


@schemathesis.hook
def before_call(context, case, **kwargs):
    name = _header_name(case.headers, "idempotency-key")
    if name is None:
        return
    key = case.headers[name]
    if not isinstance(key, str):
        return
    signature = json.dumps(
        [case.method.upper(), case.formatted_path, case.query, case.body],
        sort_keys=True,
        default=str,
    )
    token = _header_name(case.headers, "authorization")
    scope = (case.headers.get(token, "") if token else "", key)
    first = _seen.setdefault(scope, signature)
    if first != signature:
        fresh = f"{key}-{uuid.uuid4().hex}"
        if len(fresh) > 255 or not fresh.isascii():
            fresh = uuid.uuid4().hex
        case.headers[name] = fresh
        _seen[(scope[0], fresh)] = signature


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if response is None or not 400 <= response.status_code < 500:
        return True
    if "rejected" not in failure.title.lower():
        return True
    try:
        code = response.json()["error"]["code"]
    except Exception:
        return True
    if code not in REFUSALS_BEYOND_THE_SCHEMA:
        return True
    # scripts/check-api prints how many refusals each code explained.
    log = os.environ.get("PORTICO_CHECK_FILTERED_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{code} {case.method.upper()} {case.path}\n")
    return False
