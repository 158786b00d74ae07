//! sea-orm entities, one per table; the schema itself is in the `migrations` crate.

pub mod deliveries;
pub mod event_runs;
pub mod events;
pub mod installations;
pub mod linear_issues;
pub mod memories;
pub mod oauth_states;
pub mod sessions;
pub mod users;
