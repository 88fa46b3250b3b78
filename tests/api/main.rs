//! API tests: the real service, in-process on a random port, each test on its own
//! database. See `helpers.rs`.

mod helpers;

mod foundation;
