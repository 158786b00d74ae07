//! `event_runs`: one row per attempt at an event's work.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub attempt: i32,
    pub worker: String,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    /// `completed`, `skipped`, `superseded`, `failed` or `retry`.
    pub outcome: String,
    pub error: Option<String>,
    /// JSON the handler returned.
    pub result: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
