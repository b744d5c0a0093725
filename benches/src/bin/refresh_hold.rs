//! `refresh_hold MODE [SECONDS]`: what callers of a token manager pay while a refresh runs, and
//! what sealing a stored document costs, printed as one JSON line. Against the server named by
//! CONCUR_BASE_URL / CONCUR_CA_FILE / CONCUR_LOGIN_ID / CONCUR_PASSWORD /
//! CONCUR_OAUTH2_CLIENT_ID / CONCUR_OAUTH2_CLIENT_SECRET. Modes:
//! - `ahead`: the stored token is inside the refresh window (200 s left, window 300 s, floor
//!   30 s); 8 threads call `access_token()` for SECONDS (default 1) while the refresh, whose
//!   save is held 300 ms (a slow Concur), runs in the background;
//! - `blocking`: the same, the stored token below the floor (20 s left): every caller waits
//!   for the one refresh, as every caller did before refresh ahead;
//! - `cached`: the same, the stored token fresh (an hour left): no refresh, the reference.
//!
//! Each thread pauses 50 µs between calls, as request handlers do, so that the figures are
//! the manager's and not those of 8 spinning threads preempting each other on fewer cores.
//! - `seal`: a save's document and a load's reading, plain and sealed (AES-256-GCM), per
//!   operation, no network.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use concur_native::manager::{
    Document, MemoryStore, Sealer, Start, StoreKey, StoreLock, StoredToken, TokenManager,
    TokenStore,
};
use concur_native::oauth2::Grant;
use concur_native::{Client, Error, Options};

/// How long each save is held.
const HOLD: Duration = Duration::from_millis(300);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

/// A memory store whose saves take `HOLD`.
struct SlowSave(MemoryStore);

struct SlowLock<'a>(Box<dyn StoreLock + 'a>);

impl StoreLock for SlowLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.0.load()
    }
    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        std::thread::sleep(HOLD);
        self.0.save(document)
    }
}

impl TokenStore for SlowSave {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.0.load()
    }
    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        Ok(Box::new(SlowLock(self.0.lock(wait)?)))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn during_a_refresh(mode: &str, seconds: f64) {
    let options = Options::new()
        .base_url(env("CONCUR_BASE_URL"))
        .ca_file(env("CONCUR_CA_FILE"))
        .timeout(Duration::from_secs(30));
    let client = Arc::new(Client::new(&options).unwrap());
    let (id, secret) = (
        env("CONCUR_OAUTH2_CLIENT_ID"),
        env("CONCUR_OAUTH2_CLIENT_SECRET"),
    );
    let (login, password) = (env("CONCUR_LOGIN_ID"), env("CONCUR_PASSWORD"));
    let seeded = client
        .oauth2_token(
            &id,
            &secret,
            &Grant::Password {
                username: &login,
                password: &password,
                scope: None,
            },
            None,
        )
        .unwrap();
    let left = match mode {
        "ahead" => 200,
        "blocking" => 20,
        _ => 3600,
    };
    let store = MemoryStore::new();
    let stored = StoredToken {
        refresh_token: seeded.refresh_token().map(str::to_string),
        refresh_expires_at: None,
        geolocation: seeded.geolocation().map(str::to_string),
        access_token: Some(seeded.access_token().to_string()),
        expires_at: Some(unix_now() + left),
    };
    let mut lock = store.lock(Duration::from_secs(1)).unwrap();
    lock.load().unwrap();
    lock.save(&stored.to_document()).unwrap();
    drop(lock);
    let manager = Arc::new(
        TokenManager::new(
            client,
            &id,
            &secret,
            Start::RefreshToken {
                refresh_token: "unused".into(),
                geolocation: None,
            },
        )
        .unwrap()
        .with_store(SlowSave(store)),
    );
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let manager = manager.clone();
            std::thread::spawn(move || {
                let mut took = Vec::with_capacity(1 << 16);
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let token = manager.access_token().unwrap();
                    took.push(started.elapsed().as_secs_f64() * 1e3);
                    std::hint::black_box(token);
                    std::thread::sleep(Duration::from_micros(50));
                }
                took
            })
        })
        .collect();
    let mut took: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    took.sort_by(f64::total_cmp);
    let status = manager.status();
    println!(
        "{{\"mode\":\"{mode}\",\"calls\":{},\"p50_ms\":{:.6},\"p99_ms\":{:.6},\"max_ms\":{:.3},\"refreshes\":{}}}",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().copied().unwrap_or(0.0),
        status.refresh_count,
    );
}

fn sealing(count: usize) {
    let token = StoredToken {
        refresh_token: Some("r".repeat(36)),
        refresh_expires_at: Some(unix_now() + 180 * 86_400),
        geolocation: Some("https://us2.api.concursolutions.com".into()),
        // Concur's access tokens are JWTs of about 1,000 characters.
        access_token: Some("a".repeat(1000)),
        expires_at: Some(unix_now() + 3600),
    };
    let key = StoreKey::from_base64(&StoreKey::generate_base64().unwrap()).unwrap();
    let mut figures = Vec::new();
    for (name, sealer) in [
        ("plain", Sealer::default()),
        ("sealed", Sealer::new(vec![key]).unwrap()),
    ] {
        let store = MemoryStore::new();
        let started = Instant::now();
        for _ in 0..count {
            std::hint::black_box(
                sealer
                    .seal_document("/var/lib/app/token.json", &token)
                    .unwrap(),
            );
        }
        let save_us = started.elapsed().as_secs_f64() * 1e6 / count as f64;
        let mut lock = store.lock(Duration::from_secs(1)).unwrap();
        lock.load().unwrap();
        let document = sealer.seal_document(&store.identity(), &token).unwrap();
        lock.save(&document).unwrap();
        drop(lock);
        let started = Instant::now();
        for _ in 0..count {
            std::hint::black_box(sealer.load(&store).unwrap());
        }
        let load_us = started.elapsed().as_secs_f64() * 1e6 / count as f64;
        figures.push(format!(
            "\"{name}\":{{\"save_us\":{save_us:.3},\"load_us\":{load_us:.3},\"bytes\":{}}}",
            document.len()
        ));
    }
    println!(
        "{{\"mode\":\"seal\",\"count\":{count},{}}}",
        figures.join(",")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("ahead");
    match mode {
        "ahead" | "blocking" | "cached" => {
            let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1.0);
            during_a_refresh(mode, seconds);
        }
        "seal" => sealing(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000)),
        other => panic!("unknown mode {other}"),
    }
}
