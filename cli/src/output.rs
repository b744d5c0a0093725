//! What the tool prints on success: the token alone, or the whole answer as JSON.

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
