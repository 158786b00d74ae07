//! GitHub adapter. It will implement the domain's code-host port with octocrab (pull requests, diffs,
//! reviews, webhook install/uninstall, OAuth code exchange). Nothing is implemented yet: the webhook
//! receiver needs no call to GitHub, and no part of nectr depends on this crate so far.
