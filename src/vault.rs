//! The token vault: many Concur connections (every company's and every user's), each kept
//! alive by the same engine as [`TokenManager`](crate::manager::TokenManager), over a keyed
//! store named by URL (`memory:`, `sqlite:///path`, `redis://…`, `postgres://…`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use concur_native::{Client, Options};
//! use concur_native::vault::{TokenVault, VaultStart, open_store};
//!
//! let client = Arc::new(Client::new(&Options::new())?);
//! let vault = TokenVault::new(client, "client-id", "client-secret", open_store("memory:")?)?;
//! vault.add(
//!     "company-1",
//!     VaultStart::Company { company_id: "uuid".into(), request_token: "token".into() },
//!     false,
//! )?;
//! let bearer = vault.access_token("company-1")?;
//! println!("Authorization: Bearer {}", bearer.as_str());
//! let report = vault.keep_alive(Duration::from_secs(30 * 86_400), 8)?; // the daily cron
//! println!("{} refreshed, {} dead", report.refreshed, report.dead.len());
//! # Ok::<(), concur_native::Error>(())
//! ```

pub use crate::manager::{
    AccessToken, ConnectionInfo, ConnectionKind, ConnectionRecord, ConnectionState, Connections,
    DEFAULT_CACHE_CAPACITY, DEFAULT_HORIZONS, DEFAULT_KEEP_ALIVE_CONCURRENCY,
    DEFAULT_KEEP_ALIVE_WITHIN, Document, KeepAliveFailure, KeepAliveReport, KeyedLock, KeyedStore,
    MAX_CONNECTION_ID, MemoryKeyedStore, Outcome, RefreshEvent, RefreshPolicy, Sealer, StoreKey,
    StoredToken, TokenVault, VaultStart, check_connection_id, open_store,
};
