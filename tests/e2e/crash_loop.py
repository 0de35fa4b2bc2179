#!/usr/bin/env python3
"""kill -9 loop on the embedded engine: the final state equals an uninterrupted run.

Generates a report stream (future-dated, so the engine clock is the events' own clock and
timers fire exactly as in simulate), submits it, runs `gridcase serve` and kills it with
SIGKILL at random moments, restarting each time, until all input is processed. Then:
  - the case snapshot equals `gridcase simulate --cases` on the same input;
  - every (case_id, seq) of simulate's output is in the output log, and every duplicate
    in the log is identical to its first copy; nothing else is there.
Usage: crash_loop.py GRIDCASE SOURCE_DIR [EVENTS] [KILLS] [kafka|kafka-eos]
With `kafka`, the same on a real broker: GRIDCASE_KAFKA_BROKERS, or one started here with
ops/kafka/start.sh. Topics get a unique suffix and one partition, so the order of the input
is the file's and the result must equal simulate's. With `kafka-eos`, serve runs with
`exactly_once: true` and the (read_committed) output must hold no duplicate at all.
"""
import json, os, random, shutil, signal, subprocess, sys, tempfile, time


def main():
    gridcase, src = sys.argv[1], sys.argv[2]
    n_events = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    kills = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    mode = sys.argv[5] if len(sys.argv) > 5 else ""
    use_kafka = mode in ("kafka", "kafka-eos")
    exactly_once = mode == "kafka-eos"
    org = os.path.join(src, "config", "org.yaml")
    wfs = os.path.join(src, "workflows")
    rnd = random.Random(42)
    tmp = tempfile.mkdtemp(prefix="gridcase-crash-")
    broker_port = None
    try:
        brokers = os.environ.get("GRIDCASE_KAFKA_BROKERS", "")
        if use_kafka and not brokers:
            import socket
            with socket.socket() as s_:
                s_.bind(("127.0.0.1", 0))
                broker_port = s_.getsockname()[1]
            out = subprocess.run([os.path.join(src, "ops", "kafka", "start.sh"), "--port", str(broker_port),
                                  "--data", os.path.join(tmp, "kafka")], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"no Kafka broker: {out.stderr[-2000:]}")
            brokers = out.stdout.strip().splitlines()[-1]
        suffix = f"{os.getpid()}-{int(time.time())}"
        topics = {"input": f"crash.input.{suffix}", "events": f"crash.case-events.{suffix}",
                  "dead": f"crash.dead-letter.{suffix}"}
        config = os.path.join(tmp, "gridcase.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"kafka:\n  brokers: \"{brokers if use_kafka else ''}\"\n"
                    f"  input_topic: {topics['input']}\n  case_events_topic: {topics['events']}\n"
                    f"  dead_letter_topic: {topics['dead']}\n  partitions: 1\n"
                    # Its own (empty) registry topic: the repo's workflows, whatever the
                    # shared broker's gridcase.workflows holds.
                    f"  workflows_topic: crash.workflows.{suffix}\n"
                    f"  exactly_once: {'true' if exactly_once else 'false'}\n"
                    f"  group_id: crash-{suffix}\n  instance_id: crash-{suffix}\n")
        events = os.path.join(tmp, "events.jsonl")
        subprocess.run([gridcase, "generate", "--org", org, "--events", str(n_events), "--seed", "11",
                        "--start", "2099-06-01T00:00:00Z", "--action-share", "0.7", "--out", events],
                       check=True)
        state = os.path.join(tmp, "state")
        # Submit in several files, so ingestion itself is interrupted too.
        lines = open(events, encoding="utf-8").read().splitlines(keepends=True)
        chunk = max(1, len(lines) // 7)
        for i in range(0, len(lines), chunk):
            part = os.path.join(tmp, f"part{i}.jsonl")
            with open(part, "w", encoding="utf-8") as f:
                f.writelines(lines[i:i + chunk])
            where = (["--kafka", brokers, "--topic", topics["input"], "--partitions", "1"] if use_kafka
                     else ["--state-dir", state])
            subprocess.run([gridcase, "submit"] + where + [part], check=True, stderr=subprocess.DEVNULL)
        serve = [gridcase, "serve", "--config", config, "--org", org, "--workflows", wfs, "--state-dir", state]
        killed = 0
        while killed < kills:
            p = subprocess.Popen(serve, stderr=subprocess.DEVNULL)
            # A random moment to crash (not a synchronisation); Kafka needs longer to get going.
            time.sleep(rnd.uniform(0.05, 0.6) + (rnd.uniform(0.5, 2.5) if use_kafka else 0))
            if p.poll() is not None:
                raise SystemExit(f"serve exited by itself with {p.returncode}")
            p.send_signal(signal.SIGKILL)
            p.wait()
            killed += 1
        done = subprocess.run(serve + ["--until-idle"], stderr=subprocess.PIPE, text=True, timeout=600)
        if os.environ.get("CRASH_DEBUG"):
            print(done.stderr[-3000:])
        if done.returncode != 0:
            raise SystemExit(f"final serve failed: {done.stderr}")

        got_cases = json.loads(subprocess.run([gridcase, "cases", "--org", org, "--workflows", wfs,
                                               "--state-dir", state], check=True,
                                              capture_output=True, text=True).stdout)
        want_cases_file = os.path.join(tmp, "want-cases.json")
        sim = subprocess.run([gridcase, "simulate", "--org", org, "--workflows", wfs, "--events", events,
                              "--cases", want_cases_file], capture_output=True, text=True)
        if sim.returncode != 0:
            raise SystemExit(f"simulate failed ({sim.returncode}): {sim.stderr[-2000:]}")
        want_cases = json.load(open(want_cases_file, encoding="utf-8"))
        key = lambda c: c["case_id"]
        problems = []
        if sorted(got_cases, key=key) != sorted(want_cases, key=key):
            problems.append(f"case snapshots differ ({len(got_cases)} vs {len(want_cases)} cases)")

        want = {}
        for line in sim.stdout.splitlines():
            e = json.loads(line)
            want[(e["case_id"], e["seq"])] = e
        tail_cmd = ([gridcase, "tail", "--kafka", brokers, "--topic", topics["events"]] if use_kafka
                    else [gridcase, "tail", "--state-dir", state, "--from-beginning", "--topic", topics["events"]])
        tail = subprocess.run(tail_cmd, check=True, capture_output=True, text=True).stdout
        seen, dups = {}, 0
        for line in tail.splitlines():
            e = json.loads(line)
            k = (e["case_id"], e["seq"])
            if k in seen:
                dups += 1
                if seen[k] != e:
                    problems.append(f"duplicate {k} differs from its first copy")
            seen[k] = e
        if exactly_once and dups:
            problems.append(f"{dups} duplicates seen by a read_committed consumer with exactly_once")
        missing = [k for k in want if k not in seen]
        extra = [k for k in seen if k not in want]
        if missing:
            problems.append(f"{len(missing)} case events missing, e.g. {missing[:3]}")
        if extra:
            problems.append(f"{len(extra)} unexpected case events, e.g. {extra[:3]}")
        for k, e in seen.items():
            if k in want and want[k] != e:
                problems.append(f"case event {k} differs from simulate")
                break
        print(f"{'Kafka ' + brokers if use_kafka else 'embedded log'}{' exactly_once' if exactly_once else ''}: {n_events} events, {killed} kills, {len(want)} case events, {dups} duplicates, "
              f"{len(got_cases)} cases")
        for p in problems:
            print("FAIL:", p)
        print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
        return 1 if problems else 0
    finally:
        if broker_port:
            subprocess.run([os.path.join(src, "ops", "kafka", "stop.sh"), "--port", str(broker_port),
                            "--data", os.path.join(tmp, "kafka"), "--purge"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
