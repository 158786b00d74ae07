//! The delivery log: one row per request to the webhook endpoint.

use async_trait::async_trait;
use domain::webhook::delivery::DeliveryRecord;
use domain::webhook::ports::DeliveryLog;
use sea_orm::ActiveValue::Set;

use crate::Db;
use crate::batch::Write;
use crate::entities::deliveries;

/// The row of `record`, for an insert (batched with others: see [`crate::batch`]).
pub(crate) fn row(record: DeliveryRecord) -> deliveries::ActiveModel {
    let mut headers = serde_json::Map::with_capacity(record.headers.len());
    for (k, v) in record.headers {
        headers.insert(k, serde_json::Value::String(v));
    }
    deliveries::ActiveModel {
        delivery_id: Set(record.delivery_id),
        event: Set(record.event),
        action: Set(record.action),
        repository: Set(record.repository),
        outcome: Set(record.outcome.as_str().to_owned()),
        status_code: Set(i32::from(record.status_code)),
        cause: Set(record.cause),
        detail: Set(record.detail),
        event_id: Set(record.event_id),
        headers: Set(serde_json::Value::Object(headers).to_string()),
        body_size: Set(i64::try_from(record.body_size).unwrap_or(i64::MAX)),
        body_sha256: Set(record.body_sha256),
        received_at: Set(record.received_at),
        provider: Set(record.provider.as_str().to_owned()),
        ..Default::default()
    }
}

#[async_trait]
impl DeliveryLog for Db {
    /// Written through the group commit, beside the deliveries recorded with it.
    async fn append(&self, record: DeliveryRecord) -> domain::Result<i64> {
        Ok(self
            .batcher
            .submit(|reply| Write::Append {
                delivery: record,
                reply,
            })
            .await?)
    }
}
