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

With `kafka` (GRIDCASE_KAFKA_BROKERS, or a broker started here with ops/kafka/start.sh):
two engines with their own input topics and state follow one registry topic; `deploy
--kafka` makes v2 live in both, `history --kafka` and `diff --kafka` read the topic, a bad
deploy publishes only its refusal, `migrate --kafka` moves the open v1 cases of each engine
(each publishes its own `migrated` events), and `export --kafka` writes an engine's recorded
input for a time range.

Usage: lifecycle_e2e.py GRIDCASE REPO_ROOT [kafka]
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


def kafka_main(gridcase, root):
    work = tempfile.mkdtemp(prefix="gridcase-lifecycle-kafka-")
    broker_port = None
    org = f"{root}/config/org.yaml"
    try:
        brokers = os.environ.get("GRIDCASE_KAFKA_BROKERS", "")
        if not brokers:
            import socket
            with socket.socket() as s_:
                s_.bind(("127.0.0.1", 0))
                broker_port = s_.getsockname()[1]
            out = subprocess.run([os.path.join(root, "ops", "kafka", "start.sh"), "--port",
                                  str(broker_port), "--data", os.path.join(work, "kafka")],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"no Kafka broker: {out.stderr[-2000:]}")
            brokers = out.stdout.strip().splitlines()[-1]
        suffix = f"{os.getpid()}-{int(time.time())}"
        registry = f"lc.workflows.{suffix}"
        wf_dir = os.path.join(work, "wf")
        os.makedirs(wf_dir)
        wf = os.path.join(wf_dir, "small.yaml")

        def run(*args, check=True, inp=None):
            r = subprocess.run([gridcase, *args], capture_output=True, text=True, input=inp)
            if check and r.returncode != 0:
                raise SystemExit(f"FAIL: gridcase {' '.join(args)} -> {r.returncode}\n{r.stderr}")
            return r

        kafka = ["--kafka", brokers, "--workflows-topic", registry]
        with open(wf, "w") as f:
            f.write(workflow("12h"))
        r = run("deploy", wf, "--org", org, "--actor", "alice", *kafka)
        assert "已部署 deployed: small v1" in r.stdout, r.stdout + r.stderr

        engines = {}
        for name in ("a", "b"):
            config = os.path.join(work, f"{name}.yaml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(f"org: {org}\nworkflows: {wf_dir}\nstate_dir: {work}/state-{name}\n"
                        f"kafka:\n  brokers: \"{brokers}\"\n  input_topic: lc.in.{name}.{suffix}\n"
                        f"  case_events_topic: lc.ev.{name}.{suffix}\n"
                        f"  dead_letter_topic: lc.dl.{name}.{suffix}\n"
                        f"  workflows_topic: {registry}\n  partitions: 1\n"
                        f"  group_id: lc-{name}-{suffix}\n  instance_id: lc-{name}-{suffix}\n"
                        "engine:\n  poll_timeout_ms: 50\n")
            engines[name] = Serve(gridcase, config)
        for name, serve in engines.items():
            serve.wait_for(r"registry synced from " + re.escape(registry))
            serve.wait_for(r"gridcase serve 已启动 / started")
        for i, name in enumerate(engines):
            ev = {"type": "report", "at": f"2026-06-0{i + 1}T00:00:00Z",
                  "report": {"report_id": f"r-{name}", "grid": "jjbl-c1-g01", "category": "road"}}
            run("submit", "--kafka", brokers, "--topic", f"lc.in.{name}.{suffix}", "-",
                inp=json.dumps(ev) + "\n")
        marks = {n: s.wait_for(r"已处理 processed 1 records") for n, s in engines.items()}

        # v2 through the topic: live in both engines.
        with open(wf, "w") as f:
            f.write(workflow("6h"))
        r = run("deploy", wf, "--org", org, "--actor", "bob", *kafka)
        assert "已部署 deployed: small v2" in r.stdout, r.stdout + r.stderr
        for n, s in engines.items():
            marks[n] = s.wait_for(r"now live: small v2", marks[n])
        # A bad file: refused, only the refusal is published; v2 stays live.
        with open(wf, "w") as f:
            f.write(workflow("6h", "nowhere"))
        r = run("deploy", wf, "--org", org, "--actor", "carol", *kafka, check=False)
        assert r.returncode == 1 and ":16:24: error: goto to unknown state" in r.stderr, r.stderr
        h = json.loads(run("history", "workflows", "--json", *kafka).stdout)
        assert [(a["action"], a["actor"], a["version"]) for a in h] == \
            [("deploy", "alice", 1), ("deploy", "bob", 2), ("rejected", "carol", 0)], h
        r = run("diff", "small", "1", "2", *kafka)
        assert "+      - { after: 6h, event: remind, repeat: true }" in r.stdout, r.stdout

        # One order, every engine applies it to the cases it holds.
        r = run("migrate", "small", "--to", "2", "--org", org, "--actor", "dora", *kafka)
        assert "已发布" in r.stderr, r.stderr
        for n, s in engines.items():
            s.wait_for(r"迁移指令 #1 已执行 / migration order #1 applied \(small → v2, by dora\): "
                       r"1 moved", marks[n])
        for n in engines:
            out = run("tail", "--kafka", brokers, "--topic", f"lc.ev.{n}.{suffix}").stdout
            migrated = [json.loads(l) for l in out.splitlines()
                        if l.strip() and json.loads(l)["type"] == "migrated"]
            assert [(e["case_id"], e["from_version"], e["to_version"]) for e in migrated] == \
                [(f"r-{n}", 1, 2)], migrated
        for s in engines.values():
            s.stop()

        # Recorded input of engine b for its day, from its input topic.
        r = run("export", "--kafka", brokers, "--topic", f"lc.in.b.{suffix}",
                "--from", "2026-06-02T00:00:00Z", "--to", "2026-06-03T00:00:00Z")
        assert [json.loads(l)["report"]["report_id"] for l in r.stdout.splitlines()] == ["r-b"], \
            r.stdout
        r = run("export", "--kafka", brokers, "--topic", f"lc.in.b.{suffix}",
                "--from", "2026-06-03T00:00:00Z")
        assert r.stdout == "" and "1 在时间范围外 outside the range" in r.stderr, r.stderr
        print("ok: deploy --kafka live in 2 engines, bad deploy refused, migrate --kafka applied by "
              "each engine, export --kafka by time range")
    finally:
        if broker_port:
            subprocess.run([os.path.join(root, "ops", "kafka", "stop.sh"), "--port",
                            str(broker_port), "--data", os.path.join(work, "kafka")],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main():
    gridcase, root = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "kafka":
        return kafka_main(gridcase, root)
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

        # A new org tree (one more grid) while serve runs: it restarts in place on it (same
        # PID), and a report from the new grid opens a case.
        with open(org, encoding="utf-8") as f:
            org_text = f.read()
        anchor = "              - { id: jjbl-c1-g01,"
        assert anchor in org_text
        grown = org_text.replace(anchor, "              - { id: jjbl-c1-g99, name: 新网格, "
                                 "level: grid, households: 10 }\n" + anchor, 1)
        new_org = os.path.join(work, "org.yaml")
        with open(new_org, "w", encoding="utf-8") as f:
            f.write(grown)
        pid = serve.p.pid
        r = run("deploy", new_org, "--org", org, "--state-dir", state)
        assert "已部署 deployed: 组织架构 org tree v1" in r.stdout, r.stdout
        mark = serve.wait_for(r"org tree v1 deployed: restarting in place", mark)
        mark = serve.wait_for(r"gridcase serve 已启动 / started", mark)
        assert serve.p.pid == pid and serve.p.poll() is None
        submit("r-3", "jjbl-c1-g99", "2026-06-01T02:00:00Z")
        serve.wait_for(r"已处理 processed 1 records", mark)
        opened = [e for e in case_events() if e["type"] == "opened" and e["case_id"] == "r-3"]
        assert len(opened) == 1 and opened[0]["unit"] == "jjbl-c1-g99", opened
        serve.stop()

        # The engine stopped: v3 deployed, the migration done here, its events published
        # by the next start.
        with open(wf, "w") as f:
            f.write(workflow("8h"))
        run("deploy", wf, "--org", org, "--state-dir", state)
        r = run("migrate", "small", "--to", "3", "--org", org, "--state-dir", state)
        offline = [json.loads(l) for l in r.stdout.splitlines()]
        assert sorted(e["case_id"] for e in offline) == ["r-1", "r-2", "r-3"], r.stdout
        assert "迁移事件在引擎下次启动时发布" in r.stderr, r.stderr
        assert len([e for e in case_events() if e["type"] == "migrated"]) == 1
        serve = Serve(gridcase, config)
        serve.wait_for(r"监视工作流目录 / watching")
        serve.stop()  # the stored outbox is published at start
        migrated = [e for e in case_events() if e["type"] == "migrated"]
        assert [(e["case_id"], e["to_version"]) for e in migrated[1:]] == \
            [(e["case_id"], 3) for e in offline], migrated
        assert [e["seq"] for e in migrated[1:]] == [e["seq"] for e in offline]
        # The recorded input of the embedded log, by time range, ordered by `at`.
        r = run("export", "--state-dir", state, "--from", "2026-06-01T00:30:00Z",
                "--to", "2026-06-01T01:30:00Z")
        assert [json.loads(l)["report"]["report_id"] for l in r.stdout.splitlines()] == ["r-2"], \
            r.stdout
        r = run("export", "--state-dir", state, "--to", "2026-06-01T00:30:00Z")
        assert [json.loads(l)["report"]["report_id"] for l in r.stdout.splitlines()] == ["r-1"], \
            r.stdout
        print("ok: watched edit → v2 live, bad edit refused at 16:24, live migration published, "
              "offline migration published at the next start, org tree taken by an in-place restart, "
              "export by time range")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
