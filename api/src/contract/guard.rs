//! The contract guard: every answer of the running server checked against the
//! statuses and problem codes its operation declares.

use std::{collections::HashMap, sync::Mutex};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use serde_json::Value;

use super::METHODS;
use crate::error::ErrorCode;

/// The statuses one operation declares, each with its problem codes (None for a
/// response without a problem body).
type Statuses = HashMap<u16, Option<Vec<String>>>;

/// Statuses and codes each operation declares, read from the finished document.
pub struct Declared(HashMap<(String, String), Statuses>);

impl Declared {
    /// Reads the responses of every operation of `doc`.
    pub fn from_openapi(doc: &Value) -> Self {
        let mut map = HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(responses) = item.pointer(&format!("/{method}/responses")) else {
                    continue;
                };
                let statuses = responses
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(status, response)| {
                        let codes = response
                            .pointer("/content/application~1problem+json/schema/allOf/1/properties/code/enum")
                            .and_then(Value::as_array)
                            .map(|codes| {
                                codes
                                    .iter()
                                    .filter_map(|c| c.as_str().map(str::to_owned))
                                    .collect()
                            });
                        Some((status.parse().ok()?, codes))
                    })
                    .collect();
                map.insert((method.to_uppercase(), path.clone()), statuses);
            }
        }
        Declared(map)
    }

    /// Why an answer breaks the contract of `method path_pattern`, if it does.
    pub fn violation(
        &self,
        method: &str,
        pattern: &str,
        status: u16,
        code: Option<ErrorCode>,
    ) -> Option<String> {
        let statuses = self.0.get(&(method.to_owned(), pattern.to_owned()))?;
        match (statuses.get(&status), code) {
            (None, _) => Some(format!(
                "{method} {pattern} answered {status}, which it does not declare"
            )),
            (Some(Some(codes)), Some(code)) if !codes.iter().any(|c| c == code.as_str()) => Some(
                format!("{method} {pattern} answered {status} `{code}`, which it does not declare"),
            ),
            _ => None,
        }
    }
}

static VIOLATIONS: Mutex<Vec<(u16, String)>> = Mutex::new(Vec::new());

/// Violations recorded (debug builds) by the server listening on `port`, removed
/// from the record. The API tests assert there are none.
pub fn take_violations(port: u16) -> Vec<String> {
    let mut all = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
    let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(p, _)| *p == port);
    *all = rest;
    mine.into_iter().map(|(_, v)| v).collect()
}

/// The middleware (installed with `actix_web::middleware::from_fn`): checks each
/// answer of a routed request against the document.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let request = res.request();
    if let (Some(pattern), Some(declared)) = (
        request.match_pattern(),
        request.app_data::<actix_web::web::Data<Declared>>(),
    ) {
        let code = res.response().extensions().get::<ErrorCode>().copied();
        let status = res.status().as_u16();
        if let Some(violation) =
            declared.violation(request.method().as_str(), &pattern, status, code)
        {
            tracing::error!(%violation, "answer outside the OpenAPI contract");
            if cfg!(debug_assertions) {
                let port = request.app_config().local_addr().port();
                VIOLATIONS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((port, violation));
            }
        }
    }
    Ok(res)
}
