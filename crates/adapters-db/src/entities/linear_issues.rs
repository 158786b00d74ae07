//! `linear_issues`: Linear issues given to reviews as context, cached by identifier.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "linear_issues")]
pub struct Model {
    /// `ENG-123`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub identifier: String,
    /// Linear's UUID of the issue.
    pub linear_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    pub state: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub url: Option<String>,
    pub fetched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
