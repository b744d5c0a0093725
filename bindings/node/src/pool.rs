//! The addon's own worker threads, which run the blocking network calls so that libuv's small
//! thread pool (4 threads by default, shared with `fs`, `dns.lookup`, `crypto` and `zlib`) is
//! never held for up to a call's deadline.
//!
//! Threads are started on demand, at most [`MAX_THREADS`] at once; a call beyond that waits
//! in a queue for a free thread. A thread idle for [`IDLE_FOR`] ends. A call submitted with an
//! id can be cancelled ([`cancel`]) until it starts: then it is never sent. Once started, it
//! runs to its end (within its deadline).

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use napi::{Env, JsDeferred};

use crate::RawOutcome;

/// The most calls that run at once; later ones wait for a thread.
pub const MAX_THREADS: usize = 32;

/// How long an idle thread waits for work before it ends.
const IDLE_FOR: Duration = Duration::from_secs(30);

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

struct Pool {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        wake: Condvar::new(),
    })
}

impl Pool {
    // Nothing that holds the lock can panic but for allocation; the state stays consistent.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queues a call, starting a thread when every running one is busy and there is room.
pub fn submit(job: Job) {
    if let Some(id) = job.id {
        flags().insert(id, Arc::new(AtomicBool::new(false)));
    }
    let pool = pool();
    let mut state = pool.lock();
    state.queue.push_back(job);
    if state.queue.len() > state.idle && state.threads < MAX_THREADS {
        let started = std::thread::Builder::new()
            .name("concur-native".to_string())
            .spawn(move || work(pool));
        match started {
            Ok(_) => state.threads += 1,
            // No thread will ever take it: settle it now rather than leave the promise (and
            // the event loop it keeps alive) pending forever.
            Err(_) if state.threads == 0 => {
                if let Some(job) = state.queue.pop_back() {
                    drop(state);
                    if let Some(id) = job.id {
                        flags().remove(&id);
                    }
                    settle(job.deferred, RawOutcome::no_thread());
                    return;
                }
            }
            // A running thread will take it in turn.
            Err(_) => {}
        }
    }
    drop(state);
    pool.wake.notify_one();
}

fn work(pool: &'static Pool) {
    loop {
        let mut state = pool.lock();
        let job = loop {
            if let Some(job) = state.queue.pop_front() {
                break job;
            }
            state.idle += 1;
            let (next, waited) = pool
                .wake
                .wait_timeout(state, IDLE_FOR)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if waited.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        };
        drop(state);
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
}
