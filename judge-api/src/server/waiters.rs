//! Wake-ups for requests waiting on a submission (`wait: true`, or an
//! idempotent replay): a worker of this node, or a notice from another node,
//! wakes the waiters of that id; they then read the result from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Default)]
pub struct Waiters {
    by_id: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
}

/// One waiter's registration; leaving unregisters.
pub struct Registration<'a> {
    waiters: &'a Waiters,
    id: String,
    pub notify: Arc<Notify>,
}

impl Waiters {
    pub fn register(&self, id: &str) -> Registration<'_> {
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let entry = by_id.entry(id.to_string()).or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        Registration { waiters: self, id: id.to_string(), notify: entry.0.clone() }
    }

    /// Wakes everyone waiting on `id` (nobody, often).
    pub fn wake(&self, id: &str) {
        let by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((notify, _)) = by_id.get(id) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiter (notices may have been missed).
    pub fn wake_all(&self) {
        let by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        for (notify, _) in by_id.values() {
            notify.notify_waiters();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut by_id = self.waiters.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = by_id.get_mut(&self.id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                by_id.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wake_reaches_waiters_registered_before_it_and_leaving_cleans_up() {
        let waiters = Waiters::default();
        {
            let registration = waiters.register("a");
            let notified = registration.notify.notified();
            waiters.wake("b");
            waiters.wake("a");
            tokio::time::timeout(Duration::from_secs(1), notified).await.expect("woken");
            assert_eq!(waiters.len(), 1);
        }
        assert_eq!(waiters.len(), 0);
    }
}
