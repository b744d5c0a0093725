//! The token Concur hands out, and the care its secrets need.

use std::fmt;

use zeroize::Zeroize;

/// An access token with what came with it.
///
/// The access and refresh tokens are secrets: `Debug` masks them, and dropping a `Token`
/// overwrites them in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub(crate) token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expiration_date: Option<String>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) instance_url: Option<String>,
}

impl Token {
    /// The access token, for the `Authorization: OAuth {token}` header of later calls.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The refresh token, when the answer carried one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The expiry exactly as Concur wrote it (`6/1/2014 8:00:00 AM`), when the answer carried one.
    pub fn expiration_date(&self) -> Option<&str> {
        self.expiration_date.as_deref()
    }

    /// The expiry as Unix seconds (UTC), when the answer carried a date this library can read.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// The data-centre base URL for later calls, when the answer carried one.
    pub fn instance_url(&self) -> Option<&str> {
        self.instance_url.as_deref()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expiration_date", &self.expiration_date)
            .field("expires_at", &self.expires_at)
            .field("instance_url", &self.instance_url)
            .finish()
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.token.zeroize();
        self.refresh_token.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_both_tokens() {
        let t = Token {
            token: "secret-access".into(),
            refresh_token: Some("secret-refresh".into()),
            expiration_date: Some("6/1/2014 8:00:00 AM".into()),
            expires_at: Some(1_401_609_600),
            instance_url: None,
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("6/1/2014 8:00:00 AM"));
    }
}
