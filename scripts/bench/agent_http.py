"""JSON over HTTP to a Drover agent, for the benchmark tools beside this file."""

import json
import urllib.request


def http(method, url, body=None):
    """The reply's parsed JSON (None when empty); raises on an error status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None
