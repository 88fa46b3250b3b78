//! HTTP plumbing shared by every domain: request ids and logs, bearer-token
//! resolution, the JSON body extractor, the client address and the caller, the
//! 404/405 fallback and extractor error mapping.

pub mod authenticate;
pub mod caller;
pub mod client_ip;
pub mod fallback;
pub mod gate;
pub mod image;
pub mod ip_limit;
pub mod json;
pub mod query;
pub mod request_context;
pub mod text;

pub use caller::Caller;
pub use client_ip::ClientIp;
pub use image::{sniff_image, ImageBody, ImageKind};
pub use json::JsonBody;
pub use request_context::RequestId;
