//! Outgoing email and SMS: typed messages rendered from Indonesian templates
//! (`templates`), written to a transactional outbox (`outbox`) and delivered by
//! the `deliver_notifications` job through the gateway adapter.

pub mod outbox;
pub mod templates;

pub use outbox::{enqueue, Channel};
pub use templates::Message;
