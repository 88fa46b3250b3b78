//! Sandbox mode: routes that let app developers drive the service (clock, jobs,
//! the notification inbox). Mounted only when APP_ENV=sandbox.

pub mod routes;
