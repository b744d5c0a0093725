//! The vault's Redis store (being written).
