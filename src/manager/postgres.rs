//! The vault's PostgreSQL store, the durable store most partners already run: one row per
//! connection, a lock per connection that lives as long as its holder's database session (so a
//! crashed worker's lock ends with its connection), a compare-and-swap save in one transaction
//! (`SELECT … FOR UPDATE`, then the write), and two partial indexes for the sweep.

use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;
use zeroize::Zeroizing;

use crate::error::Error;

use super::keyed::{ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore};
use super::keyed_common::{
    DueBounds, Pool, last_key, merge_due, new_generation, schema_newer, url_without_password,
};
use super::store::Document;

/// The schema this library writes (`concur_vault_meta`'s `schema_version`).
pub const POSTGRES_SCHEMA_VERSION: i64 = 1;

/// The advisory lock key that serializes schema creation between processes.
const SCHEMA_LOCK: i64 = 0x636f_6e63_7572_0001;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS concur_vault_meta (key text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE IF NOT EXISTS concur_vault_connections (
    id text COLLATE "C" PRIMARY KEY,
    document bytea NOT NULL,
    generation bigint NOT NULL,
    kind text NOT NULL,
    subject text,
    geolocation text,
    expires_at bigint,
    refresh_expires_at bigint,
    last_refresh bigint,
    last_key bigint NOT NULL,
    state text NOT NULL,
    concur_code bigint,
    failures bigint NOT NULL,
    added_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS concur_vault_due_known
    ON concur_vault_connections (refresh_expires_at, id)
    WHERE refresh_expires_at IS NOT NULL AND state <> 'dead';
CREATE INDEX IF NOT EXISTS concur_vault_due_unknown
    ON concur_vault_connections (last_key, id)
    WHERE refresh_expires_at IS NULL AND state <> 'dead';
"#;

/// The record's columns, in the order [`read_record`] reads them.
const RECORD: &str = "id, kind, subject, geolocation, expires_at, refresh_expires_at, \
                      last_refresh, state, concur_code, failures, added_at";

/// Keeps a vault's connections in PostgreSQL (`postgres://` or `postgresql://` URL:
/// `postgres://user[:password]@host[:port]/database[?options]`, libpq's URL form; a host that
/// is a directory, `?host=/run/postgresql`, is a unix socket). The tables
/// (`concur_vault_meta`, `concur_vault_connections`) are created on first open in the
/// session's schema (choose another with `?options=-csearch_path%3Dname`).
///
/// **TLS**: `sslmode=require` (or `verify-ca`, `verify-full`: the same here) connects over TLS
/// (rustls) and always verifies the server's certificate and name, against Mozilla's roots,
/// the operating system's and the file `sslrootcert=/path/ca.pem` names. Without it
/// (`prefer`, the default, or `disable`) the session is plain TCP or a unix socket: a server
/// with a self-signed certificate is still reached, unencrypted.
///
/// Each connection's lock is a session-level advisory lock on its ID, held on a database
/// session of its own for as long as the holder keeps it: waiting is bounded by
/// `lock_timeout`, `Duration::ZERO` only tries (a sweep skips what another sweeper holds),
/// and a holder that dies releases it with its session. A save commits at once (a rotated
/// refresh token is durable before anyone uses the new access token) and is a compare-and-swap:
/// in one transaction it locks the row (`SELECT … FOR UPDATE`), checks the generation the
/// holder read, and writes. Every operation outside a lock takes a pooled session.
pub struct PostgresStore {
    config: Config,
    tls: Option<MakeRustlsConnect>,
    shown: String,
    pool: Pool<Client>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

fn failed(e: &postgres::Error) -> Error {
    match e.code() {
        Some(code) => Error::store(format!(
            "the PostgreSQL store failed (SQLSTATE {})",
            code.code()
        )),
        None if e.is_closed() => Error::store("the PostgreSQL store's connection was closed"),
        None => Error::store("the PostgreSQL store failed"),
    }
}

fn unreadable() -> Error {
    Error::store("the PostgreSQL store holds a record this library cannot read")
}

fn busy() -> Error {
    Error::store("the connection's lock was not released in time")
}

fn read_record(row: &Row) -> Result<ConnectionRecord, Error> {
    let get = |e: postgres::Error| failed(&e);
    let kind: String = row.try_get(1).map_err(get)?;
    let state: String = row.try_get(7).map_err(get)?;
    let failures: i64 = row.try_get(9).map_err(get)?;
    Ok(ConnectionRecord {
        id: row.try_get(0).map_err(get)?,
        kind: ConnectionKind::from_name(&kind).ok_or_else(unreadable)?,
        subject: row.try_get(2).map_err(get)?,
        geolocation: row.try_get(3).map_err(get)?,
        expires_at: row.try_get(4).map_err(get)?,
        refresh_expires_at: row.try_get(5).map_err(get)?,
        last_refresh: row.try_get(6).map_err(get)?,
        state: ConnectionState::from_name(&state).ok_or_else(unreadable)?,
        concur_code: row.try_get(8).map_err(get)?,
        failures: u32::try_from(failures).map_err(|_| unreadable())?,
        added_at: row.try_get(10).map_err(get)?,
    })
}

fn records_of(rows: &[Row]) -> Result<Vec<ConnectionRecord>, Error> {
    rows.iter().map(read_record).collect()
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The URL without what libpq reads and the client does not (`sslrootcert`), `verify-ca` and
/// `verify-full` read as `require` (this store always verifies), and the root file named.
fn split_tls(url: &str) -> Result<(String, Option<String>), Error> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut root = None;
    let mut kept = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("sslrootcert", path)) => root = Some(percent_decode(path)?),
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require".into()),
            _ => kept.push(part.to_string()),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, root))
}

fn percent_decode(text: &str) -> Result<String, Error> {
    let bad = || Error::invalid("the PostgreSQL store URL's sslrootcert is badly escaped");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// TLS that verifies the server against Mozilla's roots, the operating system's and
/// `root_file`'s certificates.
fn tls_config(root_file: Option<&str>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = root_file {
        let cannot = |why: &str| {
            Error::invalid(format!("the PostgreSQL store URL's sslrootcert file {why}"))
        };
        let pem = std::fs::read(path).map_err(|_| cannot("cannot be read"))?;
        let mut found = 0;
        for item in ureq::tls::parse_pem(&pem) {
            if let ureq::tls::PemItem::Certificate(cert) =
                item.map_err(|_| cannot("is not valid PEM"))?
            {
                let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
                roots
                    .add(der)
                    .map_err(|_| cannot("holds an unusable certificate"))?;
                found += 1;
            }
        }
        if found == 0 {
            return Err(cannot("holds no certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::store("TLS for the PostgreSQL store cannot be set up"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The advisory lock key of connection `id` (computed by the server).
const LOCK_KEY: &str = "hashtextextended('concur_vault:' || $1, 0)";

impl PostgresStore {
    /// Opens the store at `url`: connects (a `Store` error when it cannot), checks the schema
    /// version (a `Store` error, nothing written, when a newer library wrote it) and creates
    /// the tables when missing. A URL that does not parse is `InvalidArgument`.
    pub fn open(url: &str) -> Result<PostgresStore, Error> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::invalid(
                "the store URL is not a postgres:// or postgresql:// URL",
            ));
        }
        let (parsed, root_file) = split_tls(url)?;
        let mut config: Config = parsed
            .parse()
            .map_err(|_| Error::invalid("the PostgreSQL store URL does not parse"))?;
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(MakeRustlsConnect::new(tls_config(root_file.as_deref())?)),
            _ => None,
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("concur-native vault");
        }
        let store = PostgresStore {
            config,
            tls,
            shown: url_without_password(url),
            pool: Pool::new(),
        };
        let mut client = store.connect()?;
        store.prepare(&mut client)?;
        store.pool.put(client);
        Ok(store)
    }

    fn connect(&self) -> Result<Client, Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
        .map_err(|_| Error::store("the PostgreSQL store cannot be reached"))
    }

    /// Checks the schema version, then creates what is missing, in one transaction serialized
    /// between processes.
    fn prepare(&self, client: &mut Client) -> Result<(), Error> {
        let mut tx = client.transaction().map_err(|e| failed(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(|e| failed(&e))?;
        let exists: bool = tx
            .query_one("SELECT to_regclass('concur_vault_meta') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(|e| failed(&e))?;
        let found: Option<i64> = if exists {
            tx.query_opt(
                "SELECT value FROM concur_vault_meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(|e| failed(&e))?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| failed(&e))?
        } else {
            None
        };
        match found {
            Some(found) if found > POSTGRES_SCHEMA_VERSION => {
                // Dropping the transaction rolls it back: nothing was written.
                return Err(schema_newer(found, POSTGRES_SCHEMA_VERSION));
            }
            Some(_) => {}
            None => {
                tx.batch_execute(SCHEMA).map_err(|e| failed(&e))?;
                tx.execute(
                    "INSERT INTO concur_vault_meta (key, value) VALUES ('schema_version', $1)
                     ON CONFLICT (key) DO NOTHING",
                    &[&POSTGRES_SCHEMA_VERSION],
                )
                .map_err(|e| failed(&e))?;
            }
        }
        tx.commit().map_err(|e| failed(&e))
    }

    /// Runs `f` on a pooled session (one that failed is not given back).
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, Error>) -> Result<T, Error> {
        let mut client = self.pool.take(|| self.connect())?;
        let result = f(&mut client);
        if result.is_ok() && !client.is_closed() {
            self.pool.put(client);
        }
        result
    }

    fn query_records(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ConnectionRecord>, Error> {
        self.with(|c| {
            let rows = c.query(sql, params).map_err(|e| failed(&e))?;
            records_of(&rows)
        })
    }
}

impl KeyedStore for PostgresStore {
    fn load(&self, id: &str) -> Result<Option<Document>, Error> {
        self.with(|c| {
            c.query_opt(
                "SELECT document FROM concur_vault_connections WHERE id = $1",
                &[&id],
            )
            .map_err(|e| failed(&e))?
            .map(|r| r.try_get::<_, Vec<u8>>(0).map(Zeroizing::new))
            .transpose()
            .map_err(|e| failed(&e))
        })
    }

    fn lock(&self, id: &str, wait: Duration) -> Result<Box<dyn KeyedLock + '_>, Error> {
        let mut client = self.pool.take(|| self.connect())?;
        let taken = if wait.is_zero() {
            client
                .query_one(&format!("SELECT pg_try_advisory_lock({LOCK_KEY})"), &[&id])
                .and_then(|r| r.try_get::<_, bool>(0))
                .map_err(|e| failed(&e))
        } else {
            // lock_timeout bounds the wait (0 would mean none: at least 1 ms).
            let ms = wait.as_millis().clamp(1, i32::MAX as u128).to_string();
            let waited = client
                .execute(
                    "SELECT set_config('lock_timeout', $1, false)",
                    &[&format!("{ms}ms")],
                )
                .and_then(|_| {
                    client.execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"), &[&id])
                });
            let reset = client.batch_execute("RESET lock_timeout");
            match waited {
                Ok(_) => reset.map(|()| true).map_err(|e| failed(&e)),
                Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                    reset.map(|()| false).map_err(|e| failed(&e))
                }
                Err(e) => Err(failed(&e)),
            }
        };
        match taken {
            Ok(true) => {}
            Ok(false) => {
                self.pool.put(client);
                return Err(busy());
            }
            Err(e) => return Err(e),
        }
        let generation = client
            .query_opt(
                "SELECT generation FROM concur_vault_connections WHERE id = $1",
                &[&id],
            )
            .map_err(|e| failed(&e))
            .and_then(|r| {
                r.map(|r| r.try_get::<_, i64>(0))
                    .transpose()
                    .map_err(|e| failed(&e))
            });
        // On an error the session is dropped (closed), which releases the lock.
        let generation = generation?;
        Ok(Box::new(PostgresLock {
            store: self,
            id: id.to_string(),
            client: Some(client),
            generation,
        }))
    }

    fn record(&self, id: &str) -> Result<Option<ConnectionRecord>, Error> {
        Ok(self
            .query_records(
                &format!("SELECT {RECORD} FROM concur_vault_connections WHERE id = $1"),
                &[&id],
            )?
            .pop())
    }

    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error> {
        let limit = limit_param(limit);
        match after {
            Some(after) => self.query_records(
                &format!(
                    "SELECT {RECORD} FROM concur_vault_connections WHERE id > $1
                     ORDER BY id LIMIT $2"
                ),
                &[&after, &limit],
            ),
            None => self.query_records(
                &format!("SELECT {RECORD} FROM concur_vault_connections ORDER BY id LIMIT $1"),
                &[&limit],
            ),
        }
    }

    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        let b = DueBounds::new(now, within, after);
        let n = limit_param(limit);
        let known = self.query_records(
            &format!(
                "SELECT {RECORD} FROM concur_vault_connections
                 WHERE refresh_expires_at IS NOT NULL AND state <> 'dead'
                   AND refresh_expires_at < $1 AND (refresh_expires_at, id) > ($2, $3)
                 ORDER BY refresh_expires_at, id LIMIT $4"
            ),
            &[&b.known_below, &b.known_after, &b.after_id, &n],
        )?;
        let unknown = self.query_records(
            &format!(
                "SELECT {RECORD} FROM concur_vault_connections
                 WHERE refresh_expires_at IS NULL AND state <> 'dead'
                   AND last_key < $1 AND (last_key, id) > ($2, $3)
                 ORDER BY last_key, id LIMIT $4"
            ),
            &[&b.unknown_below, &b.unknown_after, &b.after_id, &n],
        )?;
        Ok(merge_due(known, unknown, within, limit))
    }

    fn remove(&self, id: &str) -> Result<bool, Error> {
        self.with(|c| {
            c.execute("DELETE FROM concur_vault_connections WHERE id = $1", &[&id])
                .map(|n| n > 0)
                .map_err(|e| failed(&e))
        })
    }

    fn count(&self) -> Result<u64, Error> {
        self.with(|c| {
            c.query_one("SELECT COUNT(*) FROM concur_vault_connections", &[])
                .and_then(|r| r.try_get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(|e| failed(&e))
        })
    }

    fn identity(&self, id: &str) -> String {
        format!("{}#{id}", self.shown)
    }
}

struct PostgresLock<'a> {
    store: &'a PostgresStore,
    id: String,
    /// The session holding the advisory lock (None once it failed: the lock ended with it).
    client: Option<Client>,
    /// The generation of the document this holder last read (`None`: no document): the compare
    /// side of the save.
    generation: Option<i64>,
}

impl PostgresLock<'_> {
    fn client(&mut self) -> Result<&mut Client, Error> {
        match self.client.as_mut() {
            Some(c) if !c.is_closed() => Ok(c),
            _ => Err(Error::store(
                "the PostgreSQL session holding this connection's lock was lost",
            )),
        }
    }
}

impl KeyedLock for PostgresLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        let id = self.id.clone();
        let row = self
            .client()?
            .query_opt(
                "SELECT generation, document FROM concur_vault_connections WHERE id = $1",
                &[&id],
            )
            .map_err(|e| failed(&e))?;
        match row {
            Some(row) => {
                let generation: i64 = row.try_get(0).map_err(|e| failed(&e))?;
                let document: Vec<u8> = row.try_get(1).map_err(|e| failed(&e))?;
                self.generation = Some(generation);
                Ok(Some(Zeroizing::new(document)))
            }
            None => {
                self.generation = None;
                Ok(None)
            }
        }
    }

    fn record(&mut self) -> Result<Option<ConnectionRecord>, Error> {
        let id = self.id.clone();
        let rows = self
            .client()?
            .query(
                &format!("SELECT {RECORD} FROM concur_vault_connections WHERE id = $1"),
                &[&id],
            )
            .map_err(|e| failed(&e))?;
        Ok(records_of(&rows)?.pop())
    }

    fn save(&mut self, document: Option<&[u8]>, record: &ConnectionRecord) -> Result<(), Error> {
        let (id, expected) = (self.id.clone(), self.generation);
        let next = new_generation();
        let client = self.client()?;
        let mut tx = client.transaction().map_err(|e| failed(&e))?;
        let current: Option<i64> = tx
            .query_opt(
                "SELECT generation FROM concur_vault_connections WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(|e| failed(&e))?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| failed(&e))?;
        if current != expected {
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
        let failures = i64::from(r.failures);
        let last = last_key(r);
        let params: [&(dyn postgres::types::ToSql + Sync); 14] = [
            &id,
            &r.kind.as_str(),
            &r.subject,
            &r.geolocation,
            &r.expires_at,
            &r.refresh_expires_at,
            &r.last_refresh,
            &last,
            &r.state.as_str(),
            &r.concur_code,
            &failures,
            &r.added_at,
            &next,
            &document,
        ];
        let sql = if expected.is_some() {
            "UPDATE concur_vault_connections SET kind = $2, subject = $3, geolocation = $4,
                 expires_at = $5, refresh_expires_at = $6, last_refresh = $7, last_key = $8,
                 state = $9, concur_code = $10, failures = $11, added_at = $12,
                 generation = $13, document = COALESCE($14, document)
             WHERE id = $1"
        } else {
            // A concurrent insert (a holder whose lock lapsed with its session) makes this a
            // conflict: nothing written.
            "INSERT INTO concur_vault_connections (id, kind, subject, geolocation, expires_at,
                 refresh_expires_at, last_refresh, last_key, state, concur_code, failures,
                 added_at, generation, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (id) DO NOTHING"
        };
        let written = tx.execute(sql, &params).map_err(|e| failed(&e))?;
        if written != 1 {
            return Err(Error::store(
                "another holder saved this connection during this refresh; its save was kept",
            ));
        }
        tx.commit().map_err(|e| failed(&e))?;
        self.generation = Some(next);
        Ok(())
    }
}

impl Drop for PostgresLock<'_> {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else {
            return;
        };
        let released = client
            .query_one(
                &format!("SELECT pg_advisory_unlock({LOCK_KEY})"),
                &[&self.id],
            )
            .and_then(|r| r.try_get::<_, bool>(0));
        // A session whose release failed is closed (dropped), which releases the lock.
        if matches!(released, Ok(true)) {
            self.store.pool.put(client);
        }
    }
}
