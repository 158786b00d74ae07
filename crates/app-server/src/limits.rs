//! A budget of bytes buffered across every in-flight request body: a flood of large or slow bodies
//! cannot pin more memory than `MAX_BUFFERED_BODY_BYTES`; past it, new bodies are refused with `503`.
//! What is counted is the memory a body's buffer takes (its capacity), not only the bytes in it, and
//! a buffer never grows past the length the request declared: the budget bounds the process's RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The shared budget.
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicUsize,
    max: usize,
}

impl BodyBudget {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Bytes buffered now, across all bodies.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An empty reservation that grows as a body is read and is given back when dropped.
    pub fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }
}

/// The bytes one body holds of the budget.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    held: usize,
}

impl Reservation {
    /// Takes `bytes` more of the budget; `false` (and nothing taken) when it would pass the maximum.
    pub fn grow(&mut self, bytes: usize) -> bool {
        let taken = self
            .budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes)
                    .filter(|total| *total <= self.budget.max)
            });
        if taken.is_ok() {
            self.held += bytes;
        }
        taken.is_ok()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// A body being read into memory, holding budget for the memory it takes.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    reservation: Reservation,
    /// The most it will hold: the declared `Content-Length`, else the body limit.
    expected: usize,
}

impl BodyBuffer {
    /// An empty buffer for a body of at most `expected` bytes.
    pub fn new(budget: &Arc<BodyBudget>, expected: usize) -> Self {
        Self {
            bytes: Vec::new(),
            reservation: budget.reservation(),
            expected,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends `chunk`; `false` (and nothing appended) when the buffer would have to grow past the
    /// budget. It grows by doubling, but never past `expected`, so a body of the declared length
    /// ends in a buffer of exactly its size.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let needed = self.bytes.len() + chunk.len();
        let capacity = self.bytes.capacity();
        if needed > capacity {
            // Doubling keeps appends cheap; when the budget cannot spare that, exactly what is needed.
            let doubled = needed.max(capacity * 2).min(self.expected.max(needed));
            let target = if self.reservation.grow(doubled - capacity) {
                doubled
            } else if self.reservation.grow(needed - capacity) {
                needed
            } else {
                return false;
            };
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        self.bytes.extend_from_slice(chunk);
        true
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, to move to another thread; the budget is given back when `self` is dropped,
    /// so the caller keeps the returned buffer's lifetime within its own.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        assert!(a.grow(60));
        assert!(!b.grow(50), "past the maximum");
        assert!(b.grow(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(b.grow(60));
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_body_buffer_counts_its_capacity_and_stops_at_the_declared_length() {
        let budget = BodyBudget::new(1_000);
        let mut body = BodyBuffer::new(&budget, 300);
        assert!(body.push(&[1; 100]));
        assert_eq!(budget.used(), 100);
        assert!(body.push(&[2; 50]), "doubles to 200");
        assert_eq!(budget.used(), 200);
        assert!(body.push(&[3; 100]), "capped at the declared 300, not 400");
        assert_eq!(budget.used(), 300);
        assert!(body.push(&[4; 50]));
        assert_eq!((body.len(), budget.used()), (300, 300));
        assert_eq!(body.as_slice()[299], 4);

        let mut other = BodyBuffer::new(&budget, 2_000);
        assert!(other.push(&[0; 600]));
        assert!(other.push(&[0; 50]), "not doubled to 1,200: exactly 650");
        assert_eq!((other.len(), budget.used()), (650, 950));
        assert!(!other.push(&[0; 100]), "750 would pass the budget");
        assert_eq!((other.len(), budget.used()), (650, 950));
        drop((body, other));
        assert_eq!(budget.used(), 0);
    }
}
