"""schemathesis hooks for the partner caller of scripts/schemathesis.sh: signs
every request that carries the caller's placeholder credentials, the way a
partner platform does (API.md Conventions), over the exact bytes sent.

The caller's headers are `X-Partner-Id: $PARTNER_ID`, `X-Timestamp: 0` and
`X-Signature: sign-me`; only a request with all three untouched is signed. The signing happens at the last moment, on the prepared
request (a `requests` auth hook), so the signature covers the method, the path
with query and the body exactly as they go on the wire. A request whose
credentials schemathesis removed or replaced (the `ignored_auth` probes) is left
alone, so the server's refusal of it is what the check sees.
"""

import hashlib
import hmac
import itertools
import os
import time

import requests
import schemathesis

PARTNER_ID = os.environ["PARTNER_ID"]
SECRET = os.environ["PARTNER_SECRET"].encode()
PLACEHOLDER = "sign-me"
# Identical requests need different timestamps (each signature is accepted
# once): spread them over the 5-minute window around now.
_offsets = itertools.cycle(range(-120, 121))


class _Sign(requests.auth.AuthBase):
    def __call__(self, request):
        headers = request.headers
        placeholders = (
            headers.get("X-Partner-Id") == PARTNER_ID
            and headers.get("X-Timestamp") == "0"
            and headers.get("X-Signature") == PLACEHOLDER
        )
        if not placeholders:
            # schemathesis removed or changed a credential on purpose.
            return request
        timestamp = str(int(time.time()) + next(_offsets))
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        payload = "\n".join(
            [request.method, request.path_url, timestamp, hashlib.sha256(body).hexdigest()]
        )
        headers["X-Timestamp"] = timestamp
        headers["X-Signature"] = hmac.new(SECRET, payload.encode(), hashlib.sha256).hexdigest()
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = _Sign()
