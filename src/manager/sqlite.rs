//! The vault's SQLite store: every connection in one database file (WAL), shared by many
//! processes on one machine, with a lock per connection that works across processes (a row of
//! the `locks` table with its holder and expiry, kept alive while held) and a compare-and-swap
//! save.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use zeroize::Zeroizing;

use crate::error::Error;

use super::keyed::{ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore};
use super::keyed_common::{
    DueBounds, Keeper, LOCK_TTL, Pool, last_key, merge_due, new_generation, now_ms, schema_newer,
};
use super::store::Document;

/// The schema this library writes (the `meta` table's `schema_version`).
pub const SQLITE_SCHEMA_VERSION: i64 = 1;

/// How long a statement waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY,
    document BLOB NOT NULL,
    generation INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    geolocation TEXT,
    expires_at INTEGER,
    refresh_expires_at INTEGER,
    last_refresh INTEGER,
    last_key INTEGER NOT NULL,
    state TEXT NOT NULL,
    concur_code INTEGER,
    failures INTEGER NOT NULL,
    added_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_due_known ON connections (refresh_expires_at, id)
    WHERE refresh_expires_at IS NOT NULL AND state <> 'dead';
CREATE INDEX IF NOT EXISTS connections_due_unknown ON connections (last_key, id)
    WHERE refresh_expires_at IS NULL AND state <> 'dead';
CREATE TABLE IF NOT EXISTS locks (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
";

/// The record's columns, in the order [`read_record`] reads them.
const RECORD: &str = "id, kind, subject, geolocation, expires_at, refresh_expires_at, \
                      last_refresh, state, concur_code, failures, added_at";

/// Keeps a vault's connections in one SQLite database file, named by a URL:
/// `sqlite:///absolute/path/vault.db`, or `sqlite://relative/path.db` (relative to the
/// process's working directory). The path is taken literally (no percent-decoding, no query).
/// The file is created, with its schema, on first open; its directory must exist.
///
/// Many processes on one machine may share the file (WAL journal, a busy timeout of 10 s,
/// `synchronous=FULL` for documents, so that a rotated refresh token survives a power cut; lock
/// rows are written without waiting for an fsync). Each connection's
/// lock is a row of the `locks` table holding its holder and an expiry 30 s ahead, renewed
/// every 10 s while held, so that a crashed process's lock lapses; a save is a compare-and-swap
/// on the document generation the holder read. Do not put the file on a network file system
/// (SQLite's locking is unreliable there): use PostgreSQL or Redis for many machines.
pub struct SqliteStore {
    url: String,
    path: PathBuf,
    pool: Pool<Connection>,
    lock_ttl: Duration,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn failed(e: &rusqlite::Error) -> Error {
    // Only the error's code: SQLite's message may quote SQL, never a value, but stay terse.
    match e {
        rusqlite::Error::SqliteFailure(code, _) => Error::store(format!(
            "the SQLite store failed ({:?}, code {})",
            code.code, code.extended_code
        )),
        _ => Error::store("the SQLite store failed"),
    }
}

fn unreadable() -> Error {
    Error::store("the SQLite store holds a record this library cannot read")
}

fn open_connection(path: &PathBuf) -> Result<Connection, Error> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| Error::store("the SQLite store's file cannot be opened"))?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| failed(&e))?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(|e| failed(&e))?;
    Ok(connection)
}

/// The path a `sqlite://` URL names.
fn parse(url: &str) -> Result<PathBuf, Error> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Err(Error::invalid(
            "the store URL is not a sqlite:// URL (sqlite:///absolute/path or sqlite://relative/path)",
        ));
    };
    if rest.is_empty() || rest == "/" {
        return Err(Error::invalid("the sqlite:// store URL names no file"));
    }
    if rest.contains('\0') || rest.chars().any(char::is_control) {
        return Err(Error::invalid(
            "the sqlite:// store URL holds a control character",
        ));
    }
    if rest.ends_with('/') {
        return Err(Error::invalid(
            "the sqlite:// store URL names a directory, not a file",
        ));
    }
    Ok(PathBuf::from(rest))
}

fn read_record(row: &Row<'_>) -> Result<ConnectionRecord, Error> {
    let get = |e: rusqlite::Error| failed(&e);
    let kind: String = row.get(1).map_err(get)?;
    let state: String = row.get(7).map_err(get)?;
    let failures: i64 = row.get(9).map_err(get)?;
    Ok(ConnectionRecord {
        id: row.get(0).map_err(get)?,
        kind: ConnectionKind::from_name(&kind).ok_or_else(unreadable)?,
        subject: row.get(2).map_err(get)?,
        geolocation: row.get(3).map_err(get)?,
        expires_at: row.get(4).map_err(get)?,
        refresh_expires_at: row.get(5).map_err(get)?,
        last_refresh: row.get(6).map_err(get)?,
        state: ConnectionState::from_name(&state).ok_or_else(unreadable)?,
        concur_code: row.get(8).map_err(get)?,
        failures: u32::try_from(failures).map_err(|_| unreadable())?,
        added_at: row.get(10).map_err(get)?,
    })
}

impl SqliteStore {
    /// Opens (creating it and its schema when missing) the store at `url`. A URL that does not
    /// parse is `InvalidArgument`; a file that cannot be opened or is not a vault database is a
    /// `Store` error; so is one whose schema a newer library wrote (left untouched).
    pub fn open(url: &str) -> Result<SqliteStore, Error> {
        let path = parse(url)?;
        let connection = open_connection(&path)?;
        let store = SqliteStore {
            url: url.to_string(),
            path,
            pool: Pool::new(),
            lock_ttl: LOCK_TTL,
        };
        store.prepare(&connection)?;
        store.pool.put(connection);
        Ok(store)
    }

    /// How long a lock lives when its holder dies without releasing it (default 30 s). A
    /// living holder renews it every third of this.
    pub fn lock_ttl(mut self, ttl: Duration) -> SqliteStore {
        self.lock_ttl = ttl.max(Duration::from_millis(3));
        self
    }

    /// Checks the schema version, then creates what is missing (WAL journal, tables, indexes).
    fn prepare(&self, connection: &Connection) -> Result<(), Error> {
        let version = |c: &Connection| -> Result<Option<i64>, Error> {
            let has_meta: bool = c
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| failed(&e))?;
            if !has_meta {
                return Ok(None);
            }
            c.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| failed(&e))
        };
        if let Some(found) = version(connection)?
            && found > SQLITE_SCHEMA_VERSION
        {
            return Err(schema_newer(found, SQLITE_SCHEMA_VERSION));
        }
        // Another process opening the new file at once can hold the lock the switch to WAL
        // needs (SQLite then answers busy, or the old mode, at once): try again for a while.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            let mode =
                connection.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
            match mode {
                Ok(mode) if mode.eq_ignore_ascii_case("wal") => break,
                Ok(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(rusqlite::Error::SqliteFailure(code, _))
                    if matches!(
                        code.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(_) => {
                    return Err(Error::store(
                        "the SQLite store's file cannot use a WAL journal",
                    ));
                }
                Err(e) => return Err(failed(&e)),
            }
        }
        connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| failed(&e))?;
        let created = (|| {
            match version(connection)? {
                Some(found) if found > SQLITE_SCHEMA_VERSION => {
                    return Err(schema_newer(found, SQLITE_SCHEMA_VERSION));
                }
                Some(_) => {}
                None => {
                    connection.execute_batch(SCHEMA).map_err(|e| failed(&e))?;
                    connection
                        .execute(
                            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                            [SQLITE_SCHEMA_VERSION],
                        )
                        .map_err(|e| failed(&e))?;
                }
            }
            Ok(())
        })();
        let end = if created.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        connection.execute_batch(end).map_err(|e| failed(&e))?;
        created
    }

    /// Runs `f` on a pooled connection (a connection that failed is not given back).
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let connection = self.pool.take(|| open_connection(&self.path))?;
        let result = f(&connection);
        if result.is_ok() || connection.is_autocommit() {
            self.pool.put(connection);
        }
        result
    }

    /// Runs `f`, a write of a lock row, on a pooled connection with `synchronous=NORMAL`: in
    /// WAL mode its commit then waits for no fsync (a lock row lost to a power cut only lapses
    /// early, and the next durable commit syncs it anyway), so that a refresh costs one fsync
    /// (its save) rather than three. The connection goes back to the pool `synchronous=FULL`,
    /// or not at all.
    fn with_lax<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let connection = self.pool.take(|| open_connection(&self.path))?;
        let result = connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| failed(&e))
            .and_then(|()| f(&connection));
        let restored = connection
            .pragma_update(None, "synchronous", "FULL")
            .is_ok();
        if restored && (result.is_ok() || connection.is_autocommit()) {
            self.pool.put(connection);
        }
        result
    }

    fn generation(connection: &Connection, id: &str) -> Result<Option<i64>, Error> {
        connection
            .query_row(
                "SELECT generation FROM connections WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| failed(&e))
    }

    fn records_where(
        connection: &Connection,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        let mut statement = connection.prepare_cached(sql).map_err(|e| failed(&e))?;
        let mut rows = statement.query(params).map_err(|e| failed(&e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| failed(&e))? {
            out.push(read_record(row)?);
        }
        Ok(out)
    }
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl KeyedStore for SqliteStore {
    fn load(&self, id: &str) -> Result<Option<Document>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT document FROM connections WHERE id = ?1",
                [id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map(|d| d.map(Zeroizing::new))
            .map_err(|e| failed(&e))
        })
    }

    fn lock(&self, id: &str, wait: Duration) -> Result<Box<dyn KeyedLock + '_>, Error> {
        let holder = crate::random::uuid_v4();
        let ttl_ms = i64::try_from(self.lock_ttl.as_millis()).unwrap_or(i64::MAX);
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            let now = now_ms();
            // One statement, so atomic: the row is taken when absent or lapsed.
            let taken = self.with_lax(|c| {
                c.execute(
                    "INSERT INTO locks (id, holder, expires_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET holder = excluded.holder,
                         expires_ms = excluded.expires_ms
                     WHERE locks.expires_ms <= ?4",
                    params![id, holder, now.saturating_add(ttl_ms), now],
                )
                .map_err(|e| failed(&e))
            })?;
            if taken == 1 {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::lock_busy(
                    "the connection's lock was not released in time",
                ));
            }
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        let mut lock = SqliteLock {
            store: self,
            id: id.to_string(),
            holder: holder.clone(),
            generation: None,
            keeper: None,
        };
        lock.generation = self.with(|c| Self::generation(c, id))?;
        let (path, id, period) = (self.path.clone(), id.to_string(), self.lock_ttl / 3);
        let mut connection: Option<Connection> = None;
        lock.keeper = Some(Keeper::start(period, move || {
            if connection.is_none() {
                // Renewing the lock row needs no fsync either (see `with_lax`).
                connection = open_connection(&path)
                    .ok()
                    .filter(|c| c.pragma_update(None, "synchronous", "NORMAL").is_ok());
            }
            let Some(c) = connection.as_ref() else {
                return true;
            };
            let now = now_ms();
            match c.execute(
                "UPDATE locks SET expires_ms = ?1 WHERE id = ?2 AND holder = ?3",
                params![now.saturating_add(ttl_ms), id, holder],
            ) {
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
        self.with(|c| {
            let sql = format!("SELECT {RECORD} FROM connections WHERE id = ?1");
            Ok(Self::records_where(c, &sql, [id])?.pop())
        })
    }

    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error> {
        self.with(|c| match after {
            Some(after) => Self::records_where(
                c,
                &format!("SELECT {RECORD} FROM connections WHERE id > ?1 ORDER BY id LIMIT ?2"),
                params![after, limit_param(limit)],
            ),
            None => Self::records_where(
                c,
                &format!("SELECT {RECORD} FROM connections ORDER BY id LIMIT ?1"),
                params![limit_param(limit)],
            ),
        })
    }

    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        let b = DueBounds::new(now, within, after);
        self.with(|c| {
            let known = Self::records_where(
                c,
                &format!(
                    "SELECT {RECORD} FROM connections
                     WHERE refresh_expires_at IS NOT NULL AND state <> 'dead'
                       AND refresh_expires_at < ?1 AND (refresh_expires_at, id) > (?2, ?3)
                     ORDER BY refresh_expires_at, id LIMIT ?4"
                ),
                params![b.known_below, b.known_after, b.after_id, limit_param(limit)],
            )?;
            let unknown = Self::records_where(
                c,
                &format!(
                    "SELECT {RECORD} FROM connections
                     WHERE refresh_expires_at IS NULL AND state <> 'dead'
                       AND last_key < ?1 AND (last_key, id) > (?2, ?3)
                     ORDER BY last_key, id LIMIT ?4"
                ),
                params![
                    b.unknown_below,
                    b.unknown_after,
                    b.after_id,
                    limit_param(limit)
                ],
            )?;
            Ok(merge_due(known, unknown, within, limit))
        })
    }

    fn remove(&self, id: &str) -> Result<bool, Error> {
        self.with(|c| {
            c.execute("DELETE FROM connections WHERE id = ?1", [id])
                .map(|n| n > 0)
                .map_err(|e| failed(&e))
        })
    }

    fn count(&self) -> Result<u64, Error> {
        self.with(|c| {
            c.query_row("SELECT COUNT(*) FROM connections", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(|e| failed(&e))
        })
    }

    fn identity(&self, id: &str) -> String {
        format!("{}#{id}", self.url)
    }
}

struct SqliteLock<'a> {
    store: &'a SqliteStore,
    id: String,
    holder: String,
    /// The generation of the document this holder last read (`None`: no document): the compare
    /// side of the save.
    generation: Option<i64>,
    keeper: Option<Keeper>,
}

impl KeyedLock for SqliteLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        let id = self.id.as_str();
        let (generation, document) = self.store.with(|c| {
            c.query_row(
                "SELECT generation, document FROM connections WHERE id = ?1",
                [id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(|e| failed(&e))
            .map(|found| match found {
                Some((g, d)) => (Some(g), Some(Zeroizing::new(d))),
                None => (None, None),
            })
        })?;
        self.generation = generation;
        Ok(document)
    }

    fn record(&mut self) -> Result<Option<ConnectionRecord>, Error> {
        self.store.record(&self.id)
    }

    fn save(&mut self, document: Option<&[u8]>, record: &ConnectionRecord) -> Result<(), Error> {
        let (id, expected) = (self.id.as_str(), self.generation);
        let next = new_generation();
        self.store.with(|c| {
            c.execute_batch("BEGIN IMMEDIATE").map_err(|e| failed(&e))?;
            let saved = (|| {
                if Self::current(c, id)? != expected {
                    return Err(Error::store(
                        "another holder saved this connection during this refresh; its save was kept",
                    ));
                }
                if expected.is_none() && document.is_none() {
                    return Err(Error::store(
                        "a record cannot be saved for a connection that has no document",
                    ));
                }
                let r = record;
                let fields = params![
                    id,
                    r.kind.as_str(),
                    r.subject,
                    r.geolocation,
                    r.expires_at,
                    r.refresh_expires_at,
                    r.last_refresh,
                    last_key(r),
                    r.state.as_str(),
                    r.concur_code,
                    i64::from(r.failures),
                    r.added_at,
                    next,
                    document,
                ];
                let sql = if expected.is_some() {
                    "UPDATE connections SET kind = ?2, subject = ?3, geolocation = ?4,
                         expires_at = ?5, refresh_expires_at = ?6, last_refresh = ?7,
                         last_key = ?8, state = ?9, concur_code = ?10, failures = ?11,
                         added_at = ?12, generation = ?13, document = COALESCE(?14, document)
                     WHERE id = ?1"
                } else {
                    "INSERT INTO connections (id, kind, subject, geolocation, expires_at,
                         refresh_expires_at, last_refresh, last_key, state, concur_code, failures,
                         added_at, generation, document)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                };
                c.execute(sql, fields)
                .map_err(|e| failed(&e))?;
                Ok(())
            })();
            let end = if saved.is_ok() { "COMMIT" } else { "ROLLBACK" };
            c.execute_batch(end).map_err(|e| failed(&e))?;
            saved
        })?;
        self.generation = Some(next);
        Ok(())
    }
}

impl SqliteLock<'_> {
    fn current(connection: &Connection, id: &str) -> Result<Option<i64>, Error> {
        SqliteStore::generation(connection, id)
    }
}

impl Drop for SqliteLock<'_> {
    fn drop(&mut self) {
        drop(self.keeper.take());
        let (id, holder) = (self.id.as_str(), self.holder.as_str());
        let _ = self.store.with_lax(|c| {
            c.execute(
                "DELETE FROM locks WHERE id = ?1 AND holder = ?2",
                params![id, holder],
            )
            .map_err(|e| failed(&e))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_rows_skip_the_fsync_and_documents_do_not() {
        let dir = std::env::temp_dir().join(format!(
            "concur-sqlite-sync-{}-{}",
            std::process::id(),
            new_generation()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.join("v.db").display())).unwrap();
        let synchronous = |store: &SqliteStore| {
            store
                .with(|c| {
                    c.pragma_query_value(None, "synchronous", |row| row.get::<_, i64>(0))
                        .map_err(|e| failed(&e))
                })
                .unwrap()
        };
        let lax = store
            .with_lax(|c| {
                c.pragma_query_value(None, "synchronous", |row| row.get::<_, i64>(0))
                    .map_err(|e| failed(&e))
            })
            .unwrap();
        assert_eq!(lax, 1, "NORMAL while a lock row is written");
        let lock = store.lock("a", Duration::ZERO).unwrap();
        drop(lock);
        // Every pooled connection is FULL again (2): a save never inherits the lax mode.
        assert_eq!(synchronous(&store), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
