"""Signs every request, as examples/plugins/sign.c does:

    X-Request-Id: SHARD-SEQ   unique in the run (the shard, its request count)
    X-Signature:  hex(HMAC-SHA256(KEY, METHOD " " TARGET "\\n" X-Request-Id "\\n" BODY))

    ringload --plugin examples/python/sign.py:KEY -f requests.jsonl

KEY is the plugin's argument (ARGS: everything after the first ':' past ".py"); the module
refuses to load without one. finish() reports how many requests it signed.
"""
import hashlib
import hmac

if not ARGS:  # noqa: F821 - ARGS is set by ringload before the module runs
    raise ValueError("sign.py needs a key: --plugin sign.py:KEY")
KEY = ARGS.encode()  # noqa: F821

signed = 0


def handle_request(request):
    global signed
    rid = f"{request['shard']}-{request['seq']}"
    message = f"{request['method']} {request['target']}\n{rid}\n".encode() + request["body"]
    request["headers"]["X-Request-Id"] = rid
    request["headers"]["X-Signature"] = hmac.new(KEY, message, hashlib.sha256).hexdigest()
    signed += 1
    return request


def finish():
    return {"signed": signed}
