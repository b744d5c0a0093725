#!/usr/bin/env python3
"""Benchmarks side by side: concur-native against curl, requests and fetch, on one loopback
HTTPS server started once, in one run, on one machine.

    python3 benches/run.py            # builds what it needs (release), prints the table
    BENCH_REPEATS=9 python3 benches/run.py

Each row is a median over repeated runs and a ratio to its peer. The table is printed and
written as JSON (target/bench/latest.json) and Markdown (target/bench/latest.md), so runs can be
compared across commits; docs/benchmarks.md keeps the latest. Needs what the README's test
command needs, plus curl; installs `requests` into the benchmark venv.
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
COUNT = int(os.environ.get("BENCH_COUNT", "500"))


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def cargo_target_dir():
    meta = run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT).stdout
    return Path(json.loads(meta)["target_directory"])


def build(target):
    """Release builds of the library, the test server, token_loop, the C example, and both
    packages; returns the paths the rows need."""
    env = dict(os.environ)
    env.pop("CARGO_BUILD_TARGET", None)
    run(["cargo", "build", "--release", "--quiet", "-p", "concur-native", "-p",
         "concur-test-server", "-p", "concur-native-bench", "--lib", "--bins"], cwd=ROOT, env=env)
    release = target / "release"
    example = release / "native_token_bench"
    run(["cc", "-O2", "-std=c99", "-I", str(ROOT / "include"), str(ROOT / "examples/native_token.c"),
         "-o", str(example), f"-L{release}", "-lconcur_native", f"-Wl,-rpath,{release}"])
    peak_rss = release / "peak_rss"
    run(["cc", "-O2", str(ROOT / "benches/peak_rss.c"), "-o", str(peak_rss)])
    venv = target / "bench-venv"
    if not (venv / "bin/python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    wheels = target / "bench-wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    run([str(venv / "bin/pip"), "wheel", "--quiet", "--no-deps", "-w", str(wheels),
         str(ROOT / "bindings/python")], env=env)
    wheel = next(wheels.glob("*.whl"))
    run([str(venv / "bin/pip"), "install", "--quiet", "--force-reinstall", str(wheel), "requests"])
    run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT / "bindings/node")
    return {
        "release": release,
        "example": example,
        "python": venv / "bin/python",
        "wheel": wheel,
        "addon": next((ROOT / "bindings/node").glob("*.node")),
        "cdylib": release / "libconcur_native.so",
        "token_loop": release / "token_loop",
        "server": release / "concur-test-server",
        "peak_rss": peak_rss,
    }


def start_server(path):
    process = subprocess.Popen([str(path), "--no-recording", "--exit-on-stdin-eof"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(process.stdout.readline())
    env = dict(os.environ,
               CONCUR_BASE_URL=info["base_url"], CONCUR_CA_FILE=info["ca_file"],
               CONCUR_CONSUMER_KEY=info["consumer_key"], CONCUR_LOGIN_ID=info["login_id"],
               CONCUR_PASSWORD=info["password"], NODE_EXTRA_CA_CERTS=info["ca_file"],
               CONCUR_OAUTH2_CLIENT_ID=info["oauth2_client_id"],
               CONCUR_OAUTH2_CLIENT_SECRET=info["oauth2_client_secret"],
               BENCH_COUNT=str(COUNT), BENCH_REPEATS=str(REPEATS))
    return process, env


class redis_server:
    """A redis-server on a free loopback port, without persistence, for the Redis rows."""

    def __enter__(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        return f"redis://127.0.0.1:{port}/"

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait()


def wall(cmd, env, repeats=REPEATS * 6):
    """Median wall time of a whole process."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_kib(helper, cmd, env):
    """Peak RSS of a command, measured by a small C parent (benches/peak_rss.c): a child of
    Python would report Python's own size, inherited at fork."""
    out = subprocess.run([str(helper)] + cmd, env=env, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def timed(cmd):
    """Wall time of one run of a command."""
    started = time.perf_counter()
    run(cmd)
    return time.perf_counter() - started


def token_loop(path, mode, env, count=COUNT):
    """Median seconds per token of token_loop MODE."""
    per = []
    for _ in range(REPEATS):
        out = json.loads(run([str(path), mode, str(count)], env=env).stdout)
        per.append(out["seconds"] / out["count"])
    return statistics.median(per)


def interleaved(path, modes, env, count=COUNT):
    """Median seconds per token of each token_loop mode, the runs taken in turn."""
    per = {mode: [] for mode in modes}
    for _ in range(2 * REPEATS - 1):
        for mode in modes:
            out = json.loads(run([str(path), mode, str(count)], env=env).stdout)
            per[mode].append(out["seconds"] / out["count"])
    return [statistics.median(per[mode]) for mode in modes]


def curl_config(env, count, directory):
    """A curl config fetching the token URL `count` times over one kept-alive connection."""
    url = env["CONCUR_BASE_URL"] + "/net2/oauth2/accesstoken.ashx"
    config = Path(directory) / f"curl-{count}.cfg"
    config.write_text("".join(f'url = "{url}"\noutput = "/dev/null"\n' for _ in range(count)))
    return config


def curl_base(env):
    return ["curl", "-s", "--fail", "--cacert", env["CONCUR_CA_FILE"],
            "-u", f'{env["CONCUR_LOGIN_ID"]}:{env["CONCUR_PASSWORD"]}',
            "-H", f'X-ConsumerKey: {env["CONCUR_CONSUMER_KEY"]}']


def main():
    target = cargo_target_dir()
    print("building (release)...", file=sys.stderr)
    paths = build(target)
    server, env = start_server(paths["server"])
    rows = []

    def add(row, ours, peer, ratio, target_text, met, unit):
        rows.append({"row": row, "ours": ours, "peer": peer, "ratio": ratio,
                     "target": target_text, "met": met, "unit": unit})

    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = env["CONCUR_BASE_URL"] + "/net2/oauth2/accesstoken.ashx"
            # 1. One token, whole process, cold.
            c_time = wall([str(paths["example"])], env)
            curl_time = wall(curl_base(env) + ["-o", "/dev/null", url], env)
            add("1. one token, whole process: C example vs curl", c_time * 1e3, curl_time * 1e3,
                c_time / curl_time, "<= 1.0x curl", c_time <= curl_time, "ms")

            # 2. 500 tokens in one process, sequential.
            # Interleaved, so that a noisy moment of the machine hits both alike.
            client, floor = interleaved(paths["token_loop"], ["client", "floor"], env)
            one_shot = token_loop(paths["token_loop"], "oneshot", env, max(COUNT // 5, 20))
            spawns = 50
            curl_loop = sum(timed(curl_base(env) + ["-o", "/dev/null", url]) for _ in range(spawns))
            curl_loop /= spawns
            keepalive_cfg = curl_config(env, COUNT, tmp)
            keepalive = statistics.median(
                timed(curl_base(env) + ["-K", str(keepalive_cfg)]) / COUNT for _ in range(REPEATS))
            add("2a. 500 tokens: client vs a loop spawning curl", client * 1e3, curl_loop * 1e3,
                curl_loop / client, ">= 10x faster", curl_loop / client >= 10, "ms/token")
            add("2b. 500 tokens: client vs bare keep-alive GET (floor)", client * 1e3, floor * 1e3,
                client / floor, "<= 1.5x the floor", client / floor <= 1.5, "ms/token")
            add("2c. 500 tokens: one-shot calls vs client", one_shot * 1e3, client * 1e3,
                one_shot / client, "(information)", None, "ms/token")
            add("2d. 500 tokens: client vs curl keep-alive, one process", client * 1e3,
                keepalive * 1e3, client / keepalive, "(information)", None, "ms/token")

            # 2e-2g. The current API and the token manager.
            grant, grant_floor = interleaved(paths["token_loop"], ["oauth2", "oauth2_floor"], env)
            add("2e. 500 password grants: client vs bare keep-alive form POST (floor)",
                grant * 1e3, grant_floor * 1e3, grant / grant_floor, "<= 1.3x the floor",
                grant / grant_floor <= 1.3, "ms/token")
            cached = {}
            for mode in ["cached1", "cached8"]:
                cached[mode] = 1 / token_loop(paths["token_loop"], mode, env, 2_000_000)
            add("2f. TokenManager.access_token(), cached, 1 thread", cached["cached1"] / 1e6,
                10.0, cached["cached1"] / 1e7, ">= 10 M/s per thread",
                cached["cached1"] >= 1e7, "M calls/s")
            add("2g. TokenManager.access_token(), cached, 8 threads (all)", cached["cached8"] / 1e6,
                None, None, "(information: 2 cores)", None, "M calls/s")
            refresh_file = token_loop(paths["token_loop"], "refresh_file", env, 200)
            add("2h. a refresh through the file store (lock, grant, fsync, rename)",
                refresh_file * 1e3, None, None, "(information)", None, "ms/refresh")
            with redis_server() as redis_url:
                refresh_redis = token_loop(paths["token_loop"], "refresh_redis",
                                           dict(env, CONCUR_REDIS_URL=redis_url), 200)
            add("2i. a refresh through the Redis store (lock, fence, grant, fenced save)",
                refresh_redis * 1e3, None, None, "(information)", None, "ms/refresh")

            # 3. Python.
            py = json.loads(run([str(paths["python"]), str(ROOT / "benches/python_bench.py")],
                                env=env).stdout)
            add("3a. Python: Client vs requests.Session + xml.etree", py["client"] * 1e3,
                py["requests"] * 1e3, py["requests"] / py["client"], ">= 3x faster",
                py["requests"] / py["client"] >= 3, "ms/token")
            add("3b. Python: native_token() one-shot vs Client", py["one_shot"] * 1e3,
                py["client"] * 1e3, py["one_shot"] / py["client"], "(information)", None, "ms/token")
            add("3c. Python: 8 threads vs 1 thread, one Client", py["threads8_per_s"],
                py["threads1_per_s"], py["threads8_per_s"] / py["threads1_per_s"],
                "> 1x (GIL released)", py["threads8_per_s"] > py["threads1_per_s"], "tokens/s")
            add("3d. Python, current API: password_grant vs requests.Session form POST + .json()",
                py["oauth2_client"] * 1e3, py["oauth2_requests"] * 1e3,
                py["oauth2_requests"] / py["oauth2_client"], ">= 3x faster",
                py["oauth2_requests"] / py["oauth2_client"] >= 3, "ms/token")
            add("3e. Python: TokenManager.access_token(), cached, 1 thread (peer: pure-Python cache)",
                py["manager_cached1_per_s"] / 1e6, py["pure_cache1_per_s"] / 1e6,
                py["manager_cached1_per_s"] / py["pure_cache1_per_s"], "(information)", None,
                "M calls/s")
            add("3f. Python: TokenManager.access_token(), cached, 8 threads (all; peer: pure-Python)",
                py["manager_cached8_per_s"] / 1e6, py["pure_cache8_per_s"] / 1e6,
                py["manager_cached8_per_s"] / py["pure_cache8_per_s"], "(information)", None,
                "M calls/s")

            # 4. Node.
            node = json.loads(run(["node", str(ROOT / "benches/node_bench.js")], env=env).stdout)
            add("4a. Node: Client vs fetch + regex", node["client"] * 1e3, node["fetch"] * 1e3,
                node["fetch"] / node["client"], ">= 2x faster", node["fetch"] / node["client"] >= 2,
                "ms/token")
            add("4b. Node: nativeToken() one-shot vs Client", node["one_shot"] * 1e3,
                node["client"] * 1e3, node["one_shot"] / node["client"], "(information)", None,
                "ms/token")
            add("4c. Node: event-loop delay, 100 concurrent calls (p99)", node["loop_delay_p99_ms"],
                5.0, node["loop_delay_p99_ms"] / 5.0, "< 5 ms", node["loop_delay_p99_ms"] < 5,
                "ms")
            add("4d. Node, current API: passwordGrant vs fetch form POST + .json()",
                node["oauth2_client"] * 1e3, node["oauth2_fetch"] * 1e3,
                node["oauth2_fetch"] / node["oauth2_client"], ">= 2x faster",
                node["oauth2_fetch"] / node["oauth2_client"] >= 2, "ms/token")
            add("4e. Node: TokenManager.accessToken(), cached, awaited in turn",
                node["cached_per_s"] / 1e3, None, None, "(information)", None, "k calls/s")

            # 5. Parsing alone.
            parse = token_loop(paths["token_loop"], "parse", env, 200_000)
            add("5. parsing a typical token document", 1 / parse, None, None, "(information)", None,
                "tokens/s")

            # 6. Footprint.
            stripped = Path(tmp) / "libconcur_native.so"
            shutil.copy(paths["cdylib"], stripped)
            run(["strip", str(stripped)])
            size = stripped.stat().st_size / 2**20
            add("6a. stripped cdylib size", size, 3.0, size / 3.0, "<= 3 MiB", size <= 3.0, "MiB")
            c_rss = max(peak_rss_kib(paths["peak_rss"], [str(paths["example"])], env) for _ in range(5))
            curl_rss = peak_rss_kib(paths["peak_rss"], curl_base(env) + ["-o", "/dev/null", url], env)
            add("6b. peak RSS of the C example (peer: curl)", c_rss / 1024, curl_rss / 1024,
                c_rss / curl_rss, "<= 8 MiB", c_rss / 1024 <= 8.0, "MiB")
            add("6c. Python wheel size", paths["wheel"].stat().st_size / 2**20, None, None,
                "(information)", None, "MiB")
            add("6d. Node addon size", paths["addon"].stat().st_size / 2**20, None, None,
                "(information)", None, "MiB")
    finally:
        server.stdin.close()
        server.wait()

    report(rows, target)


def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


def report(rows, target):
    header = ["row", "ours", "peer", "ratio", "target", "met?", "unit"]
    lines = [header] + [
        [r["row"], fmt(r["ours"]), fmt(r["peer"]), fmt(r["ratio"]) + ("x" if r["ratio"] else ""),
         r["target"], {True: "yes", False: "NO", None: "-"}[r["met"]], r["unit"]]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(line)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    machine = {
        "cpus": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                     if l.startswith("model name")), platform.processor()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": run(["node", "--version"]).stdout.strip(),
        "rustc": run(["rustc", "--version"]).stdout.strip(),
        "commit": run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip(),
        "repeats": REPEATS,
        "count": COUNT,
    }
    out = target / "bench"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    (out / "latest.md").write_text("\n".join(md) + "\n")
    print(f"\nmachine: {machine}\nwritten: {out / 'latest.json'}, {out / 'latest.md'}")


if __name__ == "__main__":
    main()
