//! The engine's compute threads: a persistent pool whose calling thread takes part.
//!
//! A decode step makes a few hundred short parallel calls (one per matrix product, plus
//! attention), so the per-call cost matters more than anything a general-purpose scheduler
//! offers. Workers stay alive; after a call they spin for a short while (`SPIN`) watching for
//! the next one, then park on a condition variable.
//!
//! Protocol: one `AtomicU64` holds `epoch << 32 | unclaimed`. The caller writes the job (the
//! closure pointer and `n`) while nothing is claimable, then publishes a new epoch with
//! `unclaimed = n`. Anyone (workers and the caller) claims task `n - unclaimed` by a CAS that
//! decrements `unclaimed` within the same epoch, so a worker that slept through a whole job can
//! never claim from a finished one. The caller returns once `pending` (tasks not yet finished)
//! is zero; a successful claim keeps `pending` above zero, so the job is alive whenever a
//! claimed task reads it. A late or descheduled worker never delays a call: the caller runs
//! the remaining tasks itself.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before parking.
const SPIN: Duration = Duration::from_micros(200);

type Task = dyn Fn(usize) + Sync;

fn noop(_: usize) {}

struct Job {
    f: *const Task,
    n: usize,
}

struct Shared {
    state: AtomicU64,
    job: UnsafeCell<Job>,
    pending: AtomicUsize,
    panicked: AtomicBool,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    shutdown: AtomicBool,
}

// SAFETY: `job` is written only by the thread holding `Pool::submit` while no task is
// claimable and read only after a successful claim (see the module docs); the closure it
// points to is `Sync`.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw pointer is only dereferenced under the claim protocol.
unsafe impl Send for Shared {}

thread_local! {
    /// Set while this thread runs a pool task: a nested `for_each` then runs inline.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

impl Shared {
    /// Claims and runs tasks until none is left; returns whether it ran any.
    fn drain(&self) -> bool {
        let mut ran = false;
        let mut s = self.state.load(Acquire);
        loop {
            let unclaimed = s & 0xFFFF_FFFF;
            if unclaimed == 0 {
                return ran;
            }
            match self.state.compare_exchange_weak(s, s - 1, AcqRel, Acquire) {
                Ok(_) => {
                    // SAFETY: our claim keeps `pending` > 0, so the caller is still inside
                    // `for_each` and `job` (with the closure it borrows) is alive and fixed.
                    let (f, n) = unsafe {
                        let job = &*self.job.get();
                        (&*job.f, job.n)
                    };
                    let i = n - unclaimed as usize;
                    let was = IN_TASK.with(|t| t.replace(true));
                    if catch_unwind(AssertUnwindSafe(|| f(i))).is_err() {
                        self.panicked.store(true, Relaxed);
                    }
                    IN_TASK.with(|t| t.set(was));
                    self.pending.fetch_sub(1, AcqRel);
                    ran = true;
                    s = self.state.load(Acquire);
                }
                Err(now) => s = now,
            }
        }
    }

    fn worker(&self) {
        loop {
            if self.drain() {
                continue;
            }
            let start = Instant::now();
            let mut spins = 0u32;
            let mut found = false;
            while !self.shutdown.load(Relaxed) {
                if self.state.load(Acquire) & 0xFFFF_FFFF != 0 {
                    found = true;
                    break;
                }
                std::hint::spin_loop();
                spins += 1;
                if spins.is_multiple_of(64) && start.elapsed() > SPIN {
                    break;
                }
            }
            if found {
                continue;
            }
            let Ok(mut guard) = self.lock.lock() else {
                return;
            };
            self.sleepers.fetch_add(1, SeqCst);
            while !self.shutdown.load(SeqCst) && self.state.load(SeqCst) & 0xFFFF_FFFF == 0 {
                guard = match self.wake.wait(guard) {
                    Ok(g) => g,
                    Err(_) => return,
                };
            }
            self.sleepers.fetch_sub(1, SeqCst);
            drop(guard);
            if self.shutdown.load(SeqCst) {
                return;
            }
        }
    }
}

/// The engine's compute threads (the calling thread takes part). Sized by the caller.
pub struct Pool {
    shared: Arc<Shared>,
    submit: Mutex<()>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool of `threads` threads in all: the caller plus `threads - 1` workers (at least 1).
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared {
            state: AtomicU64::new(0),
            job: UnsafeCell::new(Job {
                f: &noop as &Task as *const Task,
                n: 0,
            }),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let mut workers = Vec::new();
        for k in 1..threads.max(1) {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("bedrock-compute-{k}"))
                .spawn(move || s.worker())
            {
                Ok(h) => workers.push(h),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot spawn compute thread; continuing with fewer");
                    break;
                }
            }
        }
        Self {
            shared,
            submit: Mutex::new(()),
            workers,
        }
    }

    /// Number of threads that run tasks (workers + the caller).
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `f(i)` for `i` in `0..n` on the pool's threads (and the caller), returning when all
    /// are done. A panic in `f` is re-raised here after every task has finished. Called from
    /// inside a task, it runs inline on that thread.
    pub fn for_each(&self, n: usize, f: &(dyn Fn(usize) + Sync)) {
        if n == 0 {
            return;
        }
        if n == 1 || self.workers.is_empty() || IN_TASK.with(|t| t.get()) {
            (0..n).for_each(f);
            return;
        }
        const MAX: usize = 0x7FFF_FFFF;
        if n > MAX {
            let mut start = 0;
            while start < n {
                let len = (n - start).min(MAX);
                self.for_each(len, &|i| f(start + i));
                start += len;
            }
            return;
        }
        let _guard = self.submit.lock().unwrap_or_else(|p| p.into_inner());
        let sh = &*self.shared;
        // SAFETY: nothing is claimable (the previous call drained and waited), so no thread
        // reads `job` now; the lifetime is erased because we do not return before `pending`
        // is zero, i.e. before the last use of `f`.
        unsafe {
            let f: *const Task = std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static Task>(f);
            *sh.job.get() = Job { f, n };
        }
        sh.pending.store(n, Relaxed);
        let epoch = (sh.state.load(Relaxed) >> 32).wrapping_add(1) & 0xFFFF_FFFF;
        sh.state.store((epoch << 32) | n as u64, SeqCst);
        if sh.sleepers.load(SeqCst) > 0 {
            let _g = sh.lock.lock().unwrap_or_else(|p| p.into_inner());
            sh.wake.notify_all();
        }
        sh.drain();
        let mut spins = 0u32;
        while sh.pending.load(Acquire) != 0 {
            spins += 1;
            if spins < 1 << 14 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        if sh.panicked.swap(false, Relaxed) {
            resume_unwind(Box::new("a compute pool task panicked"));
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, SeqCst);
        {
            let _g = self.shared.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads())
            .finish()
    }
}
