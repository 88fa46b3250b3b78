//! Registration and identity (DOMAIN.md §2): the steps of the participant's
//! journey and the eligibility rules.

pub mod identity;
pub mod model;
pub mod routes;
pub mod rules;
pub mod service;
pub mod views;

use crate::{
    clock::Clock,
    crypto::{BlindIndex, PiiCipher},
    integrations::{face::FaceAdapter, registry::RegistryAdapter},
};

/// The collaborators of the registration flows, borrowed from the app state by
/// the handlers. The flows take a connection (or the pool, where they wait on an
/// outside service between database steps) and this; never the app state.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub clock: &'a Clock,
    pub pii: &'a PiiCipher,
    pub blind: &'a BlindIndex,
    pub registry: &'a RegistryAdapter,
    pub face: &'a FaceAdapter,
}
