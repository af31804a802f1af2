//! The work queue. A job (one workload, or one RolloutPolicy's status) is
//! queued at most once, at its earliest due time: a burst of changes to one
//! workload's pods is one evaluation. A job scheduled while it runs runs
//! again once it finishes, never twice at once.

use crate::objects::ObjectKey;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// Evaluate one workload and act on the decision.
    Workload(ObjectKey),
    /// Load a RolloutPolicy's module and write its status.
    Policy { namespace: String, name: String },
}

#[derive(Default)]
struct State {
    /// Due time (and a sequence number, for order among equal times) → job.
    by_time: BTreeMap<(Instant, u64), Job>,
    due: HashMap<Job, (Instant, u64)>,
    running: HashMap<Job, Option<Instant>>,
    sequence: u64,
    /// Failures in a row, by job.
    failures: HashMap<Job, u32>,
}

#[derive(Default)]
pub struct Queue {
    state: Mutex<State>,
    changed: Notify,
}

impl Queue {
    /// Runs `job` after `delay`, or sooner if it is already due sooner.
    pub fn schedule(&self, job: Job, delay: Duration) {
        let now = Instant::now();
        let at = now.checked_add(delay).unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut state = self.state.lock().expect("queue lock");
        if let Some(rerun) = state.running.get_mut(&job) {
            *rerun = Some(rerun.map_or(at, |r| r.min(at)));
            return;
        }
        if let Some(&(existing, sequence)) = state.due.get(&job) {
            if existing <= at {
                return;
            }
            state.by_time.remove(&(existing, sequence));
        }
        state.sequence += 1;
        let sequence = state.sequence;
        state.by_time.insert((at, sequence), job.clone());
        state.due.insert(job, (at, sequence));
        drop(state);
        self.changed.notify_one();
    }

    /// Waits for the next due job and marks it running.
    pub async fn next(&self) -> Job {
        loop {
            let notified = self.changed.notified();
            let wait = {
                let mut state = self.state.lock().expect("queue lock");
                match state.by_time.first_key_value().map(|(k, _)| *k) {
                    Some((at, sequence)) if at <= Instant::now() => {
                        let job = state.by_time.remove(&(at, sequence)).expect("just seen");
                        state.due.remove(&job);
                        state.running.insert(job.clone(), None);
                        return job;
                    }
                    Some((at, _)) => Some(at),
                    None => None,
                }
            };
            match wait {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// `job` finished; it runs again if it was scheduled meanwhile.
    /// Counts a failure of `job`; returns how many in a row it has had.
    pub fn failed(&self, job: &Job) -> u32 {
        let mut state = self.state.lock().expect("queue lock");
        let failures = state.failures.entry(job.clone()).or_default();
        *failures = failures.saturating_add(1);
        *failures
    }

    /// `job` ran without an error: its next failure is a first one again.
    pub fn succeeded(&self, job: &Job) {
        self.state.lock().expect("queue lock").failures.remove(job);
    }

    pub fn done(&self, job: &Job) {
        let rerun = self.state.lock().expect("queue lock").running.remove(job).flatten();
        if let Some(at) = rerun {
            self.schedule(job.clone(), at.saturating_duration_since(Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str) -> Job {
        Job::Policy { namespace: "shop".into(), name: name.into() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_is_queued_once_at_its_earliest_time_and_reruns_after_it_finishes() {
        let queue = Queue::default();
        queue.schedule(job("a"), Duration::from_secs(30));
        queue.schedule(job("b"), Duration::from_secs(10));
        queue.schedule(job("a"), Duration::from_secs(5));
        queue.schedule(job("a"), Duration::from_secs(60));
        assert_eq!(queue.state.lock().unwrap().due.len(), 2, "queued once each");
        assert_eq!(queue.next().await, job("a"));
        // Scheduled while running: not handed out twice at once.
        queue.schedule(job("a"), Duration::ZERO);
        assert_eq!(queue.next().await, job("b"));
        queue.done(&job("a"));
        assert_eq!(queue.next().await, job("a"));
    }
}
