//! Load: 8 threads × 500 calls against the loopback server, through one shared client and
//! through the one-shot call. Every call must succeed, no file descriptor may be left open, and
//! resident memory must stay flat: each load runs twice, and the second run may not grow the
//! process (the first fills allocator arenas and thread stacks). The server runs in its own
//! process so that only the client is measured. The call counts are bounded; this prints its
//! throughput.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use concur_native::{Client, Options, native_token};
use concur_test_server::{ACCOUNTS, CONSUMER_KEY};

const THREADS: usize = 8;
const CALLS: usize = 500;

/// The test server in a process of its own, so that this process's memory and descriptors are
/// the client's alone. Built with the same cargo. It exits when its stdin closes, which
/// happens when this process exits (statics are never dropped).
struct ServerProcess {
    /// Held, never read: its stdin pipe is what keeps the server running.
    _process: Child,
    base_url: String,
    ca_file: String,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        let built = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "concur-emulator",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(built.status.success(), "building the test server failed");
        let program = String::from_utf8_lossy(&built.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|m| m["executable"].as_str().map(str::to_string))
            .expect("cargo reported the test server");
        let mut child = Command::new(program)
            .args(["--no-recording", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value = serde_json::from_str(&line).expect("the server's JSON line");
        ServerProcess {
            _process: child,
            base_url: info["base_url"].as_str().unwrap().to_string(),
            ca_file: info["ca_file"].as_str().unwrap().to_string(),
        }
    }
}

fn server() -> &'static ServerProcess {
    static SERVER: OnceLock<ServerProcess> = OnceLock::new();
    SERVER.get_or_init(ServerProcess::start)
}

fn options() -> Options {
    Options::new()
        .base_url(server().base_url.as_str())
        .ca_file(server().ca_file.as_str())
        .timeout(Duration::from_secs(30))
}

/// Resident memory after glibc hands its arenas' free pages back: without the trim, RSS
/// wanders by a few MiB from run to run with the per-thread arenas, which would hide a leak or
/// fake one.
fn rss_kib() -> u64 {
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe { libc::malloc_trim(0) };
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Runs `call` THREADS × CALLS times and returns how many succeeded.
fn hammer(call: impl Fn() -> bool + Sync) -> usize {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| s.spawn(|| (0..CALLS).filter(|_| call()).count()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn settle(fds: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    open_fds()
}

/// Both loads in one test, one after the other, so the measurements are not mixed.
#[test]
fn eight_threads_times_500_calls() {
    let a = &ACCOUNTS[0];
    let options = options();
    let client = Client::new(&options).unwrap();
    let via_client = || {
        client
            .native_token(CONSUMER_KEY, a.login_id, a.password)
            .is_ok()
    };
    let one_shot = || native_token(CONSUMER_KEY, a.login_id, a.password, &options).is_ok();

    // Measured runs after the warm-up: the fast client gets four, the memory baseline taken
    // after the first of them, so that a leak shows as a trend; the slow one-shot path (a
    // handshake a call) gets one, against the warm-up's baseline.
    let loads = [
        ("client", &via_client as &(dyn Fn() -> bool + Sync), 4),
        ("one-shot", &one_shot, 1),
    ];
    for (name, call, runs) in loads {
        assert_eq!(
            hammer(call),
            THREADS * CALLS,
            "{name}: every call of the warm-up run succeeds"
        );
        let fds = open_fds();
        let mut rss = rss_kib();
        let mut peak = rss;
        for run in 0..runs {
            let started = Instant::now();
            let ok = hammer(call);
            let elapsed = started.elapsed();
            assert_eq!(ok, THREADS * CALLS, "{name}: every call succeeds");
            if run == 0 && runs > 1 {
                rss = rss_kib();
            }
            peak = peak.max(rss_kib());
            println!(
                "{name}: {} calls in {elapsed:.2?} ({:.0} calls/s), RSS {rss} KiB -> {} KiB",
                THREADS * CALLS,
                (THREADS * CALLS) as f64 / elapsed.as_secs_f64(),
                rss_kib()
            );
        }
        // glibc's per-thread arenas move RSS by a couple of MiB from run to run; a leak of even
        // 350 bytes a call would pass 4 MiB over the client's last three runs.
        let grown = peak.saturating_sub(rss);
        assert!(
            grown < 4 * 1024,
            "{name}: resident memory grew by {grown} KiB"
        );
        // The client keeps up to its pool size of idle connections open; nothing else may be.
        let after = settle(fds + if name == "client" { 2 * THREADS } else { 0 });
        assert!(
            after <= fds + if name == "client" { 2 * THREADS } else { 0 },
            "{name}: file descriptors {fds} -> {after}"
        );
    }
    drop(client);
}
