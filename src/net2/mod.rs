//! Concur's legacy `net2` generation: the Native Flow, refresh, revocation and the Web flow,
//! whose answers are XML (or JSON) `Access_Token` documents.

pub(crate) mod answer;
pub(crate) mod date;
pub(crate) mod document;
pub(crate) mod native;
pub(crate) mod refresh;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod web_flow;
