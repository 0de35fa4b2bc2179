#!/usr/bin/env python3
"""The workflow lifecycle against a running `gridcase serve` (embedded log, single node):

- a workflow file edited in the watched workflows directory becomes the next version
  while serve runs (validated first); an invalid edit is refused with its location, the
  live version stays and the refusal is on record;
- a case opened on v1 keeps v1; a new case opens on v2;
- `gridcase migrate` while serve runs: the dry run reads the engine's state beside it; the
  real one is handed to the engine, which moves the case between two batches and publishes
  the `migrated` event on the case-events topic; the command prints the engine's report;
- `gridcase migrate` on the stopped engine: its events wait in the stored outbox and the
  next start publishes them.

Usage: lifecycle_e2e.py GRIDCASE REPO_ROOT
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def workflow(remind, goto="closed"):
    return f"""apiVersion: gridcase/v1
kind: Workflow
name: small
levels: [grid, village, township, county]
sla:
  grid: 24h
initial: handling
states:
  handling:
    sla: true
    timers:
      - {{ after: {remind}, event: remind, repeat: true }}
    on:
      opened: {{}}
      remind: {{}}
      resolve: {{ goto: {goto} }}
      sla_expired: {{ level: up }}
  closed:
    final: true
"""


class Serve:
    """serve as a child process; its log lines collected so a test can wait for one."""

    def __init__(self, gridcase, config):
        self.cond = threading.Condition()
        self.lines = []
        self.p = subprocess.Popen([gridcase, "serve", "--config", config],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # ended
            self.cond.notify_all()

    def wait_for(self, pattern, after=0, timeout=60):
        """The first log line from index `after` on that matches; fails on timeout or exit."""
        rx = re.compile(pattern)
        def find():
            for i in range(after, len(self.lines)):
                if self.lines[i] is None:
                    return -1
                if rx.search(self.lines[i]):
                    return i
            return None
        with self.cond:
            if not self.cond.wait_for(lambda: find() is not None, timeout):
                raise SystemExit(f"FAIL: no log line /{pattern}/ in {timeout}s:\n" +
                                 "\n".join(l for l in self.lines if l))
            i = find()
            if i < 0:
                raise SystemExit(f"FAIL: serve ended before /{pattern}/:\n" +
                                 "\n".join(l for l in self.lines if l))
            return i

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        assert rc == 0, f"serve ended with {rc}"


def main():
    gridcase, root = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="gridcase-lifecycle-e2e-")
    org = f"{root}/config/org.yaml"
    wf_dir = os.path.join(work, "workflows")
    state = os.path.join(work, "state")
    os.makedirs(wf_dir)
    wf = os.path.join(wf_dir, "small.yaml")
    config = os.path.join(work, "gridcase.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(f"org: {org}\nworkflows: {wf_dir}\nstate_dir: {state}\n"
                "engine:\n  poll_timeout_ms: 50\n")

    def run(*args, check=True, inp=None):
        r = subprocess.run([gridcase, *args], capture_output=True, text=True, input=inp)
        if check and r.returncode != 0:
            raise SystemExit(f"FAIL: gridcase {' '.join(args)} -> {r.returncode}\n{r.stderr}")
        return r

    def submit(report_id, grid, at):
        ev = {"type": "report", "at": at,
              "report": {"report_id": report_id, "grid": grid, "category": "road"}}
        run("submit", "--state-dir", state, "-", inp=json.dumps(ev) + "\n")

    def case_events():
        """The case-events topic, each (case_id, seq) once: publishing is at least once,
        and a copy must be identical to the first."""
        out = run("tail", "--state-dir", state, "--from-beginning").stdout
        first = {}
        for l in out.splitlines():
            if not l.strip():
                continue
            e = json.loads(l)
            k = (e["case_id"], e["seq"])
            assert first.setdefault(k, e) == e, f"a different copy of {k}: {e} vs {first[k]}"
        return list(first.values())

    try:
        with open(wf, "w") as f:
            f.write(workflow("12h"))
        r = run("deploy", wf, "--org", org, "--state-dir", state, "--actor", "alice")
        assert "已部署 deployed: small v1" in r.stdout, r.stdout

        serve = Serve(gridcase, config)
        mark = serve.wait_for(r"监视工作流目录 / watching")
        submit("r-1", "jjbl-c1-g01", "2026-06-01T00:00:00Z")
        serve.wait_for(r"已处理 processed 1 records", mark)

        # An edit of the watched file: v2 while serve runs.
        with open(wf, "w") as f:
            f.write(workflow("6h"))
        mark = serve.wait_for(r"已部署 deployed: small v2", mark)
        mark = serve.wait_for(r"now live: small v2", mark)
        # An invalid edit: refused with its place, v2 stays live.
        with open(wf, "w") as f:
            f.write(workflow("6h", "nowhere"))
        i = serve.wait_for(re.escape(wf) + r":16:24: error: goto to unknown state 'nowhere'", mark)
        serve.wait_for(r"部署被拒绝 / deploy rejected", i)
        h = json.loads(run("history", "workflows", "--json", "--state-dir", state).stdout)
        assert [a["action"] for a in h] == ["deploy", "deploy", "rejected"], h
        assert h[1]["actor"] == "serve (watch)" and h[1]["version"] == 2, h[1]
        assert "goto to unknown state" in h[2]["change"], h[2]

        # r-2 opens on v2 (the live version); r-1 stays on v1.
        submit("r-2", "jjbl-c1-g02", "2026-06-01T01:00:00Z")
        mark = serve.wait_for(r"已处理 processed 2 records", mark)

        # The dry run reads the running engine's state: only r-1 would move.
        migrate = ["migrate", "small", "--to", "2", "--org", org, "--state-dir", state]
        r = run(*migrate, "--dry-run")
        assert "可迁移 would move r-1 v1 → v2" in r.stderr, r.stderr
        assert "1 件可迁移 movable, 0 件不能迁移" in r.stderr, r.stderr
        # The real one goes to the engine, which reports back.
        r = run(*migrate, "--actor", "carol")
        assert "已交给它" in r.stderr, r.stderr
        assert "迁移 moved r-1 v1 → v2" in r.stderr, r.stderr
        assert "1 件已迁移 moved" in r.stderr, r.stderr
        serve.wait_for(r"迁移指令 #1 已执行 / migration order #1 applied", mark)
        migrated = [e for e in case_events() if e["type"] == "migrated"]
        assert len(migrated) == 1, migrated
        assert migrated[0]["case_id"] == "r-1" and migrated[0]["from_version"] == 1 \
            and migrated[0]["to_version"] == 2, migrated[0]
        h = json.loads(run("history", "workflows", "--json", "--state-dir", state).stdout)
        assert h[-1]["action"] == "migrate" and h[-1]["actor"] == "carol", h[-1]
        # Nothing left to move.
        r = run(*migrate, "--dry-run")
        assert "0 件可迁移 movable" in r.stderr, r.stderr
        serve.stop()

        # The engine stopped: v3 deployed, the migration done here, its events published
        # by the next start.
        with open(wf, "w") as f:
            f.write(workflow("8h"))
        run("deploy", wf, "--org", org, "--state-dir", state)
        r = run("migrate", "small", "--to", "3", "--org", org, "--state-dir", state)
        offline = [json.loads(l) for l in r.stdout.splitlines()]
        assert sorted(e["case_id"] for e in offline) == ["r-1", "r-2"], r.stdout
        assert "迁移事件在引擎下次启动时发布" in r.stderr, r.stderr
        assert len([e for e in case_events() if e["type"] == "migrated"]) == 1
        serve = Serve(gridcase, config)
        serve.wait_for(r"监视工作流目录 / watching")
        serve.stop()  # the stored outbox is published at start
        migrated = [e for e in case_events() if e["type"] == "migrated"]
        assert [(e["case_id"], e["to_version"]) for e in migrated[1:]] == \
            [(e["case_id"], 3) for e in offline], migrated
        assert [e["seq"] for e in migrated[1:]] == [e["seq"] for e in offline]
        print("ok: watched edit → v2 live, bad edit refused at 16:24, live migration published, "
              "offline migration published at the next start")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
