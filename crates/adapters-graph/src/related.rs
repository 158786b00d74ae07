//! The one rule both stores share for related pull requests: rows of (pull request, shared path)
//! grouped per pull request, ordered by how many paths they share, then the most recent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::knowledge::RelatedPullRequest;

/// One asked path that one pull request touched.
#[derive(Debug, Clone)]
pub(crate) struct Touch {
    pub number: u64,
    pub title: String,
    pub author: String,
    pub at: DateTime<Utc>,
    pub path: String,
}

/// The pull requests of `touches`, grouped and ordered, at most `limit`.
pub(crate) fn group(touches: Vec<Touch>, limit: usize) -> Vec<RelatedPullRequest> {
    let mut by_number: BTreeMap<u64, RelatedPullRequest> = BTreeMap::new();
    for touch in touches {
        let entry = by_number
            .entry(touch.number)
            .or_insert_with(|| RelatedPullRequest {
                number: touch.number,
                title: touch.title,
                author: touch.author,
                at: touch.at,
                shared_paths: Vec::new(),
            });
        if !entry.shared_paths.contains(&touch.path) {
            entry.shared_paths.push(touch.path);
        }
    }
    let mut related: Vec<RelatedPullRequest> = by_number.into_values().collect();
    for r in &mut related {
        r.shared_paths.sort();
    }
    related.sort_by(|a, b| {
        b.shared_paths
            .len()
            .cmp(&a.shared_paths.len())
            .then(b.at.cmp(&a.at))
            .then(b.number.cmp(&a.number))
    });
    related.truncate(limit);
    related
}
