#!/usr/bin/env python3
"""Broker outage and poison input against a real Kafka broker started here.

1. A report stream (future-dated, so timers fire as in simulate) goes in with poison mixed
   in: not JSON, missing fields, an unknown grid, an action on an unknown case, a 2 MB
   message, invalid UTF-8.
2. `gridcase serve` runs; once it has published, the broker is stopped for 15 s and
   started again (same port, same data); the rest of the stream goes in afterwards.
3. The engine must recover by itself (same process), publish every (case_id, seq) that
   `gridcase simulate` gives for the same input, end with the same case snapshot, put each
   poison record in the dead-letter topic with its reason and where it came from, and stop
   within 10 s on SIGTERM.
Usage: kafka_faults.py GRIDCASE SOURCE_DIR [EVENTS]
"""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

OUTAGE_S = 15


def main():
    gridcase, src = sys.argv[1], sys.argv[2]
    n_events = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    org = os.path.join(src, "config", "org.yaml")
    wfs = os.path.join(src, "workflows")
    tmp = tempfile.mkdtemp(prefix="gridcase-faults-")
    start_sh = os.path.join(src, "ops", "kafka", "start.sh")
    stop_sh = os.path.join(src, "ops", "kafka", "stop.sh")
    with socket.socket() as s_:
        s_.bind(("127.0.0.1", 0))
        port = s_.getsockname()[1]
    data = os.path.join(tmp, "kafka")
    broker = ["--port", str(port), "--data", data]
    serve_proc = None
    problems = []

    def start_broker():
        out = subprocess.run([start_sh] + broker, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"no Kafka broker: {out.stderr[-2000:]}")
        return out.stdout.strip().splitlines()[-1]

    try:
        brokers = start_broker()
        topics = {"input": "faults.input", "events": "faults.case-events", "dead": "faults.dead-letter"}
        config = os.path.join(tmp, "gridcase.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"kafka:\n  brokers: \"{brokers}\"\n  input_topic: {topics['input']}\n"
                    f"  case_events_topic: {topics['events']}\n  dead_letter_topic: {topics['dead']}\n"
                    f"  partitions: 1\n  group_id: faults\n  instance_id: faults-1\n"
                    f"  workflows_topic: faults.workflows\n"
                    # Shorter than the outage: publishing fails and the durable outbox is retried.
                    f"  delivery_timeout_ms: 5000\n")
        events = os.path.join(tmp, "events.jsonl")
        subprocess.run([gridcase, "generate", "--org", org, "--events", str(n_events), "--seed", "5",
                        "--start", "2099-03-01T00:00:00Z", "--action-share", "0.7", "--out", events],
                       check=True)
        good = open(events, "rb").read().splitlines(keepends=True)
        big = (json.dumps({"type": "report", "at": "2099-03-01T00:00:00Z",
                           "report": {"report_id": "big-1", "grid": "jjbl-c1-g01", "category": "road",
                                      "description": "雪" * (700 * 1024)}}, ensure_ascii=False)
               + "\n").encode()
        poison = [  # (line, reason expected in the dead letter, a word of the error)
            (b"this is not JSON\n", "bad_input", "JSON"),
            (b'{"type": "report", "at": "2099-03-01T00:00:00Z", "report": {"grid": "jjbl-c1-g01"}}\n',
             "bad_input", "report_id"),
            (b'{"type": "report", "at": "2099-03-01T00:00:00Z", "report": {"report_id": "p-1", '
             b'"grid": "no-such-grid", "category": "road"}}\n', "bad_input", "no-such-grid"),
            (b'{"type": "action", "at": "2099-03-01T00:00:00Z", "case_id": "no-such-case", '
             b'"grid": "jjbl-c1-g01", "action": "resolve"}\n', "rejected", "no-such-case"),
            (big, "bad_input", "too large"),
            (b'{"type": "report", "at": "2099-03-01T00:00:00Z", "report": {"report_id": "u-1", '
             b'"grid": "jjbl-c1-g01", "category": "road", "title": "\xff\xfe"}}\n', "bad_input", ""),
        ]
        assert len(big) > 2 * 1024 * 1024
        half = len(good) * 2 // 3
        # Poison spread over both halves: before and after the outage.
        first = good[:half // 2] + [p[0] for p in poison[:3]] + good[half // 2:half]
        second = good[half:half + 100] + [p[0] for p in poison[3:]] + good[half + 100:]
        parts = []
        for name, lines in (("first.jsonl", first), ("second.jsonl", second)):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.writelines(lines)
            parts.append(path)
        all_input = os.path.join(tmp, "all.jsonl")
        with open(all_input, "wb") as f:
            f.writelines(first + second)

        def submit(path):
            subprocess.run([gridcase, "submit", "--kafka", brokers, "--topic", topics["input"],
                            "--partitions", "1", path], check=True, stderr=subprocess.DEVNULL)

        def read_topic(topic):
            out = subprocess.run([gridcase, "tail", "--kafka", brokers, "--topic", topic],
                                 capture_output=True, text=True, errors="replace")
            return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]

        sim_cases = os.path.join(tmp, "want-cases.json")
        sim = subprocess.run([gridcase, "simulate", "--org", org, "--workflows", wfs, "--events", all_input,
                              "--cases", sim_cases], capture_output=True, text=True, errors="replace")
        if sim.returncode not in (0, 1):
            raise SystemExit(f"simulate failed ({sim.returncode}): {sim.stderr[-2000:]}")
        want = {}
        for line in sim.stdout.splitlines():
            e = json.loads(line)
            want[(e["case_id"], e["seq"])] = e

        submit(parts[0])
        state = os.path.join(tmp, "state")
        log = open(os.path.join(tmp, "serve.log"), "w")
        serve_proc = subprocess.Popen([gridcase, "serve", "--config", config, "--org", org, "--workflows", wfs,
                                       "--state-dir", state], stderr=log)
        # Wait (bounded) until the engine says it has processed its first 10,000 records:
        # then the outage hits a pipeline with most of the first part still to go.
        deadline = time.time() + 120
        serve_log = os.path.join(tmp, "serve.log")
        def processed():
            counts = re.findall(r"processed (\d+) records", open(serve_log, encoding="utf-8", errors="replace").read())
            return int(counts[-1]) if counts else 0
        while processed() < 10000:
            if time.time() > deadline or serve_proc.poll() is not None:
                raise SystemExit("serve processed nothing within 120 s")
            time.sleep(0.05)  # polling a log file for a condition, bounded by the deadline
        subprocess.run([stop_sh] + broker, check=True, capture_output=True)
        t_down = time.time()
        # The outage itself: 15 s without a broker (the fault being injected, not a wait for
        # something to happen).
        time.sleep(OUTAGE_S)
        if serve_proc.poll() is not None:
            problems.append(f"serve exited during the outage with {serve_proc.returncode}")
        start_broker()
        print(f"broker down for {time.time() - t_down:.1f} s")
        submit(parts[1])

        deadline = time.time() + 300
        seen, dups = {}, 0
        while True:
            got = read_topic(topics["events"])
            seen, dups = {}, 0
            for e in got:
                k = (e["case_id"], e["seq"])
                if k in seen:
                    dups += 1
                    if seen[k] != e:
                        problems.append(f"duplicate {k} differs from its first copy")
                seen[k] = e
            if all(k in seen for k in want) or time.time() > deadline or serve_proc.poll() is not None:
                break
        missing = [k for k in want if k not in seen]
        extra = [k for k in seen if k not in want]
        if missing:
            problems.append(f"{len(missing)} case events missing after the outage, e.g. {missing[:3]}")
        if extra:
            problems.append(f"{len(extra)} unexpected case events, e.g. {extra[:3]}")
        if any(want[k] != seen[k] for k in want if k in seen):
            problems.append("a case event differs from simulate's")

        # Graceful shutdown: SIGTERM finishes the batch and exits 0 within 10 s.
        t0 = time.time()
        serve_proc.send_signal(signal.SIGTERM)
        try:
            rc = serve_proc.wait(timeout=10)
            if rc != 0:
                problems.append(f"serve exited with {rc} on SIGTERM")
        except subprocess.TimeoutExpired:
            problems.append("serve did not stop within 10 s of SIGTERM")
            serve_proc.kill()
            serve_proc.wait()
        stop_s = time.time() - t0
        serve_proc = None

        got_cases = json.loads(subprocess.run([gridcase, "cases", "--org", org, "--workflows", wfs,
                                               "--state-dir", state], check=True, capture_output=True,
                                              text=True).stdout)
        key = lambda c: c["case_id"]
        if sorted(got_cases, key=key) != sorted(json.load(open(sim_cases, encoding="utf-8")), key=key):
            problems.append("case snapshot differs from simulate's")

        serve_text = open(serve_log, encoding="utf-8", errors="replace").read()
        retries = serve_text.count("retrying in")
        dead = read_topic(topics["dead"])
        if len(dead) != len(poison):
            problems.append(f"{len(dead)} dead letters for {len(poison)} poison records")
        for d, (line, reason, word) in zip(dead, poison):
            if d.get("reason") != reason or word not in d.get("error", ""):
                problems.append(f"dead letter {d.get('offset')}: {d.get('reason')}: {d.get('error')} "
                                f"(wanted {reason}, '{word}')")
            if d.get("topic") != topics["input"] or d.get("partition") != 0 or not isinstance(d.get("offset"), int):
                problems.append(f"dead letter does not say where it came from: {str(d)[:200]}")
        if retries == 0:
            problems.append("no publish failed during the outage: the retry path was not exercised")
        if dead:
            if not dead[-1].get("payload_base64"):
                problems.append("invalid UTF-8 dead letter has no payload_base64")
            elif __import__("base64").b64decode(dead[-1]["payload_base64"]) != poison[-1][0].rstrip(b"\n"):
                problems.append("payload_base64 is not the bytes received")
            if len(dead) >= 5 and not dead[4].get("payload_truncated"):
                problems.append("the 2 MB dead letter is not marked truncated")

        print(f"Kafka {brokers}: {n_events} events + {len(poison)} poison, outage {OUTAGE_S} s, "
              f"{len(want)} case events, {dups} duplicates, {len(dead)} dead letters, "
              f"{retries} publish retries, stopped {stop_s:.1f} s after SIGTERM")
        for p in problems:
            print("FAIL:", p)
        if problems:
            print(open(os.path.join(tmp, "serve.log"), encoding="utf-8", errors="replace").read()[-4000:])
        print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
        return 1 if problems else 0
    finally:
        if serve_proc and serve_proc.poll() is None:
            serve_proc.kill()
            serve_proc.wait()
        subprocess.run([stop_sh] + broker + ["--purge"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
