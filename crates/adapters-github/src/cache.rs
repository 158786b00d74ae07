//! The PR-state cache: at most N pull requests (least recently used evicted), fresh for 60 s while open
//! and 300 s once closed or merged; concurrent misses for one pull request fetch it once.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::codehost::CodeHostResult;
use domain::review::codehost::{PullRequest, PullRequestState};
use lru::LruCache;
use tokio::time::Instant;

pub const OPEN_TTL: Duration = Duration::from_secs(60);
pub const CLOSED_TTL: Duration = Duration::from_secs(300);

/// (repository key, PR number)
pub type PrKey = (String, u64);

type Slot = Arc<tokio::sync::Mutex<Option<(PullRequest, Instant)>>>;

#[derive(Clone)]
pub struct PrCache {
    slots: Arc<Mutex<LruCache<PrKey, Slot>>>,
}

impl std::fmt::Debug for PrCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrCache").finish_non_exhaustive()
    }
}

fn ttl(pr: &PullRequest) -> Duration {
    match pr.state {
        PullRequestState::Open => OPEN_TTL,
        PullRequestState::Closed | PullRequestState::Merged => CLOSED_TTL,
    }
}

impl PrCache {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            slots: Arc::new(Mutex::new(LruCache::new(capacity))),
        }
    }

    /// How many pull requests are held.
    pub fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the pull request, so the next read fetches it.
    pub fn forget(&self, key: &PrKey) {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.pop(key);
    }

    /// The cached pull request if fresh, else `fetch`'s answer (cached on success). Callers that miss
    /// at the same time wait for the first one's fetch instead of fetching again.
    pub async fn get_or_fetch<F, Fut>(&self, key: PrKey, fetch: F) -> CodeHostResult<PullRequest>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = CodeHostResult<PullRequest>>,
    {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.get_or_insert(key, Slot::default).clone()
        };
        let mut entry = slot.lock().await;
        if let Some((pr, expires)) = entry.as_ref()
            && Instant::now() < *expires
        {
            return Ok(pr.clone());
        }
        let pr = fetch().await?;
        *entry = Some((pr.clone(), Instant::now() + ttl(&pr)));
        Ok(pr)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_forgotten_pull_request_is_fetched_again() {
        let cache = PrCache::new(10);
        let calls = AtomicUsize::new(0);
        get(&cache, 1, PullRequestState::Open, &calls).await;
        get(&cache, 1, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.forget(&("o/r".into(), 1));
        get(&cache, 1, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    use std::sync::atomic::{AtomicUsize, Ordering};

    use domain::webhook::values::HeadSha;

    use super::*;

    fn pr(number: u64, state: PullRequestState) -> PullRequest {
        PullRequest {
            number,
            title: "t".into(),
            body: None,
            state,
            draft: false,
            author: "a".into(),
            head_sha: HeadSha::parse(&"a".repeat(40)).unwrap(),
            head_ref: "h".into(),
            base_sha: "b".into(),
            base_ref: "main".into(),
            html_url: String::new(),
            updated_at: None,
            changed_files: 0,
            additions: 0,
            deletions: 0,
            labels: Vec::new(),
        }
    }

    async fn get(
        cache: &PrCache,
        n: u64,
        state: PullRequestState,
        calls: &AtomicUsize,
    ) -> PullRequest {
        cache
            .get_or_fetch(("o/r".into(), n), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(pr(n, state))
            })
            .await
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn open_prs_are_fresh_for_60_seconds_closed_ones_for_300() {
        let cache = PrCache::new(10);
        let calls = AtomicUsize::new(0);
        get(&cache, 1, PullRequestState::Open, &calls).await;
        get(&cache, 2, PullRequestState::Merged, &calls).await;
        tokio::time::advance(Duration::from_secs(59)).await;
        get(&cache, 1, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(2)).await;
        get(&cache, 1, PullRequestState::Open, &calls).await;
        get(&cache, 2, PullRequestState::Merged, &calls).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "the open PR expired, the merged one did not"
        );
        tokio::time::advance(Duration::from_secs(240)).await;
        get(&cache, 2, PullRequestState::Merged, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn the_least_recently_used_pr_is_evicted_past_capacity() {
        let cache = PrCache::new(2);
        let calls = AtomicUsize::new(0);
        get(&cache, 1, PullRequestState::Open, &calls).await;
        get(&cache, 2, PullRequestState::Open, &calls).await;
        get(&cache, 1, PullRequestState::Open, &calls).await; // 1 is now the most recent
        get(&cache, 3, PullRequestState::Open, &calls).await; // evicts 2
        assert_eq!(cache.len(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        get(&cache, 1, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        get(&cache, 2, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_fetch_once() {
        let cache = PrCache::new(10);
        let calls = AtomicUsize::new(0);
        let all = futures_like_join(&cache, &calls).await;
        assert!(all.iter().all(|p| p.number == 7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    async fn futures_like_join(cache: &PrCache, calls: &AtomicUsize) -> Vec<PullRequest> {
        let (a, b, c) = tokio::join!(
            get(cache, 7, PullRequestState::Open, calls),
            get(cache, 7, PullRequestState::Open, calls),
            get(cache, 7, PullRequestState::Open, calls),
        );
        vec![a, b, c]
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_not_cached() {
        let cache = PrCache::new(10);
        let failed = cache
            .get_or_fetch(("o/r".into(), 1), || async {
                Err(domain::codehost::CodeHostError::Transient("boom".into()))
            })
            .await;
        assert!(failed.is_err());
        let calls = AtomicUsize::new(0);
        get(&cache, 1, PullRequestState::Open, &calls).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
