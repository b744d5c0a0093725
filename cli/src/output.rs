//! What the tool prints on success: the token alone, or the whole answer as JSON.

use std::time::{SystemTime, UNIX_EPOCH};

use concur_native::manager::ManagerStatus;
use concur_native::{OAuth2Token, Token};

/// Prints a legacy (Native Flow) token: the token alone, or with `json` the whole answer.
pub(crate) fn print_token(token: &Token, json: bool) {
    if json {
        let document = serde_json::json!({
            "token": token.token(),
            "refresh_token": token.refresh_token(),
            "expiration_date": token.expiration_date(),
            "expires_at": token.expires_at(),
            "instance_url": token.instance_url(),
        });
        println!("{document}");
    } else {
        println!("{}", token.token());
    }
}

/// Prints an oauth2/v0 token: the access token alone, or with `json` the whole answer.
pub(crate) fn print_oauth2_token(token: &OAuth2Token, json: bool) {
    if json {
        let document = serde_json::json!({
            "access_token": token.access_token(),
            "token_type": token.token_type(),
            "expires_at": token.expires_at(),
            "refresh_token": token.refresh_token(),
            "refresh_expires_at": token.refresh_expires_at(),
            "scope": token.scope(),
            "geolocation": token.geolocation(),
            "id_token": token.id_token(),
            "subject": token.subject(),
            "principal_type": token.principal_type(),
            "correlation_id": token.correlation_id(),
        });
        println!("{document}");
    } else {
        println!("{}", token.access_token());
    }
}

/// Prints a token keeper's status as one JSON line: times in Unix seconds, the last error by
/// kind, Concur code, HTTP status, correlation id and message. Holds no secret.
pub(crate) fn print_status(status: &ManagerStatus) {
    let unix = |at: SystemTime| at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let last_error = status.last_error.as_ref().map(|e| {
        serde_json::json!({
            "kind": e.kind().code(),
            "concur_code": e.concur_code(),
            "status": e.status(),
            "correlation_id": e.correlation_id(),
            "message": e.to_string(),
        })
    });
    let document = serde_json::json!({
        "state": status.state.as_str(),
        "expires_at": status.expires_at,
        "refresh_expires_at": status.refresh_expires_at,
        "last_refresh": status.last_refresh.map(unix),
        "failures": status.failures,
        "next_attempt": status.next_attempt.map(unix),
        "refresh_count": status.refresh_count,
        "refreshing": status.refreshing,
        "last_error": last_error,
    });
    println!("{document}");
}
