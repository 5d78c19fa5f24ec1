#!/usr/bin/python3
"""GSSAPI acceptor for the psrp lab (a test double, not a server component).

Run with /usr/bin/python3 and Debian's python3-gssapi. The lab (src/lab/gss-acceptor.ts) starts it
and speaks JSON lines over stdin/stdout, one request per line, one answer per line:

  {"id": 1, "op": "accept", "ctx": "c1", "scheme": "Negotiate", "token": "<base64>"}
    -> {"id": 1, "ok": true, "token": "<base64 or empty>", "complete": bool,
        "user": "alice@PSRP.TEST" (when complete), "mech": "krb5" | "ntlm" | ..., "spnego": bool}
  {"id": 2, "op": "wrap", "ctx": "c1", "data": "<base64>"}  -> {"header": "<b64>", "data": "<b64>"}
  {"id": 3, "op": "unwrap", "ctx": "c1", "header": "<b64>", "data": "<b64>"} -> {"data": "<b64>"}
  {"id": 4, "op": "drop", "ctx": "c1"} -> {}
  Any failure: {"id": n, "ok": false, "error": "<GSSAPI text>", "major": int, "minor": int}
  (a failed accept also drops the context).

Mechanisms, by HTTP scheme:
  Negotiate -> SPNEGO (1.3.6.1.5.5.2; MIT picks krb5 or NTLMSSP inside), except that a raw NTLMSSP
               token (bytes "NTLMSSP\\0") goes to the NTLMSSP mech (1.3.6.1.4.1.311.2.2.10) directly,
               as Windows' Negotiate package accepts raw NTLM. MIT's SPNEGO acceptor does not take a
               raw NTLMSSP token itself (with a SPNEGO-only credential it fails "No credentials were
               supplied"); the mechglue routes such a token to NTLMSSP when the credential covers it.
  NTLM      -> NTLMSSP (gss-ntlmssp; users from NTLM_USER_FILE).
            A GSS-framed raw krb5 token under Negotiate (as requests-kerberos sends) goes to krb5.
  Kerberos  -> krb5 (1.2.840.113554.1.2.2; keys from KRB5_KTNAME).

Message layout, as Windows (MS-WSMV 2.2.9.1.1.2.2: the header = signature / token header, then the
encrypted data):
  NTLM: gss-ntlmssp's gss_wrap emits the 16-byte NTLMSSP_MESSAGE_SIGNATURE followed by the sealed
        bytes; header = the first 16 bytes, data = the rest (and the reverse on unwrap).
  krb5: gss_wrap_iov with HEADER | DATA | PADDING (RFC 4121 4.2.4 with the trailer rotated into the
        header, RRC = 28 for AES-SHA1: 16-byte token header + 16-byte encrypted confounder + 16-byte
        encrypted header copy + 12-byte HMAC = a 60-byte header; the data keeps its length) and
        gss_unwrap_iov with HEADER | DATA, so a client that sends another layout (RRC 0, a trailer
        after the data) fails.
  SPNEGO-negotiated contexts use the layout of the mech inside.
"""
import base64
import json
import sys

try:
    import gssapi
    import gssapi.raw as graw
    from gssapi.raw import IOV, IOVBufferType
except ImportError as e:  # pragma: no cover - reported to the lab as a startup failure
    sys.stdout.write(json.dumps({"id": 0, "ok": False, "error": "python3-gssapi is missing (apt-get install python3-gssapi): %s" % e}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
MECH_NAMES = {KRB5.dotted_form: "krb5", NTLMSSP.dotted_form: "ntlm", SPNEGO.dotted_form: "spnego"}

contexts = {}
creds = {}


def cred_for(mech):
    c = creds.get(mech.dotted_form)
    if c is None:
        c = gssapi.Credentials(usage="accept", mechs=[mech])
        creds[mech.dotted_form] = c
    return c


def b64(data):
    return base64.b64encode(data or b"").decode("ascii")


def unb64(text):
    return base64.b64decode(text or "")


def mech_of(ctx):
    try:
        m = ctx.mech
    except Exception:
        return None
    return MECH_NAMES.get(m.dotted_form, m.dotted_form) if m is not None else None


KRB5_DER = bytes.fromhex("2a864886f712010202")


def framed_oid(token):
    """The mech OID (DER content) of an RFC 2743 3.1 InitialContextToken, or None."""
    if len(token) < 4 or token[0] != 0x60:
        return None
    i = 2
    if token[1] & 0x80:
        i += token[1] & 0x7F
    if i + 2 > len(token) or token[i] != 0x06:
        return None
    return token[i + 2 : i + 2 + token[i + 1]]


def accept(req):
    token = unb64(req["token"])
    entry = contexts.get(req["ctx"])
    if entry is None:
        scheme = req.get("scheme", "Negotiate").lower()
        if scheme == "kerberos":
            mech = KRB5
        elif scheme == "ntlm" or token.startswith(b"NTLMSSP\0"):
            mech = NTLMSSP
        elif framed_oid(token) == KRB5_DER:
            # A raw krb5 token under Negotiate (as requests-kerberos sends): Windows takes it too.
            mech = KRB5
        else:
            mech = SPNEGO
        entry = {"ctx": gssapi.SecurityContext(usage="accept", creds=cred_for(mech)), "spnego": mech == SPNEGO}
        contexts[req["ctx"]] = entry
    ctx = entry["ctx"]
    try:
        out = ctx.step(token)
    except Exception:
        contexts.pop(req["ctx"], None)
        raise
    answer = {"token": b64(out), "complete": bool(ctx.complete), "spnego": entry["spnego"]}
    if ctx.complete:
        # gss-ntlmssp's display name ends with a NUL byte ("PSRP\\alice\0"): strip it.
        answer["user"] = str(ctx.initiator_name).rstrip("\0")
        answer["mech"] = mech_of(ctx)
        entry["mech"] = answer["mech"]
    return answer


def established(req):
    entry = contexts.get(req["ctx"])
    if entry is None or not entry["ctx"].complete:
        raise ValueError("no established context %s" % req["ctx"])
    return entry


def wrap(req):
    entry = established(req)
    ctx = entry["ctx"]
    data = unb64(req["data"])
    if entry["mech"] == "krb5":
        iov = IOV(IOVBufferType.header, data, IOVBufferType.padding, std_layout=False)
        graw.wrap_iov(ctx, iov, True)
        padding = iov[2].value or b""
        return {"header": b64(iov[0].value), "data": b64(iov[1].value + padding)}
    sealed = ctx.wrap(data, True).message
    if entry["mech"] == "ntlm":
        return {"header": b64(sealed[:16]), "data": b64(sealed[16:])}
    raise ValueError("no Windows layout known for mech %s" % entry["mech"])


def unwrap(req):
    entry = established(req)
    ctx = entry["ctx"]
    header = unb64(req["header"])
    data = unb64(req["data"])
    if entry["mech"] == "krb5":
        iov = IOV((IOVBufferType.header, False, header), (IOVBufferType.data, False, data), std_layout=False)
        graw.unwrap_iov(ctx, iov)
        return {"data": b64(iov[1].value)}
    if entry["mech"] == "ntlm":
        if len(header) != 16:
            raise ValueError("an NTLM signature has 16 bytes, got %d" % len(header))
        return {"data": b64(ctx.unwrap(header + data).message)}
    raise ValueError("no Windows layout known for mech %s" % entry["mech"])


def drop(req):
    contexts.pop(req["ctx"], None)
    return {}


OPS = {"accept": accept, "wrap": wrap, "unwrap": unwrap, "drop": drop}


def main():
    sys.stdout.write(json.dumps({"id": 0, "ok": True, "ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            answer = OPS[req["op"]](req)
            answer["ok"] = True
        except gssapi.exceptions.GSSError as e:
            answer = {"ok": False, "error": str(e), "major": int(e.maj_code), "minor": int(e.min_code)}
        except Exception as e:  # malformed request, unknown context
            answer = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        answer["id"] = req.get("id")
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
