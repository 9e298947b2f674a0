"""A Python hooks module that changes nothing: a template, and the benchmark's.

    ringload --plugin examples/python/noop.py http://127.0.0.1:8080/

Each hook gets a dict and returns it unchanged (the request is sent as rendered, the
verdict stays the status rule's). See README.md, "Python hooks".
"""


def handle_request(request):
    return request


def handle_response(response):
    return response
