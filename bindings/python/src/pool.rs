//! The binding's own worker threads (the pool shared with the Node binding, in
//! `concur_native::__bindings::pool`), which run every network call so that the caller never
//! blocks in one: a sync call waits for its worker in short slices and can be interrupted by a
//! signal (Ctrl-C), an asyncio call is settled on its event loop from here.
//!
//! Threads are started on demand, at most [`MAX_THREADS`] at once; a call beyond that waits in
//! a queue for a free thread. A thread idle for
//! [`IDLE_FOR`](concur_native::__bindings::pool::IDLE_FOR) ends. A call abandoned before it
//! starts (a cancelled task, an interrupted wait) is never sent; one abandoned while it runs
//! goes on to its end (within its deadline) and its result is dropped unread, its secrets
//! wiped by their own `Drop`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use concur_native::__bindings::pool::WorkerPool;

/// The most calls that run at once; later ones wait for a thread.
pub(crate) const MAX_THREADS: usize = 64;

/// One queued call. It must not panic: [`submit`] runs it inside `catch_unwind` all the same.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

static POOL: WorkerPool<Job> = WorkerPool::new(MAX_THREADS, run);

fn run(job: Job) {
    // A panic is a bug of the job; the thread lives on for the next one.
    let _ = catch_unwind(AssertUnwindSafe(job));
}

/// Whether the current thread is a worker of the pool (a call made from a store callback or
/// from an asyncio call's Python side runs on it directly, never queued behind itself).
pub(crate) fn on_worker() -> bool {
    concur_native::__bindings::pool::on_worker()
}

/// Queues a call, starting a thread when every running one is busy and there is room. Gives
/// the job back when no thread runs and none could be started: the caller runs it itself.
pub(crate) fn submit(job: Job) -> Result<(), Job> {
    POOL.submit(job)
}

/// Where a sync call's worker leaves its outcome for the caller waiting on it.
pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
    filled: Condvar,
    /// Set with the outcome: what the caller spins on before it sleeps.
    ready: AtomicBool,
}

/// How long a caller spins for its outcome before it sleeps on the condition variable: a call
/// to a nearby server answers within tens of microseconds, and waking a thread that sleeps
/// costs about as much again (more on a VM, whose idle vCPU must be woken first).
const SPIN: Duration = Duration::from_micros(50);

struct SlotState<T> {
    outcome: Option<T>,
    abandoned: bool,
}

impl<T> Slot<T> {
    /// An empty slot, shared by the caller and the job.
    pub(crate) fn new() -> Arc<Slot<T>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                abandoned: false,
            }),
            filled: Condvar::new(),
            ready: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the caller gave up waiting: then the call must not be sent.
    pub(crate) fn abandoned(&self) -> bool {
        self.lock().abandoned
    }

    /// Leaves the outcome for the caller, or drops it (wiping its secrets) when the caller is
    /// gone.
    pub(crate) fn fill(&self, outcome: T) {
        let mut state = self.lock();
        if state.abandoned {
            drop(state);
            drop(outcome);
            return;
        }
        state.outcome = Some(outcome);
        self.ready.store(true, Ordering::Release);
        drop(state);
        self.filled.notify_one();
    }

    /// Waits at most `slice` for the outcome.
    pub(crate) fn wait(&self, slice: Duration) -> Option<T> {
        // One caller spins at a time: with many waiting, their spinning would take the CPU
        // their workers and the server need.
        static SPINNING: AtomicBool = AtomicBool::new(false);
        if !SPINNING.swap(true, Ordering::Acquire) {
            let spin_until = Instant::now() + SPIN;
            while !self.ready.load(Ordering::Acquire) && Instant::now() < spin_until {
                std::thread::yield_now();
            }
            SPINNING.store(false, Ordering::Release);
        }
        let mut state = self.lock();
        if state.outcome.is_none() {
            state = self
                .filled
                .wait_timeout(state, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.outcome.take()
    }

    /// The caller gives up: a call not started is never sent, an outcome that arrives is
    /// dropped, and one already here is dropped now.
    pub(crate) fn abandon(&self) {
        let mut state = self.lock();
        state.abandoned = true;
        let outcome = state.outcome.take();
        drop(state);
        drop(outcome);
    }
}

/// The cancellation flag of an asyncio call, shared by its task and its job.
#[derive(Default)]
pub(crate) struct Flag(AtomicBool);

impl Flag {
    /// Marks the call cancelled.
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the call was cancelled.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
