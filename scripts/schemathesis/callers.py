#!/usr/bin/env python3
"""Creates the callers of the schemathesis run through the public API, the way an
app would (sandbox inbox for the emailed and texted codes), and prints them as
shell assignments:

    PARTICIPANT_TOKEN=...   a participant with a card: registered, selected in a wave
    ADMIN_TOKEN=...         the admin made by `prakerja-api admin create`
    PARTNER_ID=...          a partner platform made by that admin,
    PARTNER_SECRET=...      and its HMAC secret (partner_signing.py signs with it)

Usage: callers.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

Standard library only, so it runs with any Python 3.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

BASE = sys.argv[1].rstrip("/")
ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[2], sys.argv[3]

# Not the documents' example addresses (budi@example.com): the fuzzer sends
# those, and must not lock or change the callers' own accounts.
PARTICIPANT_EMAIL = "fuzz.participant@prakerja.test"
PARTICIPANT_PASSWORD = "sepeda ontel merah jambu"
NIK = "3174055704950001"  # female, born 1995-04-17 (simulated registry)
KK = "3174050101090001"
DATE_OF_BIRTH = "1995-04-17"
PHONE = "+6281299990001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x07" * 2040


def call(method, path, body=None, token=None, raw=None, content_type=None, expect=(200,)):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        sys.exit(f"callers: {method} {path} answered {status}: {text}")
    return json.loads(text) if text else None


def last_message(recipient, template):
    query = urllib.parse.urlencode({"recipient": recipient, "limit": 100})
    for message in call("GET", f"/v1/sandbox/notifications?{query}")["data"]:
        if message["template"] == template:
            return message["data"]
    sys.exit(f"callers: no {template} message for {recipient}")


def login(email, password):
    challenge = call("POST", "/v1/auth/login", {"email": email, "password": password})
    code = last_message(email, "login_otp")["code"]
    pair = call(
        "POST",
        "/v1/auth/login/verify",
        {"challenge_id": challenge["challenge_id"], "code": code},
    )
    return pair["access_token"]


def participant_with_card(admin):
    call(
        "POST",
        "/v1/accounts",
        {"email": PARTICIPANT_EMAIL, "password": PARTICIPANT_PASSWORD},
        expect=(201,),
    )
    token = last_message(PARTICIPANT_EMAIL, "email_verification")["token"]
    call("POST", "/v1/accounts/email-verification", {"token": token})
    me = login(PARTICIPANT_EMAIL, PARTICIPANT_PASSWORD)
    call(
        "PUT",
        "/v1/me/identity",
        {"nik": NIK, "kk_number": KK, "date_of_birth": DATE_OF_BIRTH},
        token=me,
    )
    call(
        "PUT",
        "/v1/me/profile",
        {
            "address": f"JL. PERCOBAAN NO. {NIK[12:]}",
            "domicile_province_code": "31",
            "domicile_regency_code": "3174",
            "education_level": "sma",
            "in_formal_education": False,
            "occupation": "unemployed",
            "employment_status": "laid_off",
        },
        token=me,
    )
    call("PUT", "/v1/me/ktp-photo", raw=PNG, content_type="image/png", token=me, expect=(204,))
    call("POST", "/v1/me/face-enrollment", raw=PNG, content_type="image/png", token=me)
    call(
        "PUT",
        "/v1/me/questionnaire",
        {"motivation": "Ingin bekerja", "preferred_skills": ["menjahit"]},
        token=me,
    )
    challenge = call("PUT", "/v1/me/phone", {"phone": PHONE}, token=me, expect=(202,))
    code = last_message(PHONE, "phone_otp")["code"]
    call(
        "POST",
        "/v1/me/phone/verify",
        {"challenge_id": challenge["challenge_id"], "code": code},
        token=me,
    )
    call("PUT", "/v1/me/statement", {"agreed": True}, token=me)
    test = call("GET", "/v1/aptitude-test")
    answers = [
        {"question_id": q["id"], "option": q["options"][0]["id"]} for q in test["questions"]
    ]
    call("POST", "/v1/aptitude-test/submissions", {"answers": answers}, token=me, expect=(201,))

    # A wave that opens in an hour and closes a day later; the sandbox clock
    # moves into it to apply, then past it to select, then back to real time.
    now = datetime.now(timezone.utc)
    opens, closes = now + timedelta(hours=1), now + timedelta(days=1)
    wave = call(
        "POST",
        "/v1/admin/batches",
        {
            "name": "Gelombang Uji Skema",
            "opens_at": opens.isoformat(),
            "closes_at": closes.isoformat(),
            "quota": 10,
        },
        token=admin,
        expect=(201,),
    )
    call("PUT", "/v1/sandbox/clock", {"now": (opens + timedelta(minutes=5)).isoformat()})
    call("POST", f"/v1/batches/{wave['id']}/applications", token=me, expect=(201,))
    call("PUT", "/v1/sandbox/clock", {"now": (closes + timedelta(minutes=5)).isoformat()})
    result = call("POST", f"/v1/admin/batches/{wave['id']}/selection", token=admin)
    if result["selected"] != 1:
        sys.exit(f"callers: the participant was not selected: {result}")
    call("DELETE", "/v1/sandbox/clock")
    call("GET", "/v1/me/card", token=me)
    return me


admin = login(ADMIN_EMAIL, ADMIN_PASSWORD)
participant = participant_with_card(admin)
print(f"PARTICIPANT_TOKEN={participant}")
print(f"ADMIN_TOKEN={admin}")
# A partner platform: its requests are signed per request by partner_signing.py.
partner = call("POST", "/v1/admin/partners", {"name": "Platform Uji Skema"}, token=admin, expect=(201,))
print(f"PARTNER_ID={partner['partner_id']}")
print(f"PARTNER_SECRET={partner['secret']}")
