//! Shared code of the workspace examples and integration tests.
