#!/usr/bin/env python3
"""Wall-clock timer latency of `gridcase serve` (embedded log): how long after its due time
each timer's case event is published.

A workflow whose cases tick every 2 s (a repeating state timer) and run out of a 3 s SLA
at the grid and the village; CASES reports opened now; `gridcase tail -f` follows the case
events and notes when each arrives. Latency = arrival (wall clock) - the event's `at`
(its due time) for every timer-driven event (`trigger` ping / sla_expired / sla_warning).
Usage: ops/bench/timer_latency.py [GRIDCASE] [CASES] [SECONDS]
"""
import datetime, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

WORKFLOW = """apiVersion: gridcase/v1
kind: Workflow
name: ticking
levels: [grid, village, township, county]
sla:
  grid: 3s
  village: 3s
initial: open
states:
  open:
    sla: true
    timers:
      - { after: 2s, event: ping, repeat: true }
    on:
      ping: {}
      sla_expired: { level: up }
      resolve: { goto: done }
  done:
    final: true
"""


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    gridcase = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "app", "gridcase")
    n_cases = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 15
    org = os.path.join(root, "config", "org.yaml")
    tmp = tempfile.mkdtemp(prefix="gridcase-timers-")
    serve = tail = None
    try:
        wf = os.path.join(tmp, "ticking.yaml")
        open(wf, "w").write(WORKFLOW)
        state = os.path.join(tmp, "state")
        serve = subprocess.Popen([gridcase, "serve", "--org", org, "--workflows", wf, "--state-dir", state],
                                 stderr=subprocess.PIPE, text=True)
        for line in serve.stderr:  # the log exists once serve says it has started
            if "started" in line:
                break
        # Keep draining serve's log so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in serve.stderr], daemon=True).start()
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        grids = ["jjbl-c1-g01", "jjbl-c1-g02", "jjbl-c2-g01", "jjbl-c2-g02"]
        lines = "".join(json.dumps({"type": "report", "at": now, "report": {
            "report_id": f"t-{i}", "grid": grids[i % len(grids)], "category": "road"}}) + "\n"
            for i in range(n_cases))
        subprocess.run([gridcase, "submit", "--state-dir", state, "-"], input=lines, text=True, check=True,
                       stderr=subprocess.DEVNULL)
        tail = subprocess.Popen([gridcase, "tail", "--state-dir", state, "--from-beginning", "-f"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lat = []
        end = time.time() + seconds
        for line in tail.stdout:
            arrived = time.time()
            e = json.loads(line)
            if e.get("trigger") in ("ping", "sla_expired", "sla_warning") and e["type"] in (
                    "transition", "sla_breached", "level_changed"):
                at = datetime.datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp()
                lat.append((arrived - at) * 1000)
            if arrived > end:
                break
        lat.sort()
        pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
        print(f"timer latency over {len(lat)} timer events ({n_cases} cases, {seconds:.0f} s): "
              f"p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {lat[-1] if lat else float('nan'):.0f} ms "
              f"(due time -> published and read back by tail)")
        return 0 if lat and lat[-1] < 1000 else 1
    finally:
        for p in (tail, serve):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
