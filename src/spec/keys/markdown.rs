//! Generating docs/format.md tables (filled in below).
