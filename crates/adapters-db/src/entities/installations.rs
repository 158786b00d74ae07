//! `installations`: repositories connected to nectr, each with its webhook and secret.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "installations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub repo_full_name: String,
    /// `repo_full_name` in lower case: at most one active installation per key.
    pub repo_key: String,
    pub webhook_id: Option<i64>,
    /// Sealed (`enc:v1:…`, see `domain::accounts::crypto`).
    #[sea_orm(column_type = "Text")]
    pub webhook_secret: String,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The secret before the last rotation (sealed), accepted until `previous_secret_expires_at`.
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_webhook_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// The owner's default `.nectr.toml` (TOML text) for this repository.
    #[sea_orm(column_type = "Text", nullable)]
    pub review_defaults: Option<String>,
    /// The delivery filters in force (JSON), none when unset.
    #[sea_orm(column_type = "Text", nullable)]
    pub delivery_filters: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
