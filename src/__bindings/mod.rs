//! Code the Python and Node bindings share and that is no part of the library's API: it may
//! change in any release. Only the bindings use it; the C library compiles it out (nothing
//! here is exported or called from the core).

pub mod pool;
