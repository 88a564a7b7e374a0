//! A model's request queue: two bounded FIFO lanes, interactive before batch.
//!
//! The worker thread takes the oldest interactive job when there is one, else the oldest
//! batch-job record, so a batch job never delays an interactive caller by more than the one
//! record already running (the engine runs one generation at a time). Each lane is bounded
//! on its own: a full interactive lane refuses at once (Bedrock's ThrottlingException), and a
//! batch job filling its lane cannot make interactive callers throttle.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use bedrock_local_core::Priority;

/// Why a job was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError<T> {
    /// The job's lane holds `capacity` jobs already.
    Full(T),
    /// The queue was closed (the engine is going away).
    Closed(T),
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
}
