//! The `network!` procedural macro of `bn-core` (placeholder until the macro lands).
