"""schemathesis hooks for tests/schemathesis/run.sh (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key must be unique per request (draft-ietf-httpapi-idempotency-key-header):
a repeat with the same key is answered with the first answer again, and with another
payload it is refused with 422. No schema can say "unique", and schemathesis draws short
keys such as "0" again and again, so in a positive case a key is replaced by a new UUID.
Negative cases keep what was drawn, so the emulator's 400 for an empty or overlong key
is still tested.
"""

import uuid

import schemathesis

HEADER = "idempotency-key"


# The maxLength the emulator's document gives the header (MAX_KEY_LEN).
MAX_LENGTH = 256


@schemathesis.hook
def before_call(context, case, **kwargs):
    # A negative case is left as drawn: changing it makes schemathesis check it again as
    # a positive one, and its missing-header cases would then be sent with the header.
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() != HEADER or not isinstance(value, str):
            continue
        if 1 <= len(value) <= MAX_LENGTH:
            headers[name] = str(uuid.uuid4())
