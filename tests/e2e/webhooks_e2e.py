#!/usr/bin/env python3
"""Webhooks end to end: `gridcase serve` on the embedded log with two webhooks in its
config, a flood reported over HTTP, and a local receiver.

- The county's hook answers 503 twice, then 200: both notifications of the flood (county
  and village are told at once) arrive, signed (HMAC-SHA256 of "timestamp.body"), the
  first after two retries with the same delivery id.
- The village's hook always answers 503: after its 2 attempts the notification is a dead
  letter (reason webhook_failed) in the embedded log's dead-letter topic.
- SIGTERM stops serve cleanly; a restart does not send anything again.

Usage: webhooks_e2e.py GRIDCASE REPO_ROOT
"""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SECRET = "e2e-秘密"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        self.lock = threading.Condition()
        self.got = []  # (path, headers, body, status answered)
        self.fail_first = {"/county": 2}
        super().__init__(("127.0.0.1", 0), Handler)

    def wait(self, pred, timeout=120):
        with self.lock:
            if not self.lock.wait_for(lambda: pred(self.got), timeout):
                raise SystemExit(f"FAIL: receiver waited {timeout}s; got {len(self.got)} requests")
            return list(self.got)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        with srv.lock:
            seen = sum(1 for g in srv.got if g[0] == self.path)
            if self.path == "/village":
                status = 503
            else:
                status = 503 if seen < srv.fail_first.get(self.path, 0) else 200
            srv.got.append((self.path, dict(self.headers), body, status))
            srv.lock.notify_all()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    gridcase, root = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="gridcase-webhooks-e2e-")
    rx = Receiver()
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    rx_url = f"http://127.0.0.1:{rx.server_address[1]}"
    port = free_port()
    state = os.path.join(work, "state")
    config = os.path.join(work, "gridcase.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(f"""org: {root}/config/org.yaml
workflows: {root}/workflows
state_dir: {state}
http:
  listen: "127.0.0.1:{port}"
webhooks:
  - unit: zhiduo
    url: {rx_url}/county
    secret_env: GRIDCASE_E2E_WEBHOOK_SECRET
    retry_base_ms: 20
  - unit: jjbl-c1
    url: {rx_url}/village
    secret: other
    max_attempts: 2
    retry_base_ms: 20
""")
    env = dict(os.environ, GRIDCASE_E2E_WEBHOOK_SECRET=SECRET)
    try:
        token = subprocess.run(
            [gridcase, "token", "add", "--person", "w-0001", "--org", f"{root}/config/org.yaml",
             "--state-dir", state], check=True, capture_output=True, text=True).stdout.strip().split()[-1]

        def start():
            p = subprocess.Popen([gridcase, "serve", "--config", config], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in p.stdout:  # the log says when the HTTP API is up
                if "HTTP" in line and "127.0.0.1" in line:
                    break
            else:
                raise SystemExit("FAIL: serve ended before its HTTP API started")
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p

        serve = start()
        report = {"report_id": "flood-1", "grid": "jjbl-c1-g01", "category": "flood",
                  "severity": 4, "text": "河水漫过便桥", "household": "hh-7"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/reports",
                                     data=json.dumps(report).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 202, r.status

        got = rx.wait(lambda g: sum(1 for x in g if x[0] == "/county" and x[3] == 200) >= 2
                      and sum(1 for x in g if x[0] == "/village") >= 2)
        county = [g for g in got if g[0] == "/county"]
        assert [g[3] for g in county] == [503, 503, 200, 200], [g[3] for g in county]
        ids = [g[1]["X-Gridcase-Delivery"] for g in county]
        assert ids[0] == ids[1] == ids[2] != ids[3], ids  # retries keep the delivery id
        targets = set()
        for path, headers, body, _ in county:
            sig = hmac.new(SECRET.encode(), headers["X-Gridcase-Timestamp"].encode() + b"." + body,
                           hashlib.sha256).hexdigest()
            assert headers["X-Gridcase-Signature"] == "sha256=" + sig, "bad signature"
            ev = json.loads(body)
            assert ev["type"] == "notified" and ev["workflow"] == "emergency", ev
            targets.add(ev["target_unit"])
        assert targets == {"zhiduo", "jjbl-c1"}, targets

        # The figures in /metrics (the village's dead letter may still be on its way).
        def metrics():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                return {l.split()[0]: float(l.split()[1]) for l in r.read().decode().splitlines()
                        if l and not l.startswith("#")}
        # The receiver counts a request before it answers; the dispatcher counts it after:
        # wait (bounded) until the dispatcher is done with everything it matched.
        deadline = time.monotonic() + 60
        while True:
            m = metrics()
            if (m["gridcase_webhook_pending"] == 0 and m["gridcase_webhook_deliveries_total"] >= 2
                    and m["gridcase_webhook_dead_letters_total"] >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # between two reads of the figures, not instead of a signal
        assert m["gridcase_webhook_deliveries_total"] == 2, m
        assert m["gridcase_webhook_dead_letters_total"] == 1, m
        assert m["gridcase_webhook_failed_attempts_total"] >= 3, m  # 2 county + 1..2 village
        assert "gridcase_pending_timers_estimate" in m and "gridcase_cases_estimate" in m, m
        # The flood is the one open case, at the township (emergencies go straight there).
        open_cases = {k: v for k, v in m.items() if k.startswith("gridcase_open_cases{") and v}
        assert open_cases == {'gridcase_open_cases{level="township"}': 1.0}, open_cases

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0, "serve did not stop cleanly"
        # Restarted: nothing is sent again (the cursor file kept the position).
        n = len(rx.got)
        serve = start()
        serve.send_signal(signal.SIGTERM)
        rc = serve.wait(timeout=30)
        assert rc == 0, f"restarted serve ended with {rc}"
        assert len(rx.got) == n, f"sent again after a restart: {rx.got[n:]}"

        dl = subprocess.run([gridcase, "tail", "--state-dir", state, "--topic",
                             "gridcase.dead-letter", "--from-beginning"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
        dead = [json.loads(x) for x in dl if x.strip()]
        village = [d for d in dead if d.get("reason") == "webhook_failed"]
        assert len(village) == 1, dead
        d = village[0]
        assert d["webhook"]["url"] == f"{rx_url}/village" and d["attempts"] == 2, d
        assert json.loads(d["payload"])["target_unit"] == "jjbl-c1", d
        print(f"ok: {len(county)} county requests (2 retried), village dead-lettered: {d['error']}")
    finally:
        rx.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
