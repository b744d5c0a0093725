//! A token kept in Redis, for workers on many machines: a lock with an expiry around each
//! refresh, kept alive while the refresh runs, and a compare-and-swap save, so that a save goes
//! through whenever the store still holds the document the refresh started from — even if the
//! lock lapsed — and never over a newer one.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use redis::{Commands, Connection, Script};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::manager::store::{Document, StoreLock, TokenStore};

/// How long a lock lives when its holder dies without releasing it (a crashed worker). A
/// living holder renews it every third of this while its refresh runs, however long that is.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(30);

/// Saves only if the stored document is still the one the refresh started from (`''` for
/// none): the rotated refresh token is kept whatever became of the lock, and never written
/// over a newer one.
const SAVE: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// Extends the lock only while it is still this holder's.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// Releases the lock only if it is still this holder's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Keeps the token document under a key of the caller's choosing in Redis (`redis://` or
/// `rediss://` URL). Beside it, `{key}:lock` holds the refresh lock (`SET NX PX`, expiring after
/// the lock TTL unless its living holder renews it). A save is a compare-and-swap on the
/// document the holder read under the lock.
///
/// A Redis without persistence (append-only file) can lose a rotated refresh token when it
/// restarts, which kills the connection: run it with `appendonly yes`.
pub struct RedisStore {
    client: redis::Client,
    key: String,
    lock_key: String,
    lock_ttl: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the server's password: never shown.
        f.debug_struct("RedisStore")
            .field("key", &self.key)
            .field("lock_ttl", &self.lock_ttl)
            .finish_non_exhaustive()
    }
}

fn unreachable() -> Error {
    Error::store("the Redis store cannot be reached")
}

fn refused() -> Error {
    Error::store("the Redis store refused a command")
}

impl RedisStore {
    /// A store at `url` (`redis://[:password@]host:port[/db]`), keeping the token under `key`.
    /// Nothing is sent until the first use.
    pub fn new(url: &str, key: &str) -> Result<RedisStore, Error> {
        if key.is_empty() || key.chars().any(char::is_control) {
            return Err(Error::invalid(
                "the Redis key is empty or holds control characters",
            ));
        }
        let client = redis::Client::open(url)
            .map_err(|_| Error::invalid("the Redis URL is not a valid redis:// URL"))?;
        Ok(RedisStore {
            client,
            key: key.to_string(),
            lock_key: format!("{key}:lock"),
            lock_ttl: DEFAULT_LOCK_TTL,
            timeout: Duration::from_secs(5),
        })
    }

    /// How long a lock lives if its holder dies without releasing it (default 30 s). A living
    /// holder renews it every third of this, so a refresh may take longer.
    pub fn lock_ttl(mut self, ttl: Duration) -> RedisStore {
        self.lock_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    fn connect(&self) -> Result<Connection, Error> {
        let connection = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|_| unreachable())?;
        connection
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| connection.set_write_timeout(Some(self.timeout)))
            .map_err(|_| unreachable())?;
        Ok(connection)
    }

    fn read(&self, connection: &mut Connection) -> Result<Option<Document>, Error> {
        let document: Option<Vec<u8>> = connection.get(&self.key).map_err(|_| refused())?;
        Ok(document.map(Zeroizing::new))
    }

    /// Renews the lock every third of its TTL until told to stop (the sender dropped).
    fn keep_alive(&self, holder: &str) -> (Sender<()>, JoinHandle<()>) {
        let (stop, stopped) = mpsc::channel::<()>();
        let client = self.client.clone();
        let (lock_key, holder) = (self.lock_key.clone(), holder.to_string());
        let ttl = self.lock_ttl;
        let ttl_ms = ttl.as_millis().min(u64::MAX as u128) as u64;
        let timeout = self.timeout;
        let keeper = std::thread::spawn(move || {
            let mut connection = None;
            loop {
                match stopped.recv_timeout(ttl / 3) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if connection.is_none() {
                    connection = client.get_connection_with_timeout(timeout).ok();
                }
                let Some(c) = connection.as_mut() else {
                    continue;
                };
                let extended: Result<i64, _> = Script::new(EXTEND)
                    .key(&lock_key)
                    .arg(&holder)
                    .arg(ttl_ms)
                    .invoke(c);
                match extended {
                    Ok(1) => {}
                    // Lost to expiry: the compare-and-swap save still guards the document.
                    Ok(_) => return,
                    Err(_) => connection = None,
                }
            }
        });
        (stop, keeper)
    }
}

impl TokenStore for RedisStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.read(&mut self.connect()?)
    }

    fn identity(&self) -> String {
        self.key.clone()
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let mut connection = self.connect()?;
        let holder = crate::random::uuid_v4();
        let ttl_ms = self.lock_ttl.as_millis().min(u64::MAX as u128) as u64;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&self.lock_key)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query(&mut connection)
                .map_err(|_| refused())?;
            if taken.is_some() {
                let (stop, keeper) = self.keep_alive(&holder);
                return Ok(Box::new(RedisLock {
                    store: self,
                    connection,
                    holder,
                    loaded: None,
                    keeper: Some((stop, keeper)),
                }));
            }
            if Instant::now() >= deadline {
                return Err(Error::lock_busy(
                    "the Redis store's lock was not released in time",
                ));
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

struct RedisLock<'a> {
    store: &'a RedisStore,
    connection: Connection,
    holder: String,
    /// What the last load read: the compare side of the save.
    loaded: Option<Option<Document>>,
    keeper: Option<(Sender<()>, JoinHandle<()>)>,
}

impl StoreLock for RedisLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        let document = self.store.read(&mut self.connection)?;
        self.loaded = Some(document.clone());
        Ok(document)
    }

    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        let Some(expected) = &self.loaded else {
            return Err(Error::store(
                "a save through a Redis lock that loaded nothing",
            ));
        };
        let expected: &[u8] = expected.as_deref().map_or(&[], |d| &d[..]);
        let saved: i64 = Script::new(SAVE)
            .key(&self.store.key)
            .arg(expected)
            .arg(document)
            .invoke(&mut self.connection)
            .map_err(|_| refused())?;
        if saved == 1 {
            self.loaded = Some(Some(Zeroizing::new(document.to_vec())));
            Ok(())
        } else {
            Err(Error::store(
                "another holder saved a newer token during this refresh; the newer one was kept",
            ))
        }
    }
}

impl Drop for RedisLock<'_> {
    fn drop(&mut self) {
        if let Some((stop, keeper)) = self.keeper.take() {
            drop(stop);
            let _ = keeper.join();
        }
        let _: Result<i64, _> = Script::new(RELEASE)
            .key(&self.store.lock_key)
            .arg(&self.holder)
            .invoke(&mut self.connection);
    }
}
