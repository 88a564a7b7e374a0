//! A model's request queue: two bounded FIFO lanes, interactive before batch.
//!
//! The worker thread takes the oldest interactive job when there is one, else the oldest
//! batch-job record, so a batch job never delays an interactive caller by more than the one
//! record already running (the engine runs one generation at a time). Each lane is bounded
//! on its own: a full interactive lane refuses at once (Bedrock's ThrottlingException), and a
//! batch job filling its lane cannot make interactive callers throttle.
//!
//! Embeddings run on the caller's thread rather than a worker; [`Gate`] gives them the same
//! rules: one call at a time per model, interactive callers before waiting batch records, a
//! bounded waiting room per class (full → `Overloaded`).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bedrock_local_core::Priority;

/// Why a job was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// The job's lane holds `capacity` jobs already.
    Full(T),
    /// The queue was closed (the engine is going away).
    Closed(T),
}

/// What [`JobQueue::pop_timeout`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Popped<T> {
    /// The next job.
    Job(T),
    /// Nothing that may be taken arrived in time.
    Timeout,
    /// The queue was closed.
    Closed,
}

struct Lanes<T> {
    interactive: VecDeque<T>,
    batch: VecDeque<T>,
    closed: bool,
}

/// Shared by the engine (pushing) and one worker thread (popping).
pub struct JobQueue<T> {
    lanes: Mutex<Lanes<T>>,
    ready: Condvar,
    capacity: usize,
}

impl<T> JobQueue<T> {
    /// An empty queue holding at most `capacity` jobs per lane (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            lanes: Mutex::new(Lanes {
                interactive: VecDeque::new(),
                batch: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lanes<T>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a job in its lane, without waiting.
    pub fn push(&self, priority: Priority, job: T) -> Result<(), PushError<T>> {
        let mut lanes = self.lock();
        if lanes.closed {
            return Err(PushError::Closed(job));
        }
        let lane = match priority {
            Priority::Interactive => &mut lanes.interactive,
            Priority::Batch => &mut lanes.batch,
        };
        if lane.len() >= self.capacity {
            return Err(PushError::Full(job));
        }
        lane.push_back(job);
        drop(lanes);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job (interactive first), waiting for one; `None` once the queue is closed.
    /// Jobs still queued when it closes are dropped, which closes their event channels.
    #[cfg(test)]
    pub fn pop(&self) -> Option<T> {
        let mut lanes = self.lock();
        loop {
            if lanes.closed {
                return None;
            }
            if let Some(job) = lanes.interactive.pop_front() {
                return Some(job);
            }
            if let Some(job) = lanes.batch.pop_front() {
                return Some(job);
            }
            lanes = self
                .ready
                .wait(lanes)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Like [`JobQueue::pop`], but waits at most `timeout`, and takes a batch-job record only
    /// when `allow_batch` (the worker keeps a sequence slot free for interactive callers).
    pub fn pop_timeout(&self, allow_batch: bool, timeout: Duration) -> Popped<T> {
        let deadline = Instant::now() + timeout;
        let mut lanes = self.lock();
        loop {
            if lanes.closed {
                return Popped::Closed;
            }
            if let Some(job) = lanes.interactive.pop_front() {
                return Popped::Job(job);
            }
            if allow_batch {
                if let Some(job) = lanes.batch.pop_front() {
                    return Popped::Job(job);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Popped::Timeout;
            }
            lanes = self
                .ready
                .wait_timeout(lanes, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Stops the worker: the next `pop` returns `None` and pushes are refused.
    pub fn close(&self) {
        let mut lanes = self.lock();
        lanes.closed = true;
        lanes.interactive.clear();
        lanes.batch.clear();
        drop(lanes);
        self.ready.notify_all();
    }

    /// Jobs waiting, interactive and batch.
    pub fn len(&self) -> (usize, usize) {
        let lanes = self.lock();
        (lanes.interactive.len(), lanes.batch.len())
    }
}

/// Turns for work that runs on the caller's own thread (embeddings): one at a time,
/// interactive callers before batch-job records, at most `capacity` waiting per class.
pub struct Gate {
    state: Mutex<GateState>,
    turn_over: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct GateState {
    busy: bool,
    waiting_interactive: usize,
    waiting_batch: usize,
}

/// Holding one is having the turn; dropping it ends the turn.
pub struct Turn<'a> {
    gate: &'a Gate,
}

/// The class's waiting room is full.
#[derive(Debug, PartialEq, Eq)]
pub struct GateFull;

impl Gate {
    /// A free gate letting `capacity` callers (at least one) of each class wait.
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(GateState::default()),
            turn_over: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this caller's turn: while another turn runs, and for a batch caller also
    /// while any interactive caller waits.
    pub fn enter(&self, priority: Priority) -> Result<Turn<'_>, GateFull> {
        let mut state = self.lock();
        let waiting = match priority {
            Priority::Interactive => &mut state.waiting_interactive,
            Priority::Batch => &mut state.waiting_batch,
        };
        if *waiting >= self.capacity {
            return Err(GateFull);
        }
        *waiting += 1;
        loop {
            let yield_to_interactive = priority == Priority::Batch && state.waiting_interactive > 0;
            if !state.busy && !yield_to_interactive {
                break;
            }
            state = self
                .turn_over
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match priority {
            Priority::Interactive => state.waiting_interactive -= 1,
            Priority::Batch => state.waiting_batch -= 1,
        }
        state.busy = true;
        Ok(Turn { gate: self })
    }

    /// Callers waiting, interactive and batch.
    #[cfg(test)]
    pub fn waiting(&self) -> (usize, usize) {
        let state = self.lock();
        (state.waiting_interactive, state.waiting_batch)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.gate.lock().busy = false;
        self.gate.turn_over.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn interactive_jobs_overtake_queued_batch_records() {
        let queue = JobQueue::new(8);
        queue.push(Priority::Batch, "record 1").unwrap();
        queue.push(Priority::Batch, "record 2").unwrap();
        queue.push(Priority::Interactive, "call 1").unwrap();
        queue.push(Priority::Batch, "record 3").unwrap();
        queue.push(Priority::Interactive, "call 2").unwrap();
        let order: Vec<_> = (0..5).filter_map(|_| queue.pop()).collect();
        assert_eq!(
            order,
            ["call 1", "call 2", "record 1", "record 2", "record 3"]
        );
        assert_eq!(queue.len(), (0, 0));
    }

    #[test]
    fn pop_timeout_can_leave_batch_records_queued() {
        let q = JobQueue::new(4);
        q.push(Priority::Batch, "record").unwrap();
        let short = Duration::from_millis(20);
        assert_eq!(q.pop_timeout(false, short), Popped::Timeout);
        q.push(Priority::Interactive, "call").unwrap();
        assert_eq!(q.pop_timeout(false, short), Popped::Job("call"));
        assert_eq!(q.pop_timeout(true, short), Popped::Job("record"));
        q.close();
        assert_eq!(q.pop_timeout(true, short), Popped::Closed);
    }

    #[test]
    fn each_lane_is_bounded_on_its_own() {
        let queue = JobQueue::new(2);
        queue.push(Priority::Batch, 1).unwrap();
        queue.push(Priority::Batch, 2).unwrap();
        assert_eq!(queue.push(Priority::Batch, 3), Err(PushError::Full(3)));
        // A batch job filling its lane does not throttle interactive callers.
        queue.push(Priority::Interactive, 4).unwrap();
        queue.push(Priority::Interactive, 5).unwrap();
        assert_eq!(
            queue.push(Priority::Interactive, 6),
            Err(PushError::Full(6))
        );
        assert_eq!(queue.len(), (2, 2));
    }

    #[test]
    fn pop_waits_for_a_push_and_close_ends_the_worker() {
        let queue = Arc::new(JobQueue::new(4));
        let worker = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while let Some(job) = queue.pop() {
                    seen.push(job);
                }
                seen
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        queue.push(Priority::Interactive, 1).unwrap();
        // Wait until the worker took it, then close.
        while queue.len() != (0, 0) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        queue.close();
        assert_eq!(worker.join().unwrap(), [1]);
        assert_eq!(queue.push(Priority::Batch, 2), Err(PushError::Closed(2)));
    }

    fn wait_until(gate: &Gate, waiting: (usize, usize)) {
        while gate.waiting() != waiting {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn the_gate_serves_interactive_callers_before_waiting_batch_records() {
        let gate = Arc::new(Gate::new(4));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.enter(Priority::Batch).unwrap();
        let spawn = |priority: Priority, name: &'static str| {
            let (gate, order) = (gate.clone(), order.clone());
            std::thread::spawn(move || {
                let _turn = gate.enter(priority).unwrap();
                order.lock().unwrap().push(name);
            })
        };
        let record = spawn(Priority::Batch, "record");
        wait_until(&gate, (0, 1));
        let call = spawn(Priority::Interactive, "call");
        wait_until(&gate, (1, 1));
        drop(first);
        call.join().unwrap();
        record.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["call", "record"]);
    }

    #[test]
    fn a_full_waiting_room_refuses_at_once() {
        let gate = Arc::new(Gate::new(1));
        let turn = gate.enter(Priority::Interactive).unwrap();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter(Priority::Interactive).map(drop))
        };
        wait_until(&gate, (1, 0));
        assert_eq!(gate.enter(Priority::Interactive).err(), Some(GateFull));
        // The batch class has its own room.
        let batch = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter(Priority::Batch).map(drop))
        };
        wait_until(&gate, (1, 1));
        drop(turn);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(batch.join().unwrap(), Ok(()));
    }
}
