"""Fails responses whose JSON body says "ok": false, as examples/plugins/json_ok.c does:

    ringload --plugin examples/python/check_json.py http://127.0.0.1:8080/api

A JSON object body with "ok": false at its top level fails with label "ok:false"; one
with "ok": true gets "ok:true"; a body that is no JSON object, or has no "ok", keeps its
verdict and gets "no-json" or "no-ok". finish() reports the counts. Bodies are read up to
BODY_LIMIT bytes (64 KiB here; ringload's default for Python hooks is 1 MiB): a longer
one is cut and fails to parse ("no-json").
"""
import json

BODY_LIMIT = 64 * 1024
counts = {"ok_true": 0, "ok_false": 0, "no_json": 0, "no_ok": 0}


def handle_response(response):
    try:
        doc = json.loads(response["body"])
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        counts["no_json"] += 1
        response["label"] = "no-json"
    elif "ok" not in doc:
        counts["no_ok"] += 1
        response["label"] = "no-ok"
    elif doc["ok"] is False:
        counts["ok_false"] += 1
        response["ok"] = False
        response["label"] = "ok:false"
    else:
        counts["ok_true"] += 1
        response["label"] = "ok:true"
    return response


def finish():
    return dict(counts)
