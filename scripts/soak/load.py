"""Open-loop load for scripts/soak.sh (Python 3.11 standard library only).

Requests are sent on a fixed schedule (request i at start + i / RATE), not one after another, so a
slow server does not slow the load down: a pool of threads with keep-alive connections takes them
in order and waits for each one's time. The mix is drawn from fixed weights with a fixed seed. The
run is bounded twice: exactly RATE x DURATION requests, and a hard stop DURATION + 30 s after the
start. Any non-2xx answer or transport error is an error.

The server's resident memory (VmRSS of /proc/<pid>/status) is sampled before the first request,
every 10 s, and after the last; the report shows the trend.

Usage: load.py CONFIG.json   (written by soak.sh; see there for the fields)
"""

import http.client
import json
import queue
import random
import sys
import threading
import time
import urllib.parse

# route name, weight (share of the mix)
MIX = [
    ("GET /api/partners/{id}", 30),
    ("GET /api/partners", 15),
    ("POST /api/partners", 10),
    ("PATCH /api/partners/{id}", 10),
    ("POST /api/partners/applications/submit", 20),
    ("POST /api/partners/{id}/analyze (cached)", 15),
]
STAGES = ["prospect", "onboarding", "active", "inactive"]
TIMEOUT_S = 10.0
SAMPLE_EVERY_S = 10.0


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


class Sampler(threading.Thread):
    """VmRSS every SAMPLE_EVERY_S until stopped; (seconds since start, KiB) pairs."""

    def __init__(self, pid, start):
        super().__init__(daemon=True)
        self.pid, self.start_at = pid, start
        self.samples = [(0.0, vm_rss_kib(pid))]
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(SAMPLE_EVERY_S):
            self.samples.append((time.monotonic() - self.start_at, vm_rss_kib(self.pid)))

    def finish(self):
        self.stopped.set()
        self.join()
        self.samples.append((time.monotonic() - self.start_at, vm_rss_kib(self.pid)))


def request_for(route, n, cfg, rng):
    """(method, path, body or None, extra headers) of the n-th request of `route`."""
    auth = {"Authorization": f"Bearer {cfg['token']}"}
    if route == "GET /api/partners/{id}":
        return "GET", f"/api/partners/{rng.choice(cfg['partners'])}", None, auth
    if route == "GET /api/partners":
        return "GET", "/api/partners?limit=25", None, auth
    if route == "POST /api/partners":
        body = {"name": f"Soak {n}", "type": "reseller",
                "primaryContact": {"firstName": "Sam", "lastName": "Soak",
                                   "email": f"soak-{n}@soak.example"}}
        return "POST", "/api/partners", body, auth
    if route == "PATCH /api/partners/{id}":
        body = {"stage": STAGES[n % len(STAGES)], "subtype": f"patched {n}"}
        return "PATCH", f"/api/partners/{rng.choice(cfg['partners'])}", body, auth
    if route == "POST /api/partners/applications/submit":
        # A new email and a new client address each time: no duplicate, no per-IP limit.
        body = {"slug": cfg["form_slug"], "affiliateSlug": cfg["link_slug"],
                "formData": {"companyName": f"Applicant {n}", "email": f"applicant-{n}@soak.example"},
                "acceptedAgreements": []}
        ip = f"fd00:{(n >> 16) & 0xffff:x}:{n & 0xffff:x}::1"  # one /64 each: limits count IPv6 by /64
        return "POST", "/api/partners/applications/submit", body, {"X-Forwarded-For": ip}
    if route == "POST /api/partners/{id}/analyze (cached)":
        return "POST", f"/api/partners/{rng.choice(cfg['analyzed'])}/analyze", None, auth
    raise ValueError(route)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    cfg = json.load(open(sys.argv[1]))
    rate, duration = float(cfg["rate"]), float(cfg["duration_s"])
    total = int(rate * duration)
    target = urllib.parse.urlsplit(cfg["base"])
    routes = [r for r, _ in MIX]
    weights = [w for _, w in MIX]
    rng = random.Random(20261201)
    plan = [(i, rng.choices(routes, weights)[0]) for i in range(total)]

    jobs = queue.Queue()
    results = []  # (route, scheduled offset s, service s, late s, status or error text)
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    hard_stop = start + duration + 30.0
    sampler = Sampler(cfg["server_pid"], start)

    def worker(seed):
        conn = None
        local_rng = random.Random(seed)
        while True:
            job = jobs.get()
            if job is None:
                return
            i, route = job
            due = start + i / rate
            now = time.monotonic()
            if now >= hard_stop:
                continue
            if due > now:
                time.sleep(due - now)
            method, path, body, headers = request_for(route, i, cfg, local_rng)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers = {**headers, "Content-Type": "application/json"}
            sent = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT_S)
                conn.request(method, path, body=data, headers=headers)
                res = conn.getresponse()
                payload = res.read()
                outcome = res.status
                if not 200 <= res.status < 300:
                    outcome = f"{res.status} {payload[:200].decode(errors='replace')}"
                if res.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # a transport error is an error like any other
                outcome = f"{type(e).__name__}: {e}"
                if conn is not None:
                    conn.close()
                conn = None
            done = time.monotonic()
            with lock:
                results.append((route, due - start, done - sent, sent - due, outcome))

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(cfg["threads"])]
    for t in threads:
        t.start()
    sampler.start()
    for job in plan:
        jobs.put(job)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(max(0.0, hard_stop + TIMEOUT_S - time.monotonic()))
    elapsed = time.monotonic() - start
    sampler.finish()
    report(cfg, results, total, elapsed, sampler.samples)


def report(cfg, results, total, elapsed, samples):
    with_lock = list(results)
    # A success is recorded as its status; anything else as the text of what went wrong.
    errors = [r for r in with_lock if not isinstance(r[4], int)]
    missing = total - len(with_lock)
    print()
    print(f"Soak: {cfg['rate']:g} requests/s for {cfg['duration_s']:g} s "
          f"({total} scheduled, {len(with_lock)} answered in {elapsed:.0f} s, "
          f"{cfg['threads']} client threads, open loop)")
    fmt = "{:<44} {:>7} {:>7} {:>9} {:>9} {:>10}"
    print(fmt.format("route", "count", "errors", "p50 ms", "p99 ms", "max ms"))
    for route, _ in MIX:
        rows = [r for r in with_lock if r[0] == route]
        lat = sorted(r[2] * 1000 for r in rows)
        errs = sum(1 for r in rows if not isinstance(r[4], int))
        print(fmt.format(route, len(rows), errs, f"{percentile(lat, 0.5):.2f}",
                         f"{percentile(lat, 0.99):.2f}", f"{(lat[-1] if lat else float('nan')):.2f}"))
    late = sorted(r[3] * 1000 for r in with_lock)
    print(f"sent behind schedule: p50 {percentile(late, 0.5):.2f} ms, p99 {percentile(late, 0.99):.2f} ms, "
          f"max {(late[-1] if late else 0):.2f} ms")
    print(f"errors: {len(errors) + missing} ({len(errors)} failed, {missing} never answered)")
    for r in errors[:10]:
        print(f"  {r[0]} at {r[1]:.1f} s: {r[4]}")

    xs = [t / 60.0 for t, _ in samples]
    ys = [kib / 1024.0 for _, kib in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
    print(f"server VmRSS (MiB), {len(samples)} samples: start {ys[0]:.1f}, end {ys[-1]:.1f}, "
          f"max {max(ys):.1f}, slope {slope:+.2f} MiB/min (least squares)")
    print("  " + " ".join(f"{t:.0f}s:{kib / 1024:.1f}" for t, kib in samples))
    with open(cfg["summary"], "w") as f:
        submits = sum(1 for r in with_lock
                      if r[0] == "POST /api/partners/applications/submit" and r[4] == 200)
        creates = sum(1 for r in with_lock if r[0] == "POST /api/partners" and r[4] == 201)
        json.dump({"errors": len(errors) + missing, "submitted": submits, "created": creates}, f)
    if errors or missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
