//! Compiling endpoint steps into flat instruction lists. (Stub.)
