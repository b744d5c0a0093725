//! The vault's Redis store, for workers on many machines: a hash per connection (document,
//! generation, record), a lock and fence per connection as the manager's Redis store has
//! (`SET NX PX`, kept alive while held, a compare-and-swap save in a script), and sorted
//! indexes by ID and by sweep key so that listing and sweeping never scan every key.

use std::time::{Duration, Instant};

use redis::{Connection, Script};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::error::Error;

use super::events::LOG_TARGET;
use super::keyed::{ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore};
use super::keyed_common::{
    DueBounds, Keeper, LOCK_TTL, Pool, last_key, merge_due, new_generation, schema_newer,
    url_without_password,
};
use super::store::Document;

/// The schema this library writes (`{prefix}meta`'s `schema_version`).
pub const REDIS_SCHEMA_VERSION: i64 = 1;

/// The key prefix when the URL names none (`?prefix=`).
pub const DEFAULT_PREFIX: &str = "concur:vault:";

/// Saves only if the stored generation is still the one the holder read (`''`: none), moving
/// the connection's index entries with it.
/// KEYS: hash, ids, due:known, due:unknown. ARGV: expected generation, new generation,
/// '1' when a document is given, the document, the record, the known-index member ('' none),
/// the unknown-index member ('' none), the ID.
const SAVE: &str = r"
local current = redis.call('HGET', KEYS[1], 'gen')
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
if current == '' and ARGV[3] ~= '1' then return -1 end
local old = redis.call('HMGET', KEYS[1], 'ixk', 'ixu')
if old[1] and old[1] ~= '' then redis.call('ZREM', KEYS[3], old[1]) end
if old[2] and old[2] ~= '' then redis.call('ZREM', KEYS[4], old[2]) end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'doc', ARGV[4]) end
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'rec', ARGV[5], 'ixk', ARGV[6], 'ixu', ARGV[7])
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], 0, ARGV[6]) end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[4], 0, ARGV[7]) end
redis.call('ZADD', KEYS[2], 0, ARGV[8])
return 1
";

/// Forgets a connection: its hash and its index entries. KEYS as SAVE's; ARGV: the ID.
const REMOVE: &str = r"
local old = redis.call('HMGET', KEYS[1], 'ixk', 'ixu')
if old[1] and old[1] ~= '' then redis.call('ZREM', KEYS[3], old[1]) end
if old[2] and old[2] ~= '' then redis.call('ZREM', KEYS[4], old[2]) end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
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

/// Keeps a vault's connections in Redis (`redis://[user[:password]@]host[:port][/db]`, with
/// `?prefix=NAME` choosing the key prefix, `concur:vault:` by default; `rediss://`, TLS, is not
/// built in and is refused as `InvalidArgument`). Under the prefix:
/// `c:{id}`, a hash with the (sealed) document, its generation and the record; `lock:{id}`, the
/// connection's lock (`SET NX PX`, 30 s, renewed every 10 s while held, so that a crashed
/// worker's lock lapses); `ids`, a sorted set of every ID (listing and counting); `due:known`
/// and `due:unknown`, sorted sets by refresh expiry and by last refresh, so a sweep reads only
/// what is due; `meta`, the schema version. A save is a compare-and-swap on the generation the
/// holder read, in one script with its index moves. One Redis server (not Cluster: the scripts
/// touch several keys).
///
/// **Persistence**: a Redis without its append-only file (`appendonly yes`) can lose a rotated
/// refresh token when it restarts, and that kills the connection (Concur accepts only the
/// newest refresh token). `open` logs a warning (target `concur_native::manager`) when
/// `CONFIG GET appendonly` says `no`.
pub struct RedisKeyedStore {
    client: redis::Client,
    shown: String,
    prefix: String,
    pool: Pool<Connection>,
    lock_ttl: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for RedisKeyedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyedStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

fn unreachable() -> Error {
    Error::store("the Redis store cannot be reached")
}

fn refused() -> Error {
    Error::store("the Redis store refused a command")
}

fn unreadable() -> Error {
    Error::store("the Redis store holds a record this library cannot read")
}

/// An order-preserving text form of a sweep key (fixed width, so byte order is numeric order).
fn encode_key(key: i64) -> String {
    format!("{:016x}", (key as u64) ^ (1 << 63))
}

/// The record as stored, under the ID of the connection locked (whatever `r.id` says).
fn record_json(id: &str, r: &ConnectionRecord) -> String {
    json!({
        "id": id,
        "kind": r.kind.as_str(),
        "subject": r.subject,
        "geolocation": r.geolocation,
        "expires_at": r.expires_at,
        "refresh_expires_at": r.refresh_expires_at,
        "last_refresh": r.last_refresh,
        "state": r.state.as_str(),
        "concur_code": r.concur_code,
        "failures": r.failures,
        "added_at": r.added_at,
    })
    .to_string()
}

fn parse_record(text: &[u8]) -> Result<ConnectionRecord, Error> {
    let v: Value = serde_json::from_slice(text).map_err(|_| unreadable())?;
    let text = |name: &str| -> Result<Option<String>, Error> {
        match &v[name] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(unreadable()),
        }
    };
    let int = |name: &str| -> Result<Option<i64>, Error> {
        match &v[name] {
            Value::Null => Ok(None),
            n => n.as_i64().map(Some).ok_or_else(unreadable),
        }
    };
    Ok(ConnectionRecord {
        id: text("id")?.ok_or_else(unreadable)?,
        kind: ConnectionKind::from_name(&text("kind")?.unwrap_or_default())
            .ok_or_else(unreadable)?,
        subject: text("subject")?,
        geolocation: text("geolocation")?,
        expires_at: int("expires_at")?,
        refresh_expires_at: int("refresh_expires_at")?,
        last_refresh: int("last_refresh")?,
        state: ConnectionState::from_name(&text("state")?.unwrap_or_default())
            .ok_or_else(unreadable)?,
        concur_code: int("concur_code")?,
        failures: int("failures")?
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(unreadable)?,
        added_at: int("added_at")?.ok_or_else(unreadable)?,
    })
}

/// The URL without its `prefix` query parameter, and the prefix.
fn split_prefix(url: &str) -> Result<(String, String), Error> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_PREFIX.to_string()));
    };
    let mut prefix = None;
    let mut kept = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        match part.strip_prefix("prefix=") {
            Some(p) => prefix = Some(p.to_string()),
            None => kept.push(part),
        }
    }
    let prefix = prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    if prefix.is_empty() || prefix.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::invalid(
            "the Redis store URL's prefix is empty or holds spaces or control characters",
        ));
    }
    let base = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((base, prefix))
}

impl RedisKeyedStore {
    /// Opens the store at `url`: connects (a `Store` error when it cannot), checks the schema
    /// version (a `Store` error, nothing written, when a newer library wrote it), records this
    /// one when the store is new, and warns when the server runs without persistence. A URL
    /// that does not parse is `InvalidArgument`.
    pub fn open(url: &str) -> Result<RedisKeyedStore, Error> {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(Error::invalid(
                "the store URL is not a redis:// or rediss:// URL",
            ));
        }
        if url.starts_with("rediss://") {
            return Err(Error::invalid(
                "rediss:// (Redis over TLS) is not built into this library's Redis client: use \
                 redis:// on a private network or through a TLS tunnel",
            ));
        }
        let (base, prefix) = split_prefix(url)?;
        let client = redis::Client::open(base.as_str())
            .map_err(|_| Error::invalid("the Redis store URL does not parse"))?;
        let store = RedisKeyedStore {
            client,
            shown: url_without_password(url),
            prefix,
            pool: Pool::new(),
            lock_ttl: LOCK_TTL,
            timeout: Duration::from_secs(5),
        };
        let mut connection = store.connect()?;
        let meta = store.key("meta");
        let found: Option<i64> = redis::cmd("HGET")
            .arg(&meta)
            .arg("schema_version")
            .query(&mut connection)
            .map_err(|_| unreadable())?;
        match found {
            Some(found) if found > REDIS_SCHEMA_VERSION => {
                return Err(schema_newer(found, REDIS_SCHEMA_VERSION));
            }
            Some(_) => {}
            None => {
                redis::cmd("HSETNX")
                    .arg(&meta)
                    .arg("schema_version")
                    .arg(REDIS_SCHEMA_VERSION)
                    .query::<i64>(&mut connection)
                    .map_err(|_| refused())?;
            }
        }
        store.check_persistence(&mut connection);
        store.pool.put(connection);
        Ok(store)
    }

    /// How long a lock lives when its holder dies without releasing it (default 30 s). A
    /// living holder renews it every third of this.
    pub fn lock_ttl(mut self, ttl: Duration) -> RedisKeyedStore {
        self.lock_ttl = ttl.max(Duration::from_millis(3));
        self
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Warns once (at open) when the server keeps no append-only file. A server that refuses
    /// `CONFIG` (managed services) is taken on trust.
    fn check_persistence(&self, connection: &mut Connection) {
        let answer: Result<Vec<String>, _> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query(connection);
        match answer {
            Ok(pair) if pair.get(1).is_some_and(|v| v.eq_ignore_ascii_case("no")) => {
                log::warn!(
                    target: LOG_TARGET,
                    "the vault's Redis store at {} runs without an append-only file \
                     (appendonly no): a restart can lose a rotated refresh token, which kills \
                     that connection; run it with appendonly yes",
                    self.shown
                );
            }
            Ok(_) => {}
            Err(_) => log::debug!(
                target: LOG_TARGET,
                "the vault's Redis store at {} refused CONFIG GET appendonly; its persistence is not checked",
                self.shown
            ),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn hash(&self, id: &str) -> String {
        format!("{}c:{id}", self.prefix)
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

    /// Runs `f` on a pooled connection (one that failed is not given back).
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, Error>) -> Result<T, Error> {
        let mut connection = self.pool.take(|| self.connect())?;
        let result = f(&mut connection);
        if result.is_ok() {
            self.pool.put(connection);
        }
        result
    }

    /// The records of `ids`, in their order (one round trip; an ID removed meanwhile is left
    /// out).
    fn records_of(
        &self,
        connection: &mut Connection,
        ids: &[String],
    ) -> Result<Vec<ConnectionRecord>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGET").arg(self.hash(id)).arg("rec");
        }
        let found: Vec<Option<Vec<u8>>> = pipe.query(connection).map_err(|_| refused())?;
        found
            .into_iter()
            .flatten()
            .map(|text| parse_record(&text))
            .collect()
    }

    /// Up to `limit` IDs of a sweep index between `after` (exclusive) and `below` (exclusive).
    fn index_range(
        &self,
        connection: &mut Connection,
        index: &str,
        after: (i64, &str),
        below: i64,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(self.key(index))
            .arg(format!("({}:{}", encode_key(after.0), after.1))
            .arg(format!("({}", encode_key(below)))
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query(connection)
            .map_err(|_| refused())?;
        Ok(members
            .into_iter()
            .filter_map(|m| m.get(17..).map(str::to_string))
            .collect())
    }

    fn script_keys<'s>(&self, script: &'s Script, id: &str) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.hash(id))
            .key(self.key("ids"))
            .key(self.key("due:known"))
            .key(self.key("due:unknown"));
        invocation
    }
}

impl KeyedStore for RedisKeyedStore {
    fn load(&self, id: &str) -> Result<Option<Document>, Error> {
        self.with(|c| {
            let document: Option<Vec<u8>> = redis::cmd("HGET")
                .arg(self.hash(id))
                .arg("doc")
                .query(c)
                .map_err(|_| refused())?;
            Ok(document.map(Zeroizing::new))
        })
    }

    fn lock(&self, id: &str, wait: Duration) -> Result<Box<dyn KeyedLock + '_>, Error> {
        let holder = crate::random::uuid_v4();
        let lock_key = self.key(&format!("lock:{id}"));
        let ttl_ms = self.lock_ttl.as_millis().min(u64::MAX as u128) as u64;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            let taken: Option<String> = self.with(|c| {
                redis::cmd("SET")
                    .arg(&lock_key)
                    .arg(&holder)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query(c)
                    .map_err(|_| refused())
            })?;
            if taken.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::store(
                    "the connection's lock was not released in time",
                ));
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        let mut lock = RedisKeyedLock {
            store: self,
            id: id.to_string(),
            lock_key: lock_key.clone(),
            holder: holder.clone(),
            generation: None,
            keeper: None,
        };
        lock.generation = self.with(|c| {
            redis::cmd("HGET")
                .arg(self.hash(id))
                .arg("gen")
                .query(c)
                .map_err(|_| refused())
        })?;
        let (client, timeout) = (self.client.clone(), self.timeout);
        let mut connection: Option<Connection> = None;
        lock.keeper = Some(Keeper::start(self.lock_ttl / 3, move || {
            if connection.is_none() {
                connection = client.get_connection_with_timeout(timeout).ok();
            }
            let Some(c) = connection.as_mut() else {
                return true;
            };
            let extended: Result<i64, _> = Script::new(EXTEND)
                .key(&lock_key)
                .arg(&holder)
                .arg(ttl_ms)
                .invoke(c);
            match extended {
                Ok(1) => true,
                Ok(_) => false,
                Err(_) => {
                    connection = None;
                    true
                }
            }
        }));
        Ok(Box::new(lock))
    }

    fn record(&self, id: &str) -> Result<Option<ConnectionRecord>, Error> {
        self.with(|c| Ok(self.records_of(c, &[id.to_string()])?.pop()))
    }

    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let ids: Vec<String> = redis::cmd("ZRANGEBYLEX")
                .arg(self.key("ids"))
                .arg(after.map_or_else(|| "-".to_string(), |a| format!("({a}")))
                .arg("+")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query(c)
                .map_err(|_| refused())?;
            self.records_of(c, &ids)
        })
    }

    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let b = DueBounds::new(now, within, after);
        self.with(|c| {
            let known = self.index_range(
                c,
                "due:known",
                (b.known_after, &b.after_id),
                b.known_below,
                limit,
            )?;
            let unknown = self.index_range(
                c,
                "due:unknown",
                (b.unknown_after, &b.after_id),
                b.unknown_below,
                limit,
            )?;
            let known = self.records_of(c, &known)?;
            let unknown = self.records_of(c, &unknown)?;
            Ok(merge_due(known, unknown, within, limit))
        })
    }

    fn remove(&self, id: &str) -> Result<bool, Error> {
        let script = Script::new(REMOVE);
        self.with(|c| {
            let removed: i64 = self
                .script_keys(&script, id)
                .arg(id)
                .invoke(c)
                .map_err(|_| refused())?;
            Ok(removed > 0)
        })
    }

    fn count(&self) -> Result<u64, Error> {
        self.with(|c| {
            redis::cmd("ZCARD")
                .arg(self.key("ids"))
                .query(c)
                .map_err(|_| refused())
        })
    }

    fn identity(&self, id: &str) -> String {
        format!("{}#{id}", self.shown)
    }
}

struct RedisKeyedLock<'a> {
    store: &'a RedisKeyedStore,
    id: String,
    lock_key: String,
    holder: String,
    /// The generation of the document this holder last read (`None`: no document): the compare
    /// side of the save.
    generation: Option<String>,
    keeper: Option<Keeper>,
}

impl KeyedLock for RedisKeyedLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        let hash = self.store.hash(&self.id);
        let (generation, document): (Option<String>, Option<Vec<u8>>) = self.store.with(|c| {
            redis::cmd("HMGET")
                .arg(&hash)
                .arg("gen")
                .arg("doc")
                .query(c)
                .map_err(|_| refused())
        })?;
        self.generation = generation;
        Ok(document.map(Zeroizing::new))
    }

    fn record(&mut self) -> Result<Option<ConnectionRecord>, Error> {
        self.store.record(&self.id)
    }

    fn save(&mut self, document: Option<&[u8]>, record: &ConnectionRecord) -> Result<(), Error> {
        let next = new_generation().to_string();
        let live = record.state != ConnectionState::Dead;
        let known = match record.refresh_expires_at {
            Some(at) if live => format!("{}:{}", encode_key(at), self.id),
            _ => String::new(),
        };
        let unknown = match record.refresh_expires_at {
            None if live => format!("{}:{}", encode_key(last_key(record)), self.id),
            _ => String::new(),
        };
        let script = Script::new(SAVE);
        let saved: i64 = self.store.with(|c| {
            self.store
                .script_keys(&script, &self.id)
                .arg(self.generation.as_deref().unwrap_or(""))
                .arg(&next)
                .arg(if document.is_some() { "1" } else { "0" })
                .arg(document.unwrap_or(&[]))
                .arg(record_json(&self.id, record))
                .arg(&known)
                .arg(&unknown)
                .arg(&self.id)
                .invoke(c)
                .map_err(|_| refused())
        })?;
        match saved {
            1 => {
                self.generation = Some(next);
                Ok(())
            }
            -1 => Err(Error::store(
                "a record cannot be saved for a connection that has no document",
            )),
            _ => Err(Error::store(
                "another holder saved this connection during this refresh; its save was kept",
            )),
        }
    }
}

impl Drop for RedisKeyedLock<'_> {
    fn drop(&mut self) {
        drop(self.keeper.take());
        let _ = self.store.with(|c| {
            Script::new(RELEASE)
                .key(&self.lock_key)
                .arg(&self.holder)
                .invoke::<i64>(c)
                .map_err(|_| refused())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keys_sort_as_text_in_numeric_order() {
        let keys = [i64::MIN, -5, -1, 0, 1, 1_700_000_000, i64::MAX];
        for pair in keys.windows(2) {
            assert!(encode_key(pair[0]) < encode_key(pair[1]));
            assert_eq!(encode_key(pair[0]).len(), 16);
        }
    }

    #[test]
    fn prefixes_come_from_the_url() {
        assert_eq!(
            split_prefix("redis://h:1/0").unwrap(),
            ("redis://h:1/0".into(), DEFAULT_PREFIX.into())
        );
        assert_eq!(
            split_prefix("redis://h:1/0?prefix=app:v:&protocol=resp3").unwrap(),
            ("redis://h:1/0?protocol=resp3".into(), "app:v:".into())
        );
        assert!(split_prefix("redis://h?prefix=").is_err());
    }
}
