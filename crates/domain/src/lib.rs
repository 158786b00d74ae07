//! nectr's domain: the rules of receiving GitHub webhooks (signatures, event classification, dedup),
//! the ports adapters implement, and the ingest use case. No IO and no framework types live here.

pub mod agents;
pub mod budget;
pub mod classify;
pub mod codehost;
pub mod context;
pub mod crypto;
pub mod delivery;
pub mod diff;
pub mod error;
pub mod event;
pub mod ingest;
pub mod ports;
pub mod pr_check;
pub mod queue;
pub mod render;
pub mod review;
pub mod review_job;
pub mod signature;
pub mod values;

pub use error::{Error, Result};
