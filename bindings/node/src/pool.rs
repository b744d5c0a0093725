//! The addon's own worker threads (the pool shared with the Python binding, in
//! `concur_native::__bindings::pool`), which run the blocking network calls so that libuv's small
//! thread pool (4 threads by default, shared with `fs`, `dns.lookup`, `crypto` and `zlib`) is
//! never held for up to a call's deadline.
//!
//! Threads are started on demand, at most [`MAX_THREADS`] at once; a call beyond that waits
//! in a queue for a free thread. A thread idle for
//! [`IDLE_FOR`](concur_native::__bindings::pool::IDLE_FOR) ends. A call submitted with an
//! id can be cancelled ([`cancel`]) until it starts: then it is never sent. Once started, it
//! runs to its end (within its deadline).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use concur_native::__bindings::pool::WorkerPool;
use napi::{Env, JsDeferred};

use crate::RawOutcome;

/// The most calls that run at once; later ones wait for a thread.
pub const MAX_THREADS: usize = 32;

/// What resolves a call's promise on the JS thread.
pub type Resolver = Box<dyn FnOnce(Env) -> napi::Result<RawOutcome> + Send>;

/// One call: the blocking work (it must not panic: callers wrap it in `catch_unwind`) and the
/// promise it settles.
pub struct Job {
    /// The call; runs on a worker thread.
    pub work: Box<dyn FnOnce() -> RawOutcome + Send>,
    /// Resolved with the call's outcome.
    pub deferred: JsDeferred<RawOutcome, Resolver>,
    /// The id [`cancel`] knows the call by, from [`new_call_id`]; `None` for a call that
    /// cannot be cancelled.
    pub id: Option<u64>,
}

/// A fresh id for a call that may be cancelled; unique in the process (across JS environments).
pub fn new_call_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The cancellation flags of the submitted calls that have ids, until each ends.
fn flags() -> MutexGuard<'static, HashMap<u64, Arc<AtomicBool>>> {
    static FLAGS: OnceLock<Mutex<HashMap<u64, Arc<AtomicBool>>>> = OnceLock::new();
    FLAGS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Cancels the call with this id if it has not started: it will not be sent, and its promise
/// resolves to an error nobody reads (the JS side has rejected already). A call that started,
/// or ended, is left alone.
pub fn cancel(id: u64) {
    if let Some(flag) = flags().get(&id) {
        flag.store(true, Ordering::SeqCst);
    }
}

fn settle(deferred: JsDeferred<RawOutcome, Resolver>, outcome: RawOutcome) {
    deferred.resolve(Box::new(move |_env| Ok(outcome)));
}

static POOL: WorkerPool<Job> = WorkerPool::new(MAX_THREADS, run);

/// Queues a call, starting a thread when every running one is busy and there is room.
pub fn submit(job: Job) {
    if let Some(id) = job.id {
        flags().insert(id, Arc::new(AtomicBool::new(false)));
    }
    // No thread will ever take it: settle it now rather than leave the promise (and the event
    // loop it keeps alive) pending forever.
    if let Err(job) = POOL.submit(job) {
        if let Some(id) = job.id {
            flags().remove(&id);
        }
        settle(job.deferred, RawOutcome::no_thread());
    }
}

/// Runs one call on a worker thread and settles its promise.
fn run(job: Job) {
    let cancelled = job.id.and_then(|id| flags().get(&id).cloned());
    let outcome = if cancelled.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
        RawOutcome::cancelled()
    } else {
        (job.work)()
    };
    if let Some(id) = job.id {
        flags().remove(&id);
    }
    // Settling cannot fail but when the JS environment is being torn down (a worker
    // thread ending); this thread must survive that to serve the other calls.
    let _ = catch_unwind(AssertUnwindSafe(|| settle(job.deferred, outcome)));
}
