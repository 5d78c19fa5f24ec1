# A tiny GSS-API acceptor for interop tests: MIT krb5's mechglue and SPNEGO with gss-ntlmssp
# (Debian: python3-gssapi gss-ntlmssp), driven over stdin/stdout, one JSON object per line.
# NTLM users come from the file named by NTLM_USER_FILE (DOMAIN:user:password lines).
#
#   argv[1]: "spnego" (acceptor credentials for the SPNEGO mech only) or "default"
#            (GSS_C_NO_CREDENTIAL: the mechglue picks the mechanism from the token)
#   in:  {"op": "step", "token": b64} | {"op": "wrap", "data": b64} | {"op": "unwrap", "data": b64}
#   out: {"ok": true, ...} or {"ok": false, "error": "..."}; first line {"ready": true, "mechs": [...]}
import base64
import json
import sys

try:
    import gssapi
except ImportError as e:  # reported to the test, which fails naming the packages
    print(json.dumps({"ready": False, "error": f"python3-gssapi missing: {e}"}), flush=True)
    sys.exit(0)

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
mechs = sorted(str(m.dotted_form) for m in gssapi.raw.indicate_mechs())
if "1.3.6.1.4.1.311.2.2.10" not in mechs:
    print(json.dumps({"ready": False, "error": "gss-ntlmssp mech not registered", "mechs": mechs}), flush=True)
    sys.exit(0)

mode = sys.argv[1] if len(sys.argv) > 1 else "spnego"
creds = gssapi.Credentials(usage="accept", mechs=[SPNEGO]) if mode == "spnego" else None
ctx = gssapi.SecurityContext(creds=creds, usage="accept")
print(json.dumps({"ready": True, "mechs": mechs}), flush=True)

b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731

for line in sys.stdin:
    req = json.loads(line)
    try:
        op = req["op"]
        if op == "step":
            out = ctx.step(base64.b64decode(req["token"]))
            res = {"token": b64(out) if out else None, "complete": ctx.complete}
            if ctx.complete:
                res["mech"] = str(ctx.mech.dotted_form)
                res["initiator"] = str(ctx.initiator_name)
        elif op == "wrap":
            res = {"data": b64(ctx.wrap(base64.b64decode(req["data"]), True).message)}
        elif op == "unwrap":
            r = ctx.unwrap(base64.b64decode(req["data"]))
            res = {"data": b64(r.message), "encrypted": r.encrypted}
        else:
            raise ValueError(f"unknown op {op}")
        res["ok"] = True
    except Exception as e:  # noqa: BLE001 - every failure goes back to the test
        res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(res), flush=True)
