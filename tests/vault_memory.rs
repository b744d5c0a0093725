//! What a vault's cached connections cost: `access_token(id)` on a cached connection allocates
//! nothing, and a cached connection holds at most 2 KiB beyond its token strings. Counted by a
//! global allocator of this test program's own; no server is needed (every token is taken
//! from the store).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concur_native::vault::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedStore, MemoryKeyedStore, StoredToken,
    TokenVault,
};
use concur_native::{Client, Options};

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's layout, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's pointer and layout, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's pointer, layout and size, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

const ACCESS: usize = 600;
const REFRESH: usize = 300;
const GEO: &str = "https://us2.api.concursolutions.com";

/// A store of `n` connections whose documents hold fresh access tokens of `ACCESS` bytes.
fn filled(n: usize) -> Arc<dyn KeyedStore> {
    let store = MemoryKeyedStore::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for i in 0..n {
        let id = format!("connection-{i:06}");
        let mut token = StoredToken::default();
        token.access_token = Some(format!("{i:0>width$}", width = ACCESS));
        token.expires_at = Some(now + 3600);
        token.refresh_token = Some(format!("{i:0>width$}", width = REFRESH));
        token.refresh_expires_at = Some(now + 180 * 86_400);
        token.geolocation = Some(GEO.into());
        let record = ConnectionRecord {
            id: id.clone(),
            kind: ConnectionKind::Company,
            subject: None,
            geolocation: Some(GEO.into()),
            expires_at: token.expires_at,
            refresh_expires_at: token.refresh_expires_at,
            last_refresh: Some(now),
            state: ConnectionState::Active,
            concur_code: None,
            failures: 0,
            added_at: now,
        };
        let mut lock = store.lock(&id, Duration::ZERO).unwrap();
        lock.load().unwrap();
        lock.save(Some(&token.to_document()), &record).unwrap();
    }
    Arc::new(store)
}

fn vault(store: Arc<dyn KeyedStore>) -> TokenVault {
    let client = Arc::new(Client::new(&Options::new()).unwrap());
    TokenVault::new(client, "client-id", "client-secret", store).unwrap()
}

#[test]
fn a_cached_access_token_allocates_nothing_and_a_connection_costs_under_2_kib() {
    const N: usize = 2_000;
    let store = filled(N);
    let vault = vault(store);
    let ids: Vec<String> = (0..N).map(|i| format!("connection-{i:06}")).collect();

    let before = LIVE.load(Ordering::SeqCst);
    for id in &ids {
        vault.access_token(id).unwrap();
    }
    let per_connection = (LIVE.load(Ordering::SeqCst) - before) / N as isize;
    // The token strings each cached connection holds: access, refresh, geolocation, "Bearer".
    let strings = (ACCESS + REFRESH + GEO.len() + "Bearer".len()) as isize;
    println!("a cached connection holds {per_connection} bytes, {strings} of them its strings");
    assert!(
        per_connection - strings <= 2048,
        "a cached connection costs {} bytes beyond its strings",
        per_connection - strings
    );

    // The cached path: no allocation at all.
    let start = allocations();
    for _ in 0..10 {
        for id in &ids {
            let token = vault.access_token(id).unwrap();
            assert_eq!(token.len(), ACCESS);
        }
    }
    assert_eq!(allocations() - start, 0, "the cached path allocated");
    let start = allocations();
    let total: usize = ids
        .iter()
        .map(|id| vault.with_access_token(id, str::len).unwrap())
        .sum();
    assert_eq!(total, N * ACCESS);
    assert_eq!(allocations() - start, 0, "with_access_token allocated");
}
