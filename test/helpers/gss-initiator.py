#!/usr/bin/python3
"""Test-only GSSAPI initiator (MIT krb5 via Debian's python3-gssapi), JSON lines on stdin/stdout.

It stands in for a client binding that only has gss_wrap / gss_unwrap (RFC 4121 Wrap tokens with
RRC 0, the trailer after the data), so tests can prove src/auth/kerberos-wrap.ts's conversion to
Windows' layout against MIT's acceptor. Uses KRB5_CONFIG and KRB5CCNAME from its environment.

  {"id": 1, "op": "init", "target": "HTTP@localhost", "mech": "krb5" | "spnego",
   "ntlmUser"?: "PSRP\\alice", "password"?: "..."} -> {"token"}   (with ntlmUser: SPNEGO over NTLMSSP)
  {"id": 2, "op": "step", "token": "<b64>"} -> {"token", "complete"}
  {"id": 3, "op": "wrap", "data": "<b64>"} -> {"token"}     (gss_wrap, confidentiality)
  {"id": 4, "op": "unwrap", "token": "<b64>"} -> {"data"}   (gss_unwrap)
"""
import base64
import json
import sys

import gssapi
import gssapi.raw

MECHS = {
    "krb5": gssapi.OID.from_int_seq("1.2.840.113554.1.2.2"),
    "spnego": gssapi.OID.from_int_seq("1.3.6.1.5.5.2"),
}
F = gssapi.RequirementFlag
NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
state = {}


def op(req):
    o = req["op"]
    if o == "init":
        creds = None
        if req.get("ntlmUser"):
            # SPNEGO offering only NTLMSSP, with a password (gss-ntlmssp as the initiator).
            creds = gssapi.raw.acquire_cred_with_password(
                gssapi.Name(req["ntlmUser"], gssapi.NameType.user),
                req["password"].encode(),
                usage="initiate",
                mechs=[MECHS["spnego"]],
            ).creds
            gssapi.raw.set_neg_mechs(creds, [NTLMSSP])
        ctx = gssapi.SecurityContext(
            name=gssapi.Name(req["target"], gssapi.NameType.hostbased_service),
            mech=MECHS[req["mech"]],
            usage="initiate",
            creds=creds,
            flags=F.mutual_authentication | F.confidentiality | F.integrity | F.out_of_sequence_detection,
        )
        state["ctx"] = ctx
        return {"token": base64.b64encode(ctx.step() or b"").decode()}
    ctx = state["ctx"]
    if o == "step":
        out = ctx.step(base64.b64decode(req["token"]))
        return {"token": base64.b64encode(out or b"").decode(), "complete": bool(ctx.complete)}
    if o == "wrap":
        return {"token": base64.b64encode(ctx.wrap(base64.b64decode(req["data"]), True).message).decode()}
    if o == "unwrap":
        return {"data": base64.b64encode(ctx.unwrap(base64.b64decode(req["token"])).message).decode()}
    raise ValueError("unknown op %s" % o)


for line in sys.stdin:
    req = json.loads(line)
    try:
        answer = op(req)
        answer["ok"] = True
    except Exception as e:
        answer = {"ok": False, "error": str(e)}
    answer["id"] = req["id"]
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
