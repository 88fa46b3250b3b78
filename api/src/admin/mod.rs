//! Programme office (admin role): account look-up, blocking, the fraud flag and
//! the audit trail. Every change here writes an audit event with the admin as actor.

pub mod routes;
pub mod service;
