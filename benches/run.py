#!/usr/bin/env python3
"""Benchmarks side by side: concur-native against curl, requests and fetch, on one loopback
HTTPS server started once, in one run, on one machine; writes the whole of docs/benchmarks.md.

    python3 benches/run.py                  # builds what it needs (release), every row, the page
    python3 benches/run.py --quick          # fewer repeats and calls (development; page says so)
    python3 benches/run.py --only 3e,4c     # those rows' groups only; the page is not written
    python3 benches/run.py --no-build ...   # reuse the last build (development)
    BENCH_REPEATS=9 python3 benches/run.py  # more repeats

Each row is a median over repeated runs and a ratio to its peer. The table goes to stdout,
progress (which group runs, elapsed) to stderr. Every run writes target/bench/latest.json and
target/bench/latest.md; a run of every row also writes docs/benchmarks.md from
benches/page.md.in (its {{run}} placeholder becomes the commit, date, machine, load and table),
so that the page always shows one run of one commit (`--page PATH` writes it elsewhere,
`--no-page` not at all). Needs what the README's test command needs, plus curl and
redis-server; installs `requests` into the benchmark venv.

Adding a row: write a function of `ctx` that measures and calls `ctx.add(...)` once per row,
decorate it with `@group("8a", "8b", title=...)` naming the rows it adds, and place it where it
should run (groups run, and rows appear, in the order of this file). Nothing else changes.
"""

import argparse
import datetime
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
PAGE = ROOT / "docs/benchmarks.md"
TEMPLATE = ROOT / "benches/page.md.in"


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def cargo_target_dir():
    meta = run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT).stdout
    return Path(json.loads(meta)["target_directory"])


def paths_of(target):
    release = target / "release"
    return {
        "release": release,
        "example": release / "native_token_bench",
        "python": target / "bench-venv/bin/python",
        "wheel": next((target / "bench-wheels").glob("*.whl"), None),
        "addon": next((ROOT / "bindings/node").glob("*.node"), None),
        "cdylib": release / "libconcur_native.so",
        "token_loop": release / "token_loop",
        "vault_bench": release / "vault_bench",
        "refresh_hold": release / "refresh_hold",
        "server": release / "concur-test-server",
        "emulator": release / "concur-emulator",
        "grant_load": release / "grant_load",
        "peak_rss": release / "peak_rss",
    }


def build(target):
    """Release builds of the library, the test server, token_loop, the C example, and both
    packages; returns the paths the rows need."""
    env = dict(os.environ)
    env.pop("CARGO_BUILD_TARGET", None)
    run(["cargo", "build", "--release", "--quiet", "-p", "concur-native", "-p",
         "concur-emulator", "-p", "concur-native-bench", "--lib", "--bins"], cwd=ROOT, env=env)
    release = target / "release"
    run(["cc", "-O2", "-std=c99", "-I", str(ROOT / "include"), str(ROOT / "examples/native_token.c"),
         "-o", str(release / "native_token_bench"), f"-L{release}", "-lconcur_native",
         f"-Wl,-rpath,{release}"])
    run(["cc", "-O2", str(ROOT / "benches/peak_rss.c"), "-o", str(release / "peak_rss")])
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
    return paths_of(target)


def start_server(path, count, repeats):
    process = subprocess.Popen([str(path), "--no-recording", "--exit-on-stdin-eof"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(process.stdout.readline())
    env = dict(os.environ,
               CONCUR_BASE_URL=info["base_url"], CONCUR_CA_FILE=info["ca_file"],
               CONCUR_CONSUMER_KEY=info["consumer_key"], CONCUR_LOGIN_ID=info["login_id"],
               CONCUR_PASSWORD=info["password"], NODE_EXTRA_CA_CERTS=info["ca_file"],
               CONCUR_OAUTH2_CLIENT_ID=info["oauth2_client_id"],
               CONCUR_OAUTH2_CLIENT_SECRET=info["oauth2_client_secret"],
               BENCH_COUNT=str(count), BENCH_REPEATS=str(repeats))
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


class postgres_server:
    """A PostgreSQL of its own for the vault's rows: `initdb` into a temporary directory and
    `postgres` on a free loopback port with fsync off (as the tests run it), as `nobody` when
    this runs as root (both refuse root); stopped and removed at the end."""

    @staticmethod
    def program(name):
        found = shutil.which(name) or sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if not found:
            raise SystemExit(f"{name} is missing: bash tests/prerequisites.sh --install")
        return str(found if isinstance(found, str) else found[-1])

    def __enter__(self):
        import socket
        self.dir = Path(tempfile.mkdtemp(prefix="concur-bench-pg-"))
        user = {}
        if os.geteuid() == 0:
            os.chown(self.dir, 65534, 65534)
            user = {"user": 65534, "group": 65534, "extra_groups": []}
        data = self.dir / "data"
        subprocess.run([self.program("initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                       cwd=self.dir, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, **user)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [self.program("postgres"), "-D", str(data), "-p", str(port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **user)
        for _ in range(600):
            ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)],
                                   check=False).returncode == 0 if shutil.which("pg_isready") \
                else self._connects(port)
            if ready:
                break
            time.sleep(0.05)
        return f"postgres://postgres@127.0.0.1:{port}/postgres"

    @staticmethod
    def _connects(port):
        import socket
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return True
        except OSError:
            return False

    def __exit__(self, *exc):
        self.process.send_signal(2)  # fast shutdown
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


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


class Context:
    """What a group of rows needs: the built paths, the server's environment, the settings of
    this run, and `add` for its rows."""

    def __init__(self, paths, env, tmp, repeats, count, quick, rows):
        self.paths, self.env, self.tmp = paths, env, tmp
        self.repeats, self.count, self.quick = repeats, count, quick
        self.rows = rows
        self.url = env["CONCUR_BASE_URL"] + "/net2/oauth2/accesstoken.ashx"
        self._python = {}
        self._node = {}

    def add(self, row, ours, peer, ratio, target_text, met, unit):
        self.rows.append({"row": row, "ours": ours, "peer": peer, "ratio": ratio,
                          "target": target_text, "met": met, "unit": unit})

    def scaled(self, full, quick):
        """A count for this run: `full`, or `quick` in --quick mode."""
        return quick if self.quick else full

    def wall(self, cmd):
        """Median wall time of a whole process."""
        times = []
        for _ in range(self.repeats * 6):
            started = time.perf_counter()
            subprocess.run(cmd, env=self.env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    def token_loop_json(self, mode, count, env=None):
        return json.loads(run([str(self.paths["token_loop"]), mode, str(count)],
                              env=env or self.env).stdout)

    def token_loop(self, mode, count=None, env=None):
        """Median seconds per token of token_loop MODE."""
        count = count or self.count
        per = []
        for _ in range(self.repeats):
            out = self.token_loop_json(mode, count, env)
            per.append(out["seconds"] / out["count"])
        return statistics.median(per)

    def interleaved(self, modes, count=None):
        """Median seconds per token of each token_loop mode, the runs taken in turn."""
        count = count or self.count
        per = {mode: [] for mode in modes}
        for _ in range(2 * self.repeats - 1):
            for mode in modes:
                out = self.token_loop_json(mode, count)
                per[mode].append(out["seconds"] / out["count"])
        return [statistics.median(per[mode]) for mode in modes]

    def python_bench(self, *parts, **extra_env):
        """The JSON of benches/python_bench.py measuring only `parts`."""
        env = dict(self.env, BENCH_PARTS=",".join(parts), **extra_env)
        return json.loads(run([str(self.paths["python"]), str(ROOT / "benches/python_bench.py")],
                              env=env).stdout)

    def node_bench(self, *parts, **extra_env):
        """The JSON of benches/node_bench.js measuring only `parts`."""
        env = dict(self.env, BENCH_PARTS=",".join(parts), **extra_env)
        return json.loads(run(["node", str(ROOT / "benches/node_bench.js")], env=env).stdout)

    def curl_base(self):
        env = self.env
        return ["curl", "-s", "--fail", "--cacert", env["CONCUR_CA_FILE"],
                "-u", f'{env["CONCUR_LOGIN_ID"]}:{env["CONCUR_PASSWORD"]}',
                "-H", f'X-ConsumerKey: {env["CONCUR_CONSUMER_KEY"]}']


# The groups of rows, in the order they run and appear: (row ids, title, function).
GROUPS = []


def group(*ids, title):
    def register(fn):
        GROUPS.append((ids, title, fn))
        return fn
    return register


@group("1", title="one token, whole process")
def whole_process(ctx):
    c_time = ctx.wall([str(ctx.paths["example"])])
    curl_time = ctx.wall(ctx.curl_base() + ["-o", "/dev/null", ctx.url])
    ctx.add("1. one token, whole process: C example vs curl", c_time * 1e3, curl_time * 1e3,
            c_time / curl_time, "<= 1.0x curl", c_time <= curl_time, "ms")


@group("2a", "2b", "2c", "2d", title="tokens in one process, sequential")
def sequential(ctx):
    # Interleaved, so that a noisy moment of the machine hits both alike.
    client, floor = ctx.interleaved(["client", "floor"])
    one_shot = ctx.token_loop("oneshot", max(ctx.count // 5, 20))
    spawns = ctx.scaled(50, 10)
    curl_loop = sum(timed(ctx.curl_base() + ["-o", "/dev/null", ctx.url])
                    for _ in range(spawns)) / spawns
    config = Path(ctx.tmp) / f"curl-{ctx.count}.cfg"
    config.write_text("".join(f'url = "{ctx.url}"\noutput = "/dev/null"\n'
                              for _ in range(ctx.count)))
    keepalive = statistics.median(timed(ctx.curl_base() + ["-K", str(config)]) / ctx.count
                                  for _ in range(ctx.repeats))
    n = ctx.count
    ctx.add(f"2a. {n} tokens: client vs a loop spawning curl", client * 1e3, curl_loop * 1e3,
            curl_loop / client, ">= 10x faster", curl_loop / client >= 10, "ms/token")
    ctx.add(f"2b. {n} tokens: client vs bare keep-alive GET (floor)", client * 1e3, floor * 1e3,
            client / floor, "<= 1.5x the floor", client / floor <= 1.5, "ms/token")
    ctx.add(f"2c. {n} tokens: one-shot calls vs client", one_shot * 1e3, client * 1e3,
            one_shot / client, "(information)", None, "ms/token")
    ctx.add(f"2d. {n} tokens: client vs curl keep-alive, one process", client * 1e3,
            keepalive * 1e3, client / keepalive, "(information)", None, "ms/token")


@group("2e", "2f", "2g", title="current API and token manager (Rust)")
def current_rust(ctx):
    grant, grant_floor = ctx.interleaved(["oauth2", "oauth2_floor"])
    ctx.add(f"2e. {ctx.count} password grants: client vs bare keep-alive form POST (floor)",
            grant * 1e3, grant_floor * 1e3, grant / grant_floor, "<= 1.3x the floor",
            grant / grant_floor <= 1.3, "ms/token")
    calls = ctx.scaled(2_000_000, 500_000)
    cached = {mode: 1 / ctx.token_loop(mode, calls) for mode in ["cached1", "cached8"]}
    ctx.add("2f. TokenManager.access_token(), cached, 1 thread", cached["cached1"] / 1e6,
            10.0, cached["cached1"] / 1e7, ">= 10 M/s per thread",
            cached["cached1"] >= 1e7, "M calls/s")
    ctx.add("2g. TokenManager.access_token(), cached, 8 threads (all)", cached["cached8"] / 1e6,
            None, None, "(information: 2 cores)", None, "M calls/s")


@group("2h", "2i", title="refreshes through the stores")
def refreshes(ctx):
    count = ctx.scaled(200, 50)
    refresh_file = ctx.token_loop("refresh_file", count)
    ctx.add("2h. a refresh through the file store (lock, grant, fsync, rename)",
            refresh_file * 1e3, None, None, "(information)", None, "ms/refresh")
    with redis_server() as redis_url:
        refresh_redis = ctx.token_loop("refresh_redis", count,
                                       dict(ctx.env, CONCUR_REDIS_URL=redis_url))
    ctx.add("2i. a refresh through the Redis store (lock kept alive, grant, compare-and-swap save)",
            refresh_redis * 1e3, None, None, "(information)", None, "ms/refresh")


@group("3a", "3b", "3c", "3d", title="Python: client calls")
def python_client(ctx):
    py = ctx.python_bench("client", "one_shot", "requests", "oauth2", "threads")
    ctx.add("3a. Python: Client vs requests.Session + xml.etree", py["client"] * 1e3,
            py["requests"] * 1e3, py["requests"] / py["client"], ">= 3x faster",
            py["requests"] / py["client"] >= 3, "ms/token")
    ctx.add("3b. Python: native_token() one-shot vs Client", py["one_shot"] * 1e3,
            py["client"] * 1e3, py["one_shot"] / py["client"], "(information)", None, "ms/token")
    ctx.add("3c. Python: 8 threads vs 1 thread, one Client", py["threads8_per_s"],
            py["threads1_per_s"], py["threads8_per_s"] / py["threads1_per_s"],
            "> 1x (GIL released)", py["threads8_per_s"] > py["threads1_per_s"], "tokens/s")
    ctx.add("3d. Python, current API: password_grant vs requests.Session form POST + .json()",
            py["oauth2_client"] * 1e3, py["oauth2_requests"] * 1e3,
            py["oauth2_requests"] / py["oauth2_client"], ">= 3x faster",
            py["oauth2_requests"] / py["oauth2_client"] >= 3, "ms/token")


@group("3e", "3f", title="Python: token manager, cached")
def python_manager(ctx):
    py = ctx.python_bench("manager",
                          BENCH_MANAGER_CALLS=str(ctx.scaled(1_000_000, 200_000)))
    ratio1 = py["manager_cached1_per_s"] / py["pure_cache1_per_s"]
    ctx.add("3e. Python: TokenManager.access_token(), cached, 1 thread (peer: pure-Python cache)",
            py["manager_cached1_per_s"] / 1e6, py["pure_cache1_per_s"] / 1e6, ratio1,
            ">= 1x the pure-Python cache", ratio1 >= 1, "M calls/s")
    ctx.add("3f. Python: TokenManager.access_token(), cached, 8 threads (all; peer: pure-Python)",
            py["manager_cached8_per_s"] / 1e6, py["pure_cache8_per_s"] / 1e6,
            py["manager_cached8_per_s"] / py["pure_cache8_per_s"], "(information)", None,
            "M calls/s")


@group("3g", title="Python: what the binding adds to a network call")
def python_overhead(ctx):
    # The same client call from Rust (token_loop) and from Python, taken in turn.
    rust, python = [], []
    for _ in range(2 * ctx.repeats - 1):
        out = ctx.token_loop_json("client", ctx.count)
        rust.append(out["seconds"] / out["count"])
        python.append(ctx.python_bench("client", BENCH_REPEATS="1")["client"])
    rust, python = statistics.median(rust), statistics.median(python)
    added_us = (python - rust) * 1e6
    ctx.add("3g. Python: Client call vs the Rust client's, per token (ours: added µs)",
            added_us, rust * 1e6, python / rust, "<= 5 µs added", added_us <= 5, "µs/token")


@group("4a", "4b", "4c", "4d", "4e", "4f", title="Node")
def node(ctx):
    out = ctx.node_bench("client", "one_shot", "fetch", "oauth2", "cached", "loop_delay",
                         BENCH_CACHED_COUNT=str(ctx.scaled(200_000, 50_000)))
    ctx.add("4a. Node: Client vs fetch + regex", out["client"] * 1e3, out["fetch"] * 1e3,
            out["fetch"] / out["client"], ">= 2x faster", out["fetch"] / out["client"] >= 2,
            "ms/token")
    ctx.add("4b. Node: nativeToken() one-shot vs Client", out["one_shot"] * 1e3,
            out["client"] * 1e3, out["one_shot"] / out["client"], "(information)", None,
            "ms/token")
    p99 = out["loop_delay_p99_ms"]  # None when no burst recorded a sample
    ctx.add("4c. Node: event-loop delay while 100 concurrent calls run (p99 of a burst, median "
            "of the bursts that recorded samples)", p99, 5.0, p99 and p99 / 5.0, "< 5 ms",
            None if p99 is None else p99 < 5, "ms")
    ctx.add("4d. Node, current API: passwordGrant vs fetch form POST + .json()",
            out["oauth2_client"] * 1e3, out["oauth2_fetch"] * 1e3,
            out["oauth2_fetch"] / out["oauth2_client"], ">= 2x faster",
            out["oauth2_fetch"] / out["oauth2_client"] >= 2, "ms/token")
    ctx.add("4e. Node: TokenManager.accessToken(), cached, awaited in turn",
            out["cached_per_s"] / 1e3, None, None, "(information)", None, "k calls/s")
    ctx.add("4f. Node: the same event-loop delay, worst burst (peer: first burst, cold)",
            out["loop_delay_worst_p99_ms"], out["loop_delay_first_p99_ms"], None,
            "(information)", None, "ms")


@group("5", title="parsing")
def parsing(ctx):
    parse = ctx.token_loop("parse", ctx.scaled(200_000, 50_000))
    ctx.add("5. parsing a typical token document", 1 / parse, None, None, "(information)", None,
            "tokens/s")


@group("6a", "6b", "6c", "6d", "6e", title="footprint")
def footprint(ctx):
    # The C library as scripts/install-c.sh installs it (stripped), per feature set.
    sizes = json.loads(run(["bash", str(ROOT / "scripts/library-size.sh"), "default", "redis"],
                           cwd=ROOT).stdout)
    size = sizes["default"]["stripped_bytes"] / 2**20
    ctx.add("6a. C library as installed (stripped), default features", size, 3.0, size / 3.0,
            "<= 3 MiB", size <= 3.0, "MiB")
    redis = sizes["redis"]["stripped_bytes"] / 2**20
    ctx.add("6e. C library as installed (stripped), --features redis (peer: default)", redis,
            size, redis / size, "(information)", None, "MiB")
    helper = ctx.paths["peak_rss"]
    c_rss = max(peak_rss_kib(helper, [str(ctx.paths["example"])], ctx.env) for _ in range(5))
    curl_rss = peak_rss_kib(helper, ctx.curl_base() + ["-o", "/dev/null", ctx.url], ctx.env)
    ctx.add("6b. peak RSS of the C example (peer: curl)", c_rss / 1024, curl_rss / 1024,
            c_rss / curl_rss, "<= 8 MiB", c_rss / 1024 <= 8.0, "MiB")
    ctx.add("6c. Python wheel size", ctx.paths["wheel"].stat().st_size / 2**20, None, None,
            "(information)", None, "MiB")
    ctx.add("6d. Node addon size", ctx.paths["addon"].stat().st_size / 2**20, None, None,
            "(information)", None, "MiB")


def held_refresh(ctx, cmd):
    """Per mode (ahead, blocking, cached): the longest call over the runs, and the median p99."""
    out = {}
    for mode in ["ahead", "blocking", "cached"]:
        runs = [json.loads(run(cmd + [mode, "1"], env=ctx.env).stdout)
                for _ in range(ctx.repeats)]
        out[mode] = {"max_ms": max(r["max_ms"] for r in runs),
                     "p99_ms": statistics.median(r["p99_ms"] for r in runs)}
    return out


@group("7a", "7b", "7c", "7d", "7e", "7f", title="token manager: calls during a refresh, sealing")
def manager_round_two(ctx):
    for lang, cmd, first in [
        ("Rust", [str(ctx.paths["refresh_hold"])], "7a"),
        ("Python", [str(ctx.paths["python"]), str(ROOT / "benches/python_refresh_hold.py")], "7c"),
    ]:
        held = held_refresh(ctx, cmd)
        ahead, blocking, cached = held["ahead"], held["blocking"], held["cached"]
        second = chr(ord(first[-1]) + 1)
        ctx.add(f"{first}. {lang}: 8 threads during a refresh held 300 ms, longest "
                "access_token(), refresh ahead (peer: every caller waits, as before)",
                ahead["max_ms"], blocking["max_ms"], ahead["max_ms"] / blocking["max_ms"],
                "< 1 ms", ahead["max_ms"] < 1.0, "ms")
        ctx.add(f"{first[0]}{second}. {lang}: the same, p99 (peer: p99 of cached calls, no refresh)",
                ahead["p99_ms"] * 1e3, cached["p99_ms"] * 1e3, ahead["p99_ms"] / cached["p99_ms"],
                "(information)", None, "µs")
    seal = json.loads(run([str(ctx.paths["refresh_hold"]), "seal",
                           str(ctx.scaled(20_000, 5_000))], env=ctx.env).stdout)
    added_save = seal["sealed"]["save_us"] - seal["plain"]["save_us"]
    ctx.add("7e. sealing a stored document (AES-256-GCM): time added to a save (peer: plain save)",
            added_save, seal["plain"]["save_us"], seal["sealed"]["save_us"] / seal["plain"]["save_us"],
            "<= 5 µs added", added_save <= 5.0, "µs")
    added_load = seal["sealed"]["load_us"] - seal["plain"]["load_us"]
    ctx.add("7f. opening a sealed document: time added to a load (peer: plain load)",
            added_load, seal["plain"]["load_us"], seal["sealed"]["load_us"] / seal["plain"]["load_us"],
            "(information)", None, "µs")


@group("8a", "8b", "8c", "8d", title="token vault: cached access_token over 100,000 connections, memory")
def vault_cached(ctx):
    n = ctx.scaled(100_000, 20_000)
    out = json.loads(run([str(ctx.paths["vault_bench"]), "cached", str(n),
                          str(ctx.scaled(2_000_000, 500_000))]).stdout)

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    vault, single = median(out["vault"], "p50_ns"), median(out["manager"], "p50_ns")
    ctx.add(f"8a. TokenVault.access_token(id), cached, {n} connections, random IDs, p50 "
            "(peer: the single TokenManager's cached access_token())", vault, single,
            vault / single, "<= 2x the manager", vault / single <= 2, "ns/call")
    hot = median(out["vault_hot"], "p50_ns")
    ctx.add(f"8b. the same vault, one ID again and again, p50 (peer: the manager)", hot, single,
            hot / single, "(information)", None, "ns/call")
    vault99, single99 = median(out["vault"], "p99_ns"), median(out["manager"], "p99_ns")
    ctx.add("8c. 8a's p99 (of batches of 64 calls; peer: the manager's p99)", vault99, single99,
            vault99 / single99, "(information)", None, "ns/call")
    beyond = out["beyond_strings_bytes"]
    ctx.add(f"8d. memory a cached connection holds beyond its token strings ({n} connections, "
            "counting allocator; peer: all it holds)", beyond, out["held_bytes"],
            beyond / out["held_bytes"], "<= 2 KiB", beyond <= 2048, "bytes")


@group("8e", title="Python: token vault, cached")
def python_vault(ctx):
    n = ctx.scaled(100_000, 20_000)
    path = Path(ctx.tmp) / f"vault-{n}.db"
    if not path.exists():
        run([str(ctx.paths["vault_bench"]), "fill", f"sqlite://{path}", str(n)])
    py = ctx.python_bench("vault", BENCH_VAULT_STORE=f"sqlite://{path}",
                          BENCH_VAULT_CONNECTIONS=str(n),
                          BENCH_VAULT_CALLS=str(ctx.scaled(300_000, 50_000)))
    ratio = py["vault_cached_per_s"] / py["manager_cached_per_s"]
    ctx.add(f"8e. Python: TokenVault.access_token(id), cached, {n} connections, random IDs, "
            "1 thread (peer: TokenManager.access_token(), cached)",
            py["vault_cached_per_s"] / 1e6, py["manager_cached_per_s"] / 1e6, ratio,
            ">= 0.5x the manager", ratio >= 0.5, "M calls/s")


@group("8f", "8g", "8h", "8i", "8j", "8k", "8l", "8m",
       title="token vault: keep_alive throughput and connections() per store")
def vault_stores(ctx):
    keep = ctx.scaled(10_000, 1_000)
    listed = ctx.scaled(100_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp, redis_server() as redis_url, \
            postgres_server() as pg_url:
        urls = ["memory:", f"sqlite://{tmp}/vault.db", redis_url, pg_url]
        out = json.loads(run([str(ctx.paths["vault_bench"]), "stores", str(keep), str(listed),
                              "8"] + urls, env=ctx.env).stdout)
    names = {"memory": "memory", "sqlite": "SQLite", "redis": "Redis", "postgres": "PostgreSQL"}
    for store in out["stores"]:  # the fill rate too, for whoever reads the progress
        progress(f"      {json.dumps(store)}")
    for row, store in zip("fghi", out["stores"]):
        ours, bare = keep / store["keep_alive_s"], keep / store["bare_s"]
        ctx.add(f"8{row}. keep_alive over {keep} connections, concurrency 8, "
                f"{names[store['store']]} store (peer: the same refreshes sent bare by the "
                "client, 8 threads)", ours, bare, ours / bare, ">= 0.7x bare",
                ours / bare >= 0.7, "refreshes/s")
    for row, store in zip("jklm", out["stores"]):
        ctx.add(f"8{row}. connections() over {store['listed']} connections, whole listing, "
                f"{names[store['store']]} store", store["list_ms"], None, None,
                "(information)", None, "ms")
def emulator_process(binary, *flags):
    """A concur-emulator started with `flags`: (process, its JSON line, seconds from the spawn
    to the line)."""
    started = time.perf_counter()
    process = subprocess.Popen([str(binary), "--exit-on-stdin-eof", *flags],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    seconds = time.perf_counter() - started
    return process, json.loads(line), seconds


def emulator_grants(ctx, clients, *flags):
    """Median grants per second of `grant_load` against a fresh emulator started with `flags`."""
    process, info, _ = emulator_process(ctx.paths["emulator"], *flags)
    try:
        env = dict(ctx.env, CONCUR_BASE_URL=info["base_url"], CONCUR_CA_FILE=info["ca_file"],
                   CONCUR_OAUTH2_CLIENT_ID=info["oauth2_client_id"],
                   CONCUR_OAUTH2_CLIENT_SECRET=info["oauth2_client_secret"])
        seconds = ctx.scaled(3, 1)
        rates = [json.loads(run([str(ctx.paths["grant_load"]), str(clients), str(seconds)],
                                env=env).stdout)["per_second"] for _ in range(ctx.repeats)]
        return statistics.median(rates)
    finally:
        process.stdin.close()
        process.wait()


@group("9a", "9b", title="concur-emulator: start-up, token grants per second")
def emulator_rows(ctx):
    binary = ctx.paths["emulator"]
    starts, floors = [], []
    for _ in range(ctx.scaled(21, 7)):
        process, _, seconds = emulator_process(binary)
        process.stdin.close()
        process.wait()
        starts.append(seconds)
        started = time.perf_counter()
        run([str(binary), "--help"])
        floors.append(time.perf_counter() - started)
    start, floor = statistics.median(starts), statistics.median(floors)
    ctx.add("9a. concur-emulator start-up: process start to its JSON line (peer: the same "
            "program printing --help, exec alone)", start * 1e3, floor * 1e3, start / floor,
            "< 200 ms", start < 0.2, "ms")
    clients = 8
    recorded = emulator_grants(ctx, clients)
    bare = emulator_grants(ctx, clients, "--no-recording")
    ctx.add(f"9b. concur-emulator: client_credentials grants from {clients} keep-alive clients on "
            "loopback, journal on (peer: --no-recording)", recorded, bare, recorded / bare,
            ">= 5,000/s", recorded >= 5000, "grants/s")


def progress(text):
    print(text, file=sys.stderr, flush=True)


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_info(args, load_start, load_end, started, quick):
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith("model name")),
               platform.processor() or "unknown")
    mem_kib = next((int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                    if l.startswith("MemTotal:")), 0)
    commit = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).stdout)
    return {
        "commit": commit + (" (dirty: uncommitted changes)" if dirty else ""),
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "rustc": run(["rustc", "--version"]).stdout.strip(),
        "python": platform.python_version(),
        "node": run(["node", "--version"]).stdout.strip(),
        "load_start": load_start,
        "load_end": load_end,
        "repeats": args.repeats,
        "count": args.count,
        "quick": quick,
    }


def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


HEADER = ["row", "ours", "peer", "ratio", "target", "met?", "unit"]


def table_lines(rows):
    return [[r["row"], fmt(r["ours"]), fmt(r["peer"]),
             fmt(r["ratio"]) + ("x" if r["ratio"] is not None else ""), r["target"],
             {True: "yes", False: "NO", None: "-"}[r["met"]], r["unit"]] for r in rows]


def markdown_table(rows):
    md = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join(line) + " |" for line in table_lines(rows)]
    return "\n".join(md) + "\n"


def run_section(machine, rows, elapsed):
    m = machine
    missed = [r["row"].split(".")[0] for r in rows if r["met"] is False]
    text = ["## Latest run", ""]
    if m["quick"]:
        text += ["**QUICK RUN (`--quick`: fewer repeats and calls): for development only, not "
                 "figures to quote or compare.**", ""]
    text += [
        f"- commit: {m['commit']}",
        f"- date: {m['date']}, {elapsed:.0f} s for every row, "
        f"{m['repeats']} repeats, {m['count']} tokens a loop",
        f"- machine: {m['cpu']}, {m['cpus']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"{m['rustc']}, Python {m['python']}, Node {m['node']}",
        f"- load average (1, 5, 15 min): {m['load_start']} at the start, {m['load_end']} at the "
        "end. The server and the clients share the machine's cores, so absolute figures move "
        "between runs (more so under load); ratios less.",
        f"- targets missed: {', '.join(missed) if missed else 'none'}",
        "",
        markdown_table(rows).rstrip("\n"),
    ]
    return "\n".join(text)


def report(rows, machine, target, page, elapsed):
    lines = [HEADER] + table_lines(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    for i, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(line)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    out = target / "bench"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    (out / "latest.md").write_text(run_section(machine, rows, elapsed) + "\n")
    written = [out / "latest.json", out / "latest.md"]
    if page:
        template = TEMPLATE.read_text()
        assert template.count("{{run}}") == 1, f"{TEMPLATE} needs one {{{{run}}}} placeholder"
        page.write_text(template.replace("{{run}}", run_section(machine, rows, elapsed)))
        written.append(page)
    progress(f"machine: {machine}\nwritten: {', '.join(map(str, written))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, 100 tokens a loop, fewer calls (development)")
    parser.add_argument("--only", help="comma-separated row ids (3e,4c): their groups only; "
                        "the page is not written")
    parser.add_argument("--no-build", action="store_true", help="reuse the last build")
    parser.add_argument("--page", type=Path, default=PAGE, help=f"where the page goes ({PAGE})")
    parser.add_argument("--no-page", action="store_true", help="do not write the page")
    args = parser.parse_args()
    args.repeats = int(os.environ.get("BENCH_REPEATS", "2" if args.quick else "5"))
    args.count = int(os.environ.get("BENCH_COUNT", "100" if args.quick else "500"))

    groups = GROUPS
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        known = {i for ids, _, _ in GROUPS for i in ids}
        if wanted - known:
            parser.error(f"unknown rows {sorted(wanted - known)}; known: {sorted(known)}")
        groups = [g for g in GROUPS if wanted & set(g[0])]
    page = None if args.only or args.no_page else args.page

    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.perf_counter()
    target = cargo_target_dir()
    if args.no_build:
        paths = paths_of(target)
    else:
        progress("building (release)...")
        paths = build(target)
        progress(f"built in {time.perf_counter() - clock:.0f} s")
    load_start = loadavg()
    measuring = time.perf_counter()
    server, env = start_server(paths["server"], args.count, args.repeats)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = Context(paths, env, tmp, args.repeats, args.count, args.quick, rows)
            for n, (ids, title, fn) in enumerate(groups, 1):
                began = time.perf_counter()
                progress(f"[{n}/{len(groups)}] {','.join(ids)}: {title} "
                         f"(at {began - measuring:.0f} s, load {loadavg()})")
                fn(ctx)
                progress(f"      done in {time.perf_counter() - began:.1f} s")
    finally:
        server.stdin.close()
        server.wait()
    elapsed = time.perf_counter() - measuring
    machine = machine_info(args, load_start, loadavg(), started, args.quick)
    report(rows, machine, target, page, elapsed)


if __name__ == "__main__":
    main()
