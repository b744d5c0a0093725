//! A bounded pool of worker threads, one per binding, that runs the blocking network calls so
//! that the caller's own threads (Python's, or libuv's small pool) never wait on one.
//!
//! Threads are started on demand, at most the pool's `max_threads` at once; a job beyond that
//! waits in a queue for a free thread. A thread idle for [`IDLE_FOR`] ends. What a job is, how
//! it runs, and what happens to one no thread can take are the binding's.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long an idle thread waits for work before it ends.
pub const IDLE_FOR: Duration = Duration::from_secs(30);

thread_local! {
    /// Whether this thread is one of a pool's workers.
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is a worker of a pool (a call made on it should run there and
/// then, never queue behind itself).
pub fn on_worker() -> bool {
    ON_WORKER.with(Cell::get)
}

/// Worker threads that take jobs of type `J` from a queue and hand each to `run`; meant for a
/// `static`.
pub struct WorkerPool<J> {
    max_threads: usize,
    run: fn(J),
    state: Mutex<State<J>>,
    wake: Condvar,
}

struct State<J> {
    queue: VecDeque<J>,
    threads: usize,
    idle: usize,
}

impl<J: Send + 'static> WorkerPool<J> {
    /// A pool of at most `max_threads` threads (none started yet) that runs each job with
    /// `run`. `run` must not panic: a panic ends its thread.
    pub const fn new(max_threads: usize, run: fn(J)) -> WorkerPool<J> {
        WorkerPool {
            max_threads,
            run,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
            }),
            wake: Condvar::new(),
        }
    }

    // Nothing that holds the lock can panic but for allocation; the state stays consistent.
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a job, starting a thread when every running one is busy and there is room.
    /// Gives the job back when no thread runs and none could be started: no thread would ever
    /// take it, so the caller deals with it.
    pub fn submit(&'static self, job: J) -> Result<(), J> {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.queue.len() > state.idle && state.threads < self.max_threads {
            let started = std::thread::Builder::new()
                .name("concur-native".to_string())
                .spawn(move || self.work());
            match started {
                Ok(_) => state.threads += 1,
                Err(_) if state.threads == 0 => {
                    if let Some(job) = state.queue.pop_back() {
                        return Err(job);
                    }
                }
                // A running thread will take it in turn.
                Err(_) => {}
            }
        }
        drop(state);
        self.wake.notify_one();
        Ok(())
    }

    fn work(&'static self) {
        ON_WORKER.with(|on| on.set(true));
        loop {
            let mut state = self.lock();
            let job = loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                state.idle += 1;
                let (next, waited) = self
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
            (self.run)(job);
        }
    }
}
