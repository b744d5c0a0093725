//! A token kept in Redis, for workers on many machines: a lock with an expiry around each
//! refresh, and a fenced save, so that a worker that stalled past its lock cannot overwrite a
//! newer token.

use std::thread::sleep;
use std::time::{Duration, Instant};

use redis::{Commands, Connection, Script};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::manager::store::{StoreLock, StoredToken, TokenStore};

/// How long a lock lives when its holder never releases it (a crashed worker).
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(30);

/// Saves only while the lock is this holder's and its fence is the newest.
const SAVE: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('GET', KEYS[3]) or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// Releases the lock only if it is still this holder's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Keeps the token document under a key of the caller's choosing in Redis (`redis://` or
/// `rediss://` URL). Beside it, `{key}:lock` holds the refresh lock (`SET NX PX`, expiring after
/// the lock TTL) and `{key}:fence` a counter bumped by every lock taken: a save goes through
/// only while the lock is still the saver's and no newer lock was taken since.
pub struct RedisStore {
    client: redis::Client,
    key: String,
    lock_key: String,
    fence_key: String,
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
            fence_key: format!("{key}:fence"),
            lock_ttl: DEFAULT_LOCK_TTL,
            timeout: Duration::from_secs(5),
        })
    }

    /// How long a lock lives if its holder never releases it (default 30 s). A holder that
    /// takes longer loses it, and its save is refused.
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

    fn read(&self, connection: &mut Connection) -> Result<Option<StoredToken>, Error> {
        let document: Option<Vec<u8>> = connection.get(&self.key).map_err(|_| refused())?;
        match document.map(Zeroizing::new) {
            Some(d) => StoredToken::from_document(&d).map(Some),
            None => Ok(None),
        }
    }
}

impl TokenStore for RedisStore {
    fn load(&self) -> Result<Option<StoredToken>, Error> {
        self.read(&mut self.connect()?)
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
                let fence: i64 = connection.incr(&self.fence_key, 1).map_err(|_| refused())?;
                return Ok(Box::new(RedisLock {
                    store: self,
                    connection,
                    holder,
                    fence,
                }));
            }
            if Instant::now() >= deadline {
                return Err(Error::store(
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
    fence: i64,
}

impl StoreLock for RedisLock<'_> {
    fn load(&mut self) -> Result<Option<StoredToken>, Error> {
        self.store.read(&mut self.connection)
    }

    fn save(&mut self, token: &StoredToken) -> Result<(), Error> {
        let document = token.to_document();
        let saved: i64 = Script::new(SAVE)
            .key(&self.store.key)
            .key(&self.store.lock_key)
            .key(&self.store.fence_key)
            .arg(&self.holder)
            .arg(&document[..])
            .arg(self.fence)
            .invoke(&mut self.connection)
            .map_err(|_| refused())?;
        if saved == 1 {
            Ok(())
        } else {
            Err(Error::store(
                "the Redis lock expired before the save; the newer token was kept",
            ))
        }
    }
}

impl Drop for RedisLock<'_> {
    fn drop(&mut self) {
        let _: Result<i64, _> = Script::new(RELEASE)
            .key(&self.store.lock_key)
            .arg(&self.holder)
            .invoke(&mut self.connection);
    }
}
