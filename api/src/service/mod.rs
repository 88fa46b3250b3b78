//! Service endpoints: liveness and readiness.

pub mod routes;
