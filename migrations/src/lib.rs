//! nectr's schema, as sea-orm migrations. Run at start-up and by `app-server migrate`; the same migrations
//! serve SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_init;
mod m20261122_000002_queue;
mod m20261122_000003_accounts;
mod m20261206_000004_retention;
mod m20261206_000005_graph;
mod m20261206_000006_job_kinds;
mod m20261206_000007_memory;
mod m20261206_000008_controls;
mod m20261206_000009_claim_order;
mod m20261206_000010_payload_lz4;
mod m20261206_000011_payload_packed;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_init::Migration),
            Box::new(m20261122_000002_queue::Migration),
            Box::new(m20261122_000003_accounts::Migration),
            Box::new(m20261206_000004_retention::Migration),
            Box::new(m20261206_000005_graph::Migration),
            Box::new(m20261206_000006_job_kinds::Migration),
            Box::new(m20261206_000007_memory::Migration),
            Box::new(m20261206_000008_controls::Migration),
            Box::new(m20261206_000009_claim_order::Migration),
            Box::new(m20261206_000010_payload_lz4::Migration),
            Box::new(m20261206_000011_payload_packed::Migration),
        ]
    }
}
