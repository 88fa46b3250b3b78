//! Who is asking: the client address (for per-IP limits) and the request's
//! origin for audit rows. Every domain takes this instead of the request.

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::{ClientIp, RequestId};
use crate::audit::Origin;

/// Who is asking, for limits and audit rows.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ip: IpAddr,
    pub origin: Origin,
}

impl Caller {
    /// A caller without a request (the CLI, a job, a benchmark).
    pub fn internal() -> Caller {
        Caller {
            ip: IpAddr::from([127, 0, 0, 1]),
            origin: Origin::default(),
        }
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let ip = ClientIp::from_request(req, payload);
        let rid = RequestId::from_request(req, payload);
        Box::pin(async move {
            let ClientIp(ip) = ip.await?;
            let RequestId(request_id) = rid.await?;
            Ok(Caller {
                ip,
                origin: Origin {
                    ip: Some(ip.to_string()),
                    request_id: Some(request_id),
                },
            })
        })
    }
}
