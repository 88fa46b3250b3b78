//! Outgoing email and SMS: typed messages rendered from Indonesian templates
//! (`templates`), written to a transactional outbox (`outbox`) and delivered by
//! the `deliver_notifications` job through the gateway adapter.

pub mod channel;
pub mod outbox;
pub mod quota;
pub mod templates;

pub use channel::Channel;
pub use outbox::enqueue;
pub use templates::Message;
