//! A protected API to call with a token: a small part of Identity v4.1 (`GET
//! /profile/identity/v4.1/Users` and `/Users/{id}`, SCIM shapes), answering 200 for a live
//! access token and 401 for a missing, unknown, expired or revoked one.
//!
//! Shapes follow Concur's "Identity v4.1" reference (SAP-docs/preview.developer.concur.com,
//! `src/api-reference/profile/v4.1.identity.md`): a `ListResponse` with `totalResults`,
//! `itemsPerPage` and `Resources`, each a SCIM `User` with `id`, `userName`, `active`,
//! `emails` and `meta.location`.

use std::io::{self, Write};

use crate::http::{After, Request, write_response};
use crate::json;
use crate::oauth2::{bearer_of, subject_of};
use crate::{COMPANY_ID, Listener, Shared, User};

const PREFIX: &str = "profile/identity/v4.1/Users";

/// Whether `endpoint` (no leading `/`, no scenario) is one of this API's paths.
pub(crate) fn serves(endpoint: &str) -> bool {
    endpoint == PREFIX || endpoint.starts_with("profile/identity/v4.1/Users/")
}

pub(crate) fn answer(
    request: &Request,
    endpoint: &str,
    listener: Listener,
    out: &mut dyn Write,
    shared: &Shared,
) -> io::Result<After> {
    let json_type = ("Content-Type", "application/json".to_string());
    if request.method != "GET" {
        let body = scim_error(405, "method not allowed");
        return write_response(out, 405, &[json_type], body.as_bytes()).map(|_| After::KeepAlive);
    }
    let bearer = bearer_of(shared, request);
    let Some(bearer) = bearer.filter(|b| b.live) else {
        let challenge = (
            "WWW-Authenticate",
            "Bearer error=\"invalid_token\"".to_string(),
        );
        let body = json::object(&[
            ("error", json::string("invalid_token")),
            (
                "error_description",
                json::string("the access token is missing, unknown, expired or revoked"),
            ),
        ]);
        return write_response(out, 401, &[json_type, challenge], body.as_bytes())
            .map(|_| After::KeepAlive);
    };
    let base = shared.base_of(listener).to_string();
    let state = shared.state();
    // A company token sees every user; a user's token sees that user; an application's none.
    let visible: Vec<User> = state
        .users
        .iter()
        .filter(|u| match bearer.kind {
            "company" => true,
            "user" => u.login.eq_ignore_ascii_case(&bearer.principal),
            _ => false,
        })
        .cloned()
        .collect();
    let company = match bearer.kind {
        "company" => bearer.principal.clone(),
        _ => COMPANY_ID.to_string(),
    };
    drop(state);
    let (status, body) = match endpoint.strip_prefix("profile/identity/v4.1/Users/") {
        None => {
            let resources: Vec<String> = visible
                .iter()
                .map(|u| resource(u, &base, &company))
                .collect();
            let body = json::object(&[
                (
                    "schemas",
                    "[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"]".to_string(),
                ),
                ("totalResults", resources.len().to_string()),
                ("itemsPerPage", resources.len().to_string()),
                ("Resources", format!("[{}]", resources.join(","))),
            ]);
            (200, body)
        }
        Some(id) => match visible.iter().find(|u| subject_of(&u.login) == id) {
            Some(user) => (200, resource(user, &base, &company)),
            None => (404, scim_error(404, "user not found")),
        },
    };
    write_response(out, status, &[json_type], body.as_bytes()).map(|_| After::KeepAlive)
}

fn resource(user: &User, base: &str, company: &str) -> String {
    let id = subject_of(&user.login);
    let email = json::object(&[
        ("verified", "false".to_string()),
        ("type", json::string("work")),
        ("value", json::string(&user.login)),
        ("notifications", "true".to_string()),
    ]);
    let meta = json::object(&[
        ("resourceType", json::string("User")),
        (
            "location",
            json::string(&format!("{base}/profile/identity/v4.1/Users/{id}")),
        ),
    ]);
    let enterprise = json::object(&[("companyId", json::string(company))]);
    json::object(&[
        (
            "schemas",
            "[\"urn:ietf:params:scim:schemas:core:2.0:User\",\
             \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"]"
                .to_string(),
        ),
        ("id", json::string(&id)),
        ("userName", json::string(&user.login)),
        ("displayName", json::string(&user.login)),
        ("active", (!user.disabled).to_string()),
        ("emails", format!("[{email}]")),
        ("meta", meta),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            enterprise,
        ),
    ])
}

fn scim_error(status: u16, detail: &str) -> String {
    json::object(&[
        (
            "schemas",
            "[\"urn:ietf:params:scim:api:messages:2.0:Error\"]".to_string(),
        ),
        ("status", json::string(&status.to_string())),
        ("detail", json::string(detail)),
    ])
}
