//! The vault's PostgreSQL store (being written).
