//! Servers the store tests start for themselves: a `redis-server` and a PostgreSQL (initdb +
//! postgres, as nobody when root, with a test CA for TLS) on free loopback ports, each stopped
//! and its directory removed when the test program exits, and killed with it if it dies.
//! Included by tests/keyed_stores.rs and tests/vault_fleet.rs (`#[path]`).
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A name unique in this run (process id and a counter).
pub fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Starts a server program from a thread that lives as long as the program, with the
/// parent-death signal `signal` set, so that it ends with the program; answers its process id.
pub fn spawn_for_program(mut command: Command, signal: libc::c_int) -> u32 {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: only prctl, which is async-signal-safe, runs in the child before exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        // Never waited for here: it ends with the program.
        #[allow(clippy::zombie_processes)]
        let started = command.spawn().map(|child| child.id());
        sender.send(started).unwrap();
        // The parent-death signal follows this thread: it must outlive every test.
        loop {
            std::thread::park();
        }
    });
    receiver.recv().unwrap().expect("the server program starts")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `redis-server` for the program.
#[cfg(feature = "redis")]
pub mod redis_server {
    use super::*;
    use std::sync::OnceLock;

    /// The server's process id and working directory.
    static SERVER: OnceLock<(u32, std::path::PathBuf)> = OnceLock::new();

    extern "C" fn stop_at_exit() {
        if let Some((pid, dir)) = SERVER.get() {
            // SAFETY: plain syscalls on our own child's process id.
            unsafe {
                libc::kill(*pid as libc::pid_t, libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(*pid as libc::pid_t, &mut status, 0);
            }
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// One `redis-server` for the program, on a free loopback port, without persistence;
    /// stopped, and its directory removed, when the program exits.
    pub fn redis() -> &'static str {
        static URL: OnceLock<String> = OnceLock::new();
        URL.get_or_init(|| {
            let port = free_port();
            // Its working directory (where an append-only file goes while a test turns
            // persistence on) is a temporary one.
            let dir = std::env::temp_dir().join(unique("concur-keyed-redis"));
            std::fs::create_dir_all(&dir).unwrap();
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .arg("--dir")
                .arg(&dir)
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let pid = spawn_for_program(command, libc::SIGKILL);
            SERVER.set((pid, dir)).unwrap();
            // SAFETY: registers a plain extern "C" function.
            unsafe { libc::atexit(stop_at_exit) };
            let url = format!("redis://127.0.0.1:{port}/");
            let client = redis::Client::open(url.as_str()).unwrap();
            let started = Instant::now();
            while client.get_connection().is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "redis-server did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            url
        })
    }
}

/// A PostgreSQL server for this program: `initdb` into a temporary directory and `postgres` on
/// a free loopback port with fsync off, run as `nobody` when the tests run as root (both refuse
/// root), stopped and its directory removed when the program exits (and killed with the
/// program if it dies).
#[cfg(feature = "postgres")]
pub mod pg_server {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    struct Server {
        port: u16,
        pid: u32,
        dir: PathBuf,
    }

    static SERVER: OnceLock<Server> = OnceLock::new();

    fn program(name: &str) -> PathBuf {
        if let Ok(path) = std::env::var("PATH") {
            for dir in std::env::split_paths(&path) {
                if dir.join(name).is_file() {
                    return dir.join(name);
                }
            }
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop().unwrap_or_else(|| {
            panic!("{name} is installed (Debian package postgresql; bash tests/prerequisites.sh --install)")
        })
    }

    /// As `nobody` when this program is root.
    fn unprivileged(command: &mut Command) {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // std drops the supplementary groups (setgroups) when it changes the user as root.
            command.uid(65534).gid(65534);
        }
    }

    fn give_to_nobody(path: &Path) {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
        }
    }

    extern "C" fn stop_at_exit() {
        if let Some(server) = SERVER.get() {
            let pid = server.pid as libc::pid_t;
            // SAFETY: plain syscalls on the server's process id (our own child).
            unsafe {
                // Fast shutdown: the postmaster stops its backends and exits.
                libc::kill(pid, libc::SIGINT);
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
            let _ = std::fs::remove_dir_all(&server.dir);
        }
    }

    fn server() -> &'static Server {
        SERVER.get_or_init(|| {
            let dir = std::env::temp_dir().join(unique("concur-pg"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            give_to_nobody(&dir);
            let data = dir.join("data");
            let mut initdb = Command::new(program("initdb"));
            initdb
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            unprivileged(&mut initdb);
            let out = initdb.output().expect("initdb runs");
            assert!(
                out.status.success(),
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let port = free_port();
            certificates(&dir);
            // The role tlsonly is refused on plain TCP: its sessions prove TLS.
            let hba = data.join("pg_hba.conf");
            let rules = std::fs::read_to_string(&hba).unwrap();
            std::fs::write(
                &hba,
                format!("hostnossl all tlsonly 127.0.0.1/32 reject\n{rules}"),
            )
            .unwrap();
            let mut postgres = Command::new(program("postgres"));
            postgres
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(&dir)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "ssl=on",
                    "-c",
                    "ssl_cert_file=../server.crt",
                    "-c",
                    "ssl_key_file=../server.key",
                ])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            unprivileged(&mut postgres);
            // The postmaster's immediate shutdown (SIGQUIT) if this program dies.
            let pid = spawn_for_program(postgres, libc::SIGQUIT);
            let admin = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
            let started = Instant::now();
            while postgres::Client::connect(&admin, postgres::NoTls).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "postgres did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: registers a plain extern "C" function.
            unsafe { libc::atexit(stop_at_exit) };
            let mut admin = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            admin
                .batch_execute("CREATE ROLE tlsonly LOGIN SUPERUSER")
                .unwrap();
            Server { port, pid, dir }
        })
    }

    /// A test CA (`ca.pem`) and a server certificate it signed for localhost and 127.0.0.1
    /// (`server.crt`, `server.key`, owned by the server's user) in `dir`.
    fn certificates(dir: &Path) {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .expect("openssl runs (Debian package openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=concur test CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        for file in ["server.crt", "server.key"] {
            std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o600))
                .unwrap();
            give_to_nobody(&dir.join(file));
        }
    }

    /// The test CA's certificate.
    pub fn ca_file() -> PathBuf {
        server().dir.join("ca.pem")
    }

    /// The URL of a new, empty database on the program's server.
    pub fn database() -> String {
        let server = server();
        let name = unique("vault").replace('-', "_");
        let mut admin = postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                server.port
            ),
            postgres::NoTls,
        )
        .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
    }

    /// A raw session on the database at `url`.
    pub fn raw(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }
}
