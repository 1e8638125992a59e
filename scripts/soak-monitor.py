#!/usr/bin/env python3
"""The soak's sampler and judge (scripts/soak.sh).

    soak-monitor.py sample RUN_DIR PID FLEETNODE STATUS_SOCKET INTERVAL NTP_ADDRESS
        every INTERVAL seconds until RUN_DIR/stop exists or PID ends: the node's resident memory, open
        descriptors, threads and CPU (from /proc/PID), the load average, the clients' counters (RUN_DIR/load.jsonl,
        written by soak-load), the attacker's open connections (RUN_DIR/attacker.jsonl) and every counter of
        `fleetnode status --json`, the datagrams dropped at the node's NTP socket (/proc/net/udp). One row a sample in RUN_DIR/samples.csv; the node's counters in full in
        RUN_DIR/counters.jsonl.
    soak-monitor.py report RUN_DIR
        the verdict (RUN_DIR/verdict.txt; exit 1 when it fails) and the plot (RUN_DIR/soak.png, with gnuplot):
        - memory and descriptors flat: the trend over the second half of the run (median of pairwise slopes) may rise by at most
          max(4 MiB, 5 %) of resident memory and max(10, 10 %) (plus a tenth of the attacker's connections) of the node's own descriptors over that half (its
          open descriptors less the NTS-KE connections open at that sample: the attacker's churn is not a leak);
        - no authentication failure anywhere (the rotations included): NTS NAKs and authentication failures the
          node sent, MAC failures it dropped, sibling responses it rejected, and the probe client's NAKs and
          rejected responses all 0;
        - every error counter that rose is listed with its cause; one with no known cause fails the run.
"""
import csv, json, os, re, socket, struct, subprocess, sys, time

COLUMNS = ["t", "utc", "rss_kib", "fds", "threads", "cpu_pct", "load1",
           "offered_per_s", "answered_per_s", "plain_share", "nts_share", "ke_completed", "ke_failed",
           "probe_authenticated", "probe_nak", "probe_rejected", "probe_lost", "attacker_open",
           "ntske_active", "ntske_established", "ntske_timeouts", "ntske_refused", "ntske_evicted",
           "nts_nak", "nts_auth_failed", "ntp_dropped", "sibling_failures", "sibling_rejected", "mac_failures",
           "socket_drops", "runq_wait_pct"]


def flatten(value, prefix=""):
    """Numeric leaves of the status JSON as dotted names (siblings by name, other lists by index)."""
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            name = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else str(index)
            out.update(flatten(item, f"{prefix}{name}."))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)):
        out[prefix[:-1]] = value
    return out


def last_json(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode(errors="replace").strip().split("\n")
        for line in reversed(lines):
            try:
                return json.loads(line)
            except ValueError:
                continue
    except OSError:
        pass
    return {}


def proc(pid):
    status = open(f"/proc/{pid}/status").read()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stat = open(f"/proc/{pid}/stat").read()
    rest = stat[stat.rindex(")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12])
    return rss, fds, threads, ticks / os.sysconf("SC_CLK_TCK")


def run_queue_wait(pid):
    """Nanoseconds the node's threads have spent runnable but waiting for a CPU (/proc/PID/task/*/schedstat,
    second field), summed: on a shared machine, the time other processes (or real-time ones) took from it."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total


def socket_drops(address):
    """Datagrams the kernel dropped at the node's NTP socket (receive buffer full): the last column of
    /proc/net/udp for the socket bound to ADDRESS (host:port)."""
    host, port = address.rsplit(":", 1)
    local = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0], int(port))
    try:
        lines = open("/proc/net/udp").read().splitlines()[1:]
    except OSError:
        return ""
    return sum(int(line.split()[-1]) for line in lines if line.split()[1] == local)


def node_status(fleetnode, status_socket):
    try:
        out = subprocess.run([fleetnode, "status", "--socket", status_socket, "--json"], capture_output=True, timeout=20, text=True)
        return flatten(json.loads(out.stdout)) if out.returncode == 0 else {}
    except (subprocess.TimeoutExpired, ValueError, OSError):
        return {}


def total(counters, suffix, contains=""):
    return sum(v for k, v in counters.items() if k.endswith(suffix) and contains in k)


def sample(run, pid, fleetnode, status_socket, interval, ntp_address):
    start = time.monotonic()
    previous = None
    with open(os.path.join(run, "samples.csv"), "w", newline="") as table, open(os.path.join(run, "counters.jsonl"), "w") as full:
        writer = csv.writer(table)
        writer.writerow(COLUMNS)
        while not os.path.exists(os.path.join(run, "stop")):
            try:
                rss, fds, threads, cpu = proc(pid)
                waited = run_queue_wait(pid)
            except (OSError, KeyError, ValueError):
                break
            now = time.monotonic()
            load = last_json(os.path.join(run, "load.jsonl"))
            attacker = last_json(os.path.join(run, "attacker.jsonl"))
            counters = node_status(fleetnode, status_socket)
            load1 = float(open("/proc/loadavg").read().split()[0])
            row = {"t": round(now - start, 1), "utc": time.strftime("%H:%M:%S", time.gmtime()), "rss_kib": rss, "fds": fds,
                   "threads": threads, "load1": load1, "attacker_open": attacker.get("open", 0)}
            if previous:
                dt = now - previous["now"]
                d = lambda key: load.get(key, 0) - previous["load"].get(key, 0)
                sent = d("plain_sent") + d("nts_sent")
                row.update(cpu_pct=round((cpu - previous["cpu"]) / dt * 100, 1),
                           offered_per_s=round(sent / dt), answered_per_s=round((d("plain_received") + d("nts_received")) / dt),
                           plain_share=round(d("plain_received") / d("plain_sent"), 5) if d("plain_sent") else "",
                           nts_share=round(d("nts_received") / d("nts_sent"), 5) if d("nts_sent") else "",
                           ke_completed=d("ke_completed"), ke_failed=d("ke_failed"),
                           probe_authenticated=d("probe_authenticated"), probe_nak=d("probe_nak"),
                           probe_rejected=d("probe_rejected"), probe_lost=d("probe_lost"),
                           runq_wait_pct=round((waited - previous["waited"]) / 1e9 / dt * 100, 1))
            row.update(ntske_active=counters.get("nts.activeConnections", ""),
                       ntske_established=counters.get("nts.ntske.keysEstablished", ""),
                       ntske_timeouts=counters.get("nts.ntske.timeouts", ""),
                       ntske_refused=sum(counters.get("nts.ntske." + k, 0) for k in
                                         ("refusedOverLimit", "refusedPerSource", "refusedConnectionRate", "refusedRateLimited")),
                       ntske_evicted=counters.get("nts.ntske.evicted", ""),
                       nts_nak=counters.get("ntp.ntsNAK", ""), nts_auth_failed=counters.get("ntp.ntsAuthenticationFailed", ""),
                       ntp_dropped=total(counters, "", "ntp.dropped."),
                       sibling_failures=total(counters, ".failures", "siblings."),
                       sibling_rejected=total(counters, ".rejected", "siblings."),
                       mac_failures=counters.get("ntp.dropped.authenticationFailed", 0),
                       socket_drops=socket_drops(ntp_address))
            writer.writerow([row.get(c, "") for c in COLUMNS])
            table.flush()
            full.write(json.dumps({"t": row["t"], "counters": counters}) + "\n")
            full.flush()
            previous = {"now": now, "load": load, "cpu": cpu, "waited": waited}
            while time.monotonic() < now + interval and not os.path.exists(os.path.join(run, "stop")):
                time.sleep(0.5)


# Why an error counter rises in this soak. Anything else that rises has no known cause and fails the run.
CAUSES = [
    (r"^nts\.ntske\.timeouts", "the attacker: connections that never finish a request are closed at the deadline"),
    (r"^nts\.ntske\.handshakeTimeouts", "the attacker: trickled ClientHellos closed at the deadline"),
    (r"^nts\.ntske\.handshakeFailures", "the attacker: its trickled ClientHello prefix is not a valid handshake when cut off"),
    (r"^nts\.ntske\.refused", "the attacker: connections over the per-source or global budget refused at accept"),
    (r"^nts\.ntske\.evicted", "the attacker: its unfinished connections evicted to make room for newcomers"),
    (r"^nts\.ntske\.acceptBackoffs", "the attacker: accept failed for want of descriptors (the listener pauses 1 s)"),
    (r"^ntp\.dropped\.sendFailed", "load: the node's socket send buffer was full at that moment"),
    (r"^siblings\..*\.(failures|consecutiveFailures)$", "sibling polls that timed out (load on a shared machine), not authentication"),
]


def is_error_counter(key):
    """A counter of something that went wrong (not a histogram of timestamp errors, not a gauge like errorBound)."""
    if key.startswith(("ntp.precision.", "timekeeping.", "busiestClients.")) or key.endswith("Since"):
        return False
    return key.startswith("ntp.dropped.") or re.search(
        r"(?i)fail|refus|timeout|evict|nak$|reject|backoff|errorResponses|kissOfDeath|lost", key.split(".")[-1]) is not None
AUTH = ["ntp.ntsNAK", "ntp.ntsAuthenticationFailed", "ntp.dropped.authenticationFailed"]


def fit(xs, ys):
    """The trend per second: the median of the slopes between every two samples (Theil-Sen), so one sample
    caught mid-churn (descriptors read a moment before the NTS-KE count) does not tilt a short run's line."""
    slopes = sorted((ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs)) if xs[j] != xs[i])
    if not slopes:
        return 0.0
    middle = len(slopes) // 2
    return slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2


def report(run):
    rows = list(csv.DictReader(open(os.path.join(run, "samples.csv"))))
    counters = [json.loads(line) for line in open(os.path.join(run, "counters.jsonl")) if line.strip()]
    counters = [c for c in counters if c["counters"]]
    events = [line.split(" ", 1) for line in open(os.path.join(run, "events.txt")).read().splitlines() if line.strip()] \
        if os.path.exists(os.path.join(run, "events.txt")) else []
    load = last_json(os.path.join(run, "load.jsonl"))
    attacker_lines = [json.loads(l) for l in open(os.path.join(run, "attacker.jsonl")) if l.strip()] \
        if os.path.exists(os.path.join(run, "attacker.jsonl")) else []
    lines, failed = [], []
    say = lines.append
    if len(rows) < 4 or len(counters) < 2:
        print("soak: too few samples to judge (%d)" % len(rows))
        return 1
    t = [float(r["t"]) for r in rows]
    rss = [int(r["rss_kib"]) for r in rows]
    fds = [int(r["fds"]) for r in rows]
    threads = [int(r["threads"]) for r in rows]
    loads = [float(r["load1"]) for r in rows]
    half = [i for i in range(len(rows)) if t[i] >= t[-1] / 2]
    span = t[half[-1]] - t[half[0]]
    rss_rise = fit([t[i] for i in half], [rss[i] for i in half]) * span
    # The attacker's connections come and go every deadline (2 s): judged is what the node holds besides the
    # NTS-KE connections open at that sample (status's count, read right after the descriptors).
    own = [fds[i] - int(r["ntske_active"] or 0) for i, r in enumerate(rows)]
    fds_rise = fit([t[i] for i in half], [own[i] for i in half]) * span
    rss_med = sorted(rss)[len(rss) // 2]
    fds_med = sorted(own)[len(own) // 2]
    rss_tol = max(4096, 0.05 * rss_med)
    # Descriptors and the NTS-KE count are read a moment apart while the attacker's connections churn: the
    # tolerance allows a tenth of what the attacker holds on top (10 in the 90 s smoke, 40 in the soak).
    attacker_max = max([int(r["attacker_open"] or 0) for r in rows] + [0])
    fds_tol = max(10, 0.10 * fds_med) + 0.10 * attacker_max
    say("soak of %.1f min, %d samples; node load average %.1f-%.1f (median %.1f)" % (
        t[-1] / 60, len(rows), min(loads), max(loads), sorted(loads)[len(loads) // 2]))
    say("resident memory: start %.1f MiB, end %.1f MiB, max %.1f MiB; second half: fitted change %+.2f MiB over %.1f min (tolerance %.1f MiB): %s" % (
        rss[0] / 1024, rss[-1] / 1024, max(rss) / 1024, rss_rise / 1024, span / 60, rss_tol / 1024,
        "flat" if rss_rise <= rss_tol else "RISING"))
    say("open descriptors: start %d, end %d, min %d, max %d; without NTS-KE connections: start %d, end %d, max %d; "
        "second half: fitted change %+.1f (tolerance %.0f): %s" % (
        fds[0], fds[-1], min(fds), max(fds), own[0], own[-1], max(own), fds_rise, fds_tol, "flat" if fds_rise <= fds_tol else "RISING"))
    say("threads: start %d, end %d, max %d" % (threads[0], threads[-1], max(threads)))
    if rss_rise > rss_tol:
        failed.append("resident memory rises in the second half")
    if fds_rise > fds_tol:
        failed.append("descriptors rise in the second half")
    sent = load.get("plain_sent", 0) + load.get("nts_sent", 0)
    received = load.get("plain_received", 0) + load.get("nts_received", 0)
    shares = [float(r["plain_share"]) for r in rows if r["plain_share"]] + [float(r["nts_share"]) for r in rows if r["nts_share"]]
    say("load: %d requests sent (%d plain, %d NTS), %.3f %% answered (plain %.3f %%, NTS %.3f %%); worst 10-s window %.2f %%" % (
        sent, load.get("plain_sent", 0), load.get("nts_sent", 0), 100 * received / max(1, sent),
        100 * load.get("plain_received", 0) / max(1, load.get("plain_sent", 0)),
        100 * load.get("nts_received", 0) / max(1, load.get("nts_sent", 0)), 100 * min(shares) if shares else 0))
    drops = [int(r["socket_drops"]) for r in rows if r.get("socket_drops")]
    if drops:
        say("requests dropped at ntp1's NTP socket (receive buffer full, /proc/net/udp): %d (%.3f %% of those sent); the rest of the "
            "unanswered were lost on the generator's side or late" % (drops[-1] - drops[0], 100 * (drops[-1] - drops[0]) / max(1, sent)))
    windows = [(float(r["plain_share"]) + float(r["nts_share"])) / 2 for r in rows if r["plain_share"] and r["nts_share"]]
    waits = [float(r["runq_wait_pct"]) for r in rows if r["plain_share"] and r["nts_share"] and r.get("runq_wait_pct")]
    if waits and len(waits) == len(windows):
        bad = [w for share, w in zip(windows, waits) if share < 0.99]
        good = [w for share, w in zip(windows, waits) if share >= 0.99]
        median = lambda v: sorted(v)[len(v) // 2] if v else 0
        say("windows answering under 99 %%: %d of %d; the node's threads, runnable but waiting for a CPU (/proc schedstat, summed "
            "over threads), waited a median %.2f s per second in those, %.2f s in the others" % (
                len(bad), len(windows), median(bad) / 100, median(good) / 100))
    ke_ok, ke_bad = load.get("ke_completed", 0), load.get("ke_failed", 0)
    say("good NTS-KE clients under attack: %d of %d sessions completed (%.2f %%)%s" % (
        ke_ok, ke_ok + ke_bad, 100 * ke_ok / max(1, ke_ok + ke_bad),
        "; failures: " + json.dumps(load.get("ke_errors")) if ke_bad else ""))
    if attacker_lines:
        opened = [a["open"] for a in attacker_lines]
        say("attacker: %d connections open on its side (median %d, max %d), %d connects, %d closes seen" % (
            opened[-1], sorted(opened)[len(opened) // 2], max(opened), attacker_lines[-1]["connects"], attacker_lines[-1]["closes"]))
    say("NTS probe client (chrony-like, across both rotations): %d authenticated, %d NAKs, %d rejected, %d lost, %d NTS-KE sessions%s" % (
        load.get("probe_authenticated", 0), load.get("probe_nak", 0), load.get("probe_rejected", 0), load.get("probe_lost", 0),
        load.get("probe_rekeys", 0), "; " + json.dumps(load.get("probe_errors")) if load.get("probe_errors") else ""))
    for label, when in [(e[1], float(e[0])) for e in events]:
        say("event at %.0f s: %s" % (when, label))
    first, last = counters[0]["counters"], counters[-1]["counters"]
    delta = {k: last.get(k, 0) - first.get(k, 0) for k in set(first) | set(last)}
    auth = {k: delta.get(k, 0) for k in AUTH}
    auth.update({k: v for k, v in delta.items() if k.startswith("siblings.") and k.endswith(".rejected")})
    auth["probe NAKs"] = load.get("probe_nak", 0)
    auth["probe rejected"] = load.get("probe_rejected", 0)
    auth_total = sum(auth.values())
    say("authentication failures over the whole soak, rotations included: %d (%s)" % (
        auth_total, ", ".join("%s %d" % kv for kv in sorted(auth.items()))))
    if auth_total:
        failed.append("authentication failures: %d" % auth_total)
    rose = {k: v for k, v in delta.items() if v > 0 and is_error_counter(k) and k not in auth}
    if rose:
        say("error counters that rose:")
    # Load shedding drops requests that waited over max_queue_delay while the node stayed behind: expected
    # when its threads were kept from a CPU (another job on a shared machine), not at half the lossless rate
    # on a machine of its own.
    all_waits = [float(r["runq_wait_pct"]) for r in rows if r.get("runq_wait_pct")]
    starved = max(all_waits) if all_waits else 0
    for key, value in sorted(rose.items()):
        cause = next((why for pattern, why in CAUSES if re.search(pattern, key)), None)
        if key == "ntp.dropped.tooOld" and starved >= 10:
            cause = ("load shedding: the node's threads waited for a CPU up to %.2f s per second (run queue), so requests "
                     "waited over max_queue_delay while the loop stayed behind" % (starved / 100))
        say("  %s +%g: %s" % (key, value, cause or "NO KNOWN CAUSE"))
        if cause is None:
            failed.append("%s rose without a known cause" % key)
    say("VERDICT: " + ("PASS" if not failed else "FAIL: " + "; ".join(failed)))
    text = "\n".join(lines)
    print(text)
    open(os.path.join(run, "verdict.txt"), "w").write(text + "\n")
    plot(run, rows, events)
    return 1 if failed else 0


def plot(run, rows, events):
    gnuplot = next((p for p in ("/usr/bin/gnuplot", "/usr/bin/gnuplot-nox") if os.path.exists(p)), None)
    if gnuplot is None:
        print("(no gnuplot: scripts/install-deps.sh bench installs it; no plot)")
        return
    data = os.path.join(run, "plot.dat")
    with open(data, "w") as f:
        for r in rows:
            if r["answered_per_s"]:
                f.write("%s %s %s %s %s %s\n" % (float(r["t"]) / 60, int(r["rss_kib"]) / 1024, r["fds"], r["answered_per_s"],
                                                 r["offered_per_s"], r["attacker_open"] or 0))
    marks = "\n".join('set arrow from %f, graph 0 to %f, graph 1 nohead lc rgb "#aa3333" dt 2' % (float(e[0]) / 60, float(e[0]) / 60)
                      for e in events)
    starts = [e for e in events if "start" in e[1]]
    labels = "\n".join('set label "%s" at first %f, graph %f right font ",8" tc rgb "#aa3333"' % (
        e[1].split(":")[0], float(e[0]) / 60 - 0.1, 0.12 + 0.12 * i) for i, e in enumerate(starts))
    times = [float(r["t"]) for r in rows]
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    script = f"""
set terminal pngcairo size 900,720 font ",10"
set output "{os.path.join(run, 'soak.png')}"
set multiplot layout 3,1 title "fleetnode soak: ntp1 under load, attack and rotations (samples every {step:.0f} s)"
set grid
set xrange [0:*]
set offsets 0, 0, graph 0.15, 0
set lmargin 12
{marks}
{labels}
set ylabel "resident MiB"
set yrange [0:*]
plot "{data}" using 1:2 with linespoints pt 7 ps 0.4 lc rgb "#1f77b4" title "RSS (VmRSS)"
unset label
set ylabel "count"
plot "{data}" using 1:3 with linespoints pt 7 ps 0.4 lc rgb "#2ca02c" title "open descriptors", \\
     "{data}" using 1:6 with lines lc rgb "#999999" title "attacker connections (its side)"
set ylabel "requests/s"
set xlabel "minutes"
plot "{data}" using 1:5 with lines lc rgb "#999999" title "offered", \\
     "{data}" using 1:4 with linespoints pt 7 ps 0.4 lc rgb "#d62728" title "answered"
unset multiplot
"""
    result = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if result.returncode != 0:
        print("gnuplot failed: " + result.stderr)
    else:
        print("plot: " + os.path.join(run, "soak.png"))


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "sample":
        sample(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]), sys.argv[7])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        sys.exit(report(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(64)
